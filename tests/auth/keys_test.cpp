#include <gtest/gtest.h>
#include <matchd/auth/keys.h>

#include <set>
#include <string>

namespace matchd::auth {
namespace {

std::string hex(const secret_digest& d) {
  constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (const auto b : d) {
    s.push_back(kDigits[b >> 4]);
    s.push_back(kDigits[b & 0xf]);
  }
  return s;
}

TEST(Digest, IsSha256OfTheSecret) {
  // FIPS 180-2's test vectors.
  EXPECT_EQ(hex(digest_of("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex(digest_of("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Secret, IsMkAnd64LowercaseHexDigits) {
  const std::string s = generate_secret();
  ASSERT_EQ(s.size(), 67u);
  EXPECT_EQ(s.substr(0, 3), "mk_");
  for (const char c : s.substr(3)) {
    EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << s;
  }
  EXPECT_TRUE(bootstrap_secret_problem(s).empty());
}

TEST(Secret, AThousandAreDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(generate_secret());
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(KeyId, FormatsAs16HexDigitsAndParsesBack) {
  for (int i = 0; i < 100; ++i) {
    const key_id id = generate_key_id();
    ASSERT_NE(id, 0u);
    const std::string s = format_key_id(id);
    ASSERT_EQ(s.size(), 16u);
    EXPECT_EQ(s.find_first_not_of("0123456789abcdef"), std::string::npos) << s;
    EXPECT_EQ(parse_key_id(s), id);
  }
  EXPECT_EQ(format_key_id(0x00ab'0000'0000'0001ULL), "00ab000000000001");
  EXPECT_EQ(parse_key_id("00AB000000000001"), 0x00ab'0000'0000'0001ULL);
}

TEST(KeyId, RejectsWhatIsNot16HexDigitsOrIsZero) {
  EXPECT_FALSE(parse_key_id(""));
  EXPECT_FALSE(parse_key_id("0123456789abcde"));
  EXPECT_FALSE(parse_key_id("0123456789abcdef0"));
  EXPECT_FALSE(parse_key_id("0123456789abcdeg"));
  EXPECT_FALSE(parse_key_id("-123456789abcdef"));
  EXPECT_FALSE(parse_key_id(" 123456789abcdef"));
  EXPECT_FALSE(parse_key_id("0000000000000000"));
}

TEST(Role, NamesRoundTripAndOthersAreRefused) {
  for (const role r : {role::viewer, role::trader, role::admin}) {
    EXPECT_EQ(parse_role(to_string(r)), r);
  }
  EXPECT_EQ(to_string(role::admin), "admin");
  EXPECT_FALSE(parse_role(""));
  EXPECT_FALSE(parse_role("Admin"));
  EXPECT_FALSE(parse_role("root"));
  EXPECT_EQ(to_string(access::account_read), "account_read");
}

TEST(Allows, EveryRoleAgainstEveryAccess) {
  struct row {
    role r;
    bool operational, public_read, account_read, trade, admin;
  };
  const row rows[] = {
      {role::admin, true, true, true, true, true},
      {role::trader, true, true, true, true, false},
      {role::viewer, true, true, true, false, false},
  };
  for (const row& x : rows) {
    SCOPED_TRACE(std::string(to_string(x.r)));
    EXPECT_EQ(allows(x.r, access::operational), x.operational);
    EXPECT_EQ(allows(x.r, access::public_read), x.public_read);
    EXPECT_EQ(allows(x.r, access::account_read), x.account_read);
    EXPECT_EQ(allows(x.r, access::trade), x.trade);
    EXPECT_EQ(allows(x.r, access::admin), x.admin);
  }
}

TEST(BootstrapSecret, MustBeLongEnoughAndPrintable) {
  EXPECT_FALSE(bootstrap_secret_problem(std::string(kMinBootstrapSecret - 1, 'a')).empty());
  EXPECT_TRUE(bootstrap_secret_problem(std::string(kMinBootstrapSecret, 'a')).empty());
  EXPECT_FALSE(bootstrap_secret_problem(std::string(kMinBootstrapSecret, 'a') + " b").empty());
  EXPECT_FALSE(bootstrap_secret_problem(std::string(kMinBootstrapSecret, 'a') + "\n").empty());
}

TEST(Principal, AdminHasNoScopeOthersTheirClients) {
  key_record admin;
  admin.id = 1;
  admin.key_role = role::admin;
  principal a(admin, 0, 0);
  EXPECT_EQ(a.scope(), nullptr);
  EXPECT_TRUE(a.may_act_for(engine::client_id::from("anyone")));

  key_record trader;
  trader.id = 2;
  trader.key_role = role::trader;
  trader.client_ids = {engine::client_id::from("b"), engine::client_id::from("a")};
  principal t(trader, 0, 0);
  ASSERT_NE(t.scope(), nullptr);
  EXPECT_TRUE(t.may_act_for(engine::client_id::from("a")));
  EXPECT_TRUE(t.may_act_for(engine::client_id::from("b")));
  EXPECT_FALSE(t.may_act_for(engine::client_id::from("c")));
  EXPECT_FALSE(t.revoked());
  t.mark_revoked();
  EXPECT_TRUE(t.revoked());
}

TEST(Principal, KeysOwnRateOverridesTheServersDefault) {
  key_record r;
  r.id = 3;
  r.key_role = role::trader;
  r.client_ids = {engine::client_id::from("a")};
  principal unlimited(r, 0, 0);
  EXPECT_FALSE(unlimited.bucket().enabled());
  r.rate_limit = 1;
  r.rate_burst = 2;
  principal limited(r, 0, 0);
  ASSERT_TRUE(limited.bucket().enabled());
  EXPECT_EQ(limited.bucket().admit(0), 0);
  EXPECT_EQ(limited.bucket().admit(0), 0);
  EXPECT_GE(limited.bucket().admit(0), 1);
}

}  // namespace
}  // namespace matchd::auth
