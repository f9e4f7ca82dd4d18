// The JSON of the admin key routes: what POST /admin/keys accepts, and how a key is shown
// (never its secret's digest; the secret only in the answer that creates it).

#include <gtest/gtest.h>
#include <matchd/codec/key_json.h>

#include <nlohmann/json.hpp>
#include <string>

namespace matchd::codec {
namespace {

std::string code_of(std::string_view body) {
  auth::key_request out;
  const auto e = parse_key_request(body, out);
  return e ? std::string(e->code) : "";
}

TEST(KeyJson, AFullRequest) {
  auth::key_request out;
  ASSERT_FALSE(parse_key_request(
      R"({"role":"trader","client_ids":["alice","bob"],"label":"desk 1","rate_limit":200,"rate_burst":400})",
      out));
  EXPECT_EQ(out.key_role, auth::role::trader);
  ASSERT_EQ(out.client_ids.size(), 2u);
  EXPECT_EQ(out.client_ids[1].view(), "bob");
  EXPECT_EQ(out.label, "desk 1");
  EXPECT_EQ(out.rate_limit, 200u);
  EXPECT_EQ(out.rate_burst, 400u);
}

TEST(KeyJson, RatesAreOptionalAndNullable) {
  auth::key_request out;
  ASSERT_FALSE(parse_key_request(R"({"role":"viewer","client_ids":["a"],"rate_limit":null})", out));
  EXPECT_FALSE(out.rate_limit);
  EXPECT_FALSE(out.rate_burst);
  ASSERT_FALSE(parse_key_request(R"({"role":"admin"})", out));
  EXPECT_EQ(out.key_role, auth::role::admin);
  EXPECT_TRUE(out.client_ids.empty());
}

TEST(KeyJson, StableCodesForBadBodies) {
  EXPECT_EQ(code_of("not json"), "malformed_json");
  EXPECT_EQ(code_of("[]"), "malformed_json");
  EXPECT_EQ(code_of(R"({"client_ids":["a"]})"), "missing_field");
  EXPECT_EQ(code_of(R"({"role":1})"), "invalid_field_type");
  EXPECT_EQ(code_of(R"({"role":"king","client_ids":["a"]})"), "invalid_role");
  EXPECT_EQ(code_of(R"({"role":"trader"})"), "missing_field");
  EXPECT_EQ(code_of(R"({"role":"trader","client_ids":[]})"), "missing_field");
  EXPECT_EQ(code_of(R"({"role":"trader","client_ids":"a"})"), "invalid_field_type");
  EXPECT_EQ(code_of(R"({"role":"trader","client_ids":[1]})"), "invalid_field_type");
  EXPECT_EQ(code_of(R"({"role":"trader","client_ids":["a b"]})"), "invalid_client_id");
  EXPECT_EQ(code_of(R"({"role":"admin","client_ids":["a"]})"), "invalid_parameter");
  EXPECT_EQ(code_of(R"({"role":"trader","client_ids":["a"],"label":5})"), "invalid_field_type");
  EXPECT_EQ(
      code_of(R"({"role":"trader","client_ids":["a"],"label":")" + std::string(129, 'x') + R"("})"),
      "invalid_parameter");
  EXPECT_EQ(code_of(R"({"role":"trader","client_ids":["a"],"rate_limit":-1})"),
            "invalid_parameter");
  EXPECT_EQ(code_of(R"({"role":"trader","client_ids":["a"],"rate_limit":1.5})"),
            "invalid_field_type");
  EXPECT_EQ(code_of(R"({"role":"trader","client_ids":["a"],"rate_burst":99999999999})"),
            "invalid_parameter");
}

TEST(KeyJson, AKeyIsShownWithoutItsDigestAndTheSecretOnlyOnCreation) {
  auth::key_record r;
  r.id = 0x3f2a00000000000bULL;
  r.key_role = auth::role::viewer;
  r.client_ids = {engine::client_id::from("alice")};
  r.label = "ops \"desk\"";
  r.rate_limit = 5;
  r.created_at = 1'000'000;
  r.digest.fill(0xab);
  const auto shown = nlohmann::json::parse(key_body(r));
  EXPECT_EQ(shown["key"]["key_id"], "3f2a00000000000b");
  EXPECT_EQ(shown["key"]["role"], "viewer");
  EXPECT_EQ(shown["key"]["client_ids"], nlohmann::json({"alice"}));
  EXPECT_EQ(shown["key"]["label"], "ops \"desk\"");
  EXPECT_EQ(shown["key"]["rate_limit"], 5);
  EXPECT_TRUE(shown["key"]["rate_burst"].is_null());
  EXPECT_TRUE(shown["key"]["revoked_at"].is_null());
  EXPECT_EQ(key_body(r).find("abab"), std::string::npos);
  EXPECT_FALSE(shown.contains("secret"));

  const auto created = nlohmann::json::parse(created_key_body({r, "mk_s3cret"}));
  EXPECT_EQ(created["secret"], "mk_s3cret");
  EXPECT_EQ(created["key"], shown["key"]);

  auth::key_record bootstrap = r;
  bootstrap.bootstrap = true;
  const auto listed = nlohmann::json::parse(key_list_body({r, bootstrap}));
  EXPECT_EQ(listed["keys"].size(), 1u) << "the bootstrap key is never listed";
}

}  // namespace
}  // namespace matchd::codec
