// `matchd keys create|list|revoke --db ...`: the real binary against a throwaway PostgreSQL.
// The secret appears once, on create's second line, and nowhere else: not in list, not in
// the logs, not in the database (only its SHA-256 is).

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <sstream>
#include <string>
#include <vector>

#include "pg_server.h"
#include "run_to_exit.h"

namespace matchd::pgtest {
namespace {

constexpr int kExitUsage = 2;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class keys_cli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pg_ = new pg_server();
    pg_->start();
  }
  static void TearDownTestSuite() {
    delete pg_;
    pg_ = nullptr;
  }

  static e2e::finished_run keys(std::vector<std::string> args) {
    args.insert(args.begin(), "keys");
    return e2e::run_to_exit(args);
  }
  static std::vector<nlohmann::json> list() {
    const e2e::finished_run r = keys({"list", "--db", pg_->connection_string()});
    EXPECT_TRUE(r.exit.exited && r.exit.code == 0) << r.describe();
    std::vector<nlohmann::json> keys;
    for (const std::string& line : lines_of(r.out)) keys.push_back(nlohmann::json::parse(line));
    return keys;
  }

  static pg_server* pg_;
};

pg_server* keys_cli::pg_ = nullptr;

TEST_F(keys_cli, creates_lists_and_revokes_keys_and_shows_a_secret_only_once) {
  const std::string db = pg_->connection_string();
  const e2e::finished_run created =
      keys({"create", "--db", db, "--role", "trader", "--client", "alice", "--client=bob",
            "--label", "desk 1", "--rate-limit", "200", "--rate-burst", "400"});
  ASSERT_TRUE(created.exit.exited && created.exit.code == 0) << created.describe();
  const auto out = lines_of(created.out);
  ASSERT_EQ(out.size(), 2u) << created.describe();
  const auto key = nlohmann::json::parse(out[0]);
  const std::string secret = out[1];
  ASSERT_EQ(secret.size(), 67u) << secret;
  EXPECT_EQ(secret.substr(0, 3), "mk_");
  EXPECT_EQ(key["role"], "trader");
  EXPECT_EQ(key["client_ids"], nlohmann::json::array({"alice", "bob"}));
  EXPECT_EQ(key["label"], "desk 1");
  EXPECT_EQ(key["rate_limit"], 200);
  EXPECT_EQ(key["rate_burst"], 400);
  EXPECT_TRUE(key["created_at"].is_string());
  EXPECT_TRUE(key["revoked_at"].is_null());
  const std::string key_id = key["key_id"];
  EXPECT_EQ(key_id.size(), 16u);
  EXPECT_FALSE(key.contains("secret"));
  EXPECT_EQ(out[0].find(secret.substr(3)), std::string::npos);
  EXPECT_EQ(created.err.find(secret.substr(3)), std::string::npos) << "the secret was logged";

  const e2e::finished_run admin = keys({"create", "--db", db, "--role", "admin"});
  ASSERT_TRUE(admin.exit.exited && admin.exit.code == 0) << admin.describe();
  const auto admin_key = nlohmann::json::parse(lines_of(admin.out).at(0));
  EXPECT_EQ(admin_key["client_ids"], nlohmann::json::array());
  EXPECT_TRUE(admin_key["rate_limit"].is_null());

  // The database holds the secret's SHA-256, and the secret nowhere.
  {
    pqxx::connection c(db);
    pqxx::nontransaction tx(c);
    const auto row = tx.exec_params1(
        "SELECT secret_sha256 = sha256($2::bytea), row_to_json(api_keys)::text"
        " FROM api_keys WHERE key_id = $1",
        key_id, secret);
    EXPECT_TRUE(row[0].as<bool>());
    EXPECT_EQ(std::string(row[1].c_str()).find(secret.substr(3)), std::string::npos);
  }

  const e2e::finished_run listed = keys({"list", "--db", db});
  ASSERT_TRUE(listed.exit.exited && listed.exit.code == 0) << listed.describe();
  EXPECT_EQ(listed.out.find(secret.substr(3)), std::string::npos) << listed.out;
  EXPECT_EQ(listed.err.find(secret.substr(3)), std::string::npos) << listed.err;
  EXPECT_EQ(listed.out.find("secret"), std::string::npos) << listed.out;
  auto all = list();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0], key);
  EXPECT_EQ(all[1], admin_key);

  const e2e::finished_run revoked = keys({"revoke", "--db", db, key_id});
  ASSERT_TRUE(revoked.exit.exited && revoked.exit.code == 0) << revoked.describe();
  const auto revoked_key = nlohmann::json::parse(lines_of(revoked.out).at(0));
  EXPECT_EQ(revoked_key["key_id"], key_id);
  EXPECT_TRUE(revoked_key["revoked_at"].is_string()) << revoked.out;

  all = list();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]["key_id"], key_id);
  EXPECT_EQ(all[0]["revoked_at"], revoked_key["revoked_at"]);
  EXPECT_TRUE(all[1]["revoked_at"].is_null());

  const e2e::finished_run unknown = keys({"revoke", "--db", db, "00000000000000aa"});
  EXPECT_TRUE(unknown.exit.exited) << unknown.describe();
  EXPECT_EQ(unknown.exit.code, kExitUsage) << unknown.describe();
  EXPECT_NE(unknown.err.find("00000000000000aa"), std::string::npos) << unknown.err;
  EXPECT_TRUE(unknown.out.empty()) << unknown.out;
}

TEST_F(keys_cli, bad_input_is_refused_with_status_2_and_writes_nothing) {
  const std::string db = pg_->connection_string();
  const std::size_t before = list().size();
  const std::vector<std::vector<std::string>> bad = {
      {"create", "--db", db, "--role", "root", "--client", "alice"},
      {"create", "--db", db, "--client", "alice"},
      {"create", "--db", db, "--role", "trader"},
      {"create", "--db", db, "--role", "viewer"},
      {"create", "--db", db, "--role", "admin", "--client", "alice"},
      {"create", "--db", db, "--role", "trader", "--client", "not a client id"},
      {"create", "--db", db, "--role", "trader", "--client", "alice", "--rate-limit", "-1"},
      {"create", "--db", db, "--role", "trader", "--client", "alice", "--rate-burst", "x"},
      {"create", "--db", db, "--role", "trader", "--role", "viewer", "--client", "alice"},
      {"create", "--db", db, "--role", "trader", "--client", "alice", "--colour", "red"},
      {"revoke", "--db", db, "not-a-key-id"},
      {"revoke", "--db", db},
      {"list", "--db", db, "extra"},
      {"rotate", "--db", db},
      {},
  };
  for (const auto& args : bad) {
    std::string shown;
    for (const auto& a : args) shown += a + " ";
    const e2e::finished_run r = keys(args);
    EXPECT_TRUE(r.exit.exited) << shown << r.describe();
    EXPECT_EQ(r.exit.code, kExitUsage) << shown << r.describe();
    EXPECT_TRUE(r.out.empty()) << shown << r.describe();
    EXPECT_NE(r.err.find("matchd: "), std::string::npos) << shown << r.describe();
  }
  EXPECT_EQ(list().size(), before);
}

}  // namespace
}  // namespace matchd::pgtest
