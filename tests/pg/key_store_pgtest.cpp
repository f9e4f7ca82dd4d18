// The API keys' PostgreSQL store (store/pg_key_store.h) against a real PostgreSQL, alone and
// under a key registry.

#include <gtest/gtest.h>
#include <matchd/auth/key_registry.h>
#include <matchd/store/migrations.h>
#include <matchd/store/pg_key_store.h>
#include <matchd/store/session_settings.h>

#include <mutex>
#include <string>
#include <vector>

#include "pg_server.h"
#include "wait.h"

namespace matchd::pgtest {
namespace {

using namespace std::chrono_literals;

std::string conninfo(const pg_server& pg) {
  return store::with_session_settings(pg.connection_string(), 5s);
}

auth::key_record trader_key(auth::key_id id, const std::string& secret) {
  auth::key_record r;
  r.id = id;
  r.key_role = auth::role::trader;
  r.client_ids = {engine::client_id::from("desk-1"), engine::client_id::from("desk.2")};
  r.label = "a \"quoted\" label, with a backslash \\ and a comma";
  r.rate_limit = 50;
  r.rate_burst = 100;
  r.created_at = 1'765'000'000'123'456;
  r.digest = auth::digest_of(secret);
  return r;
}

TEST(pg_key_store, inserts_loads_and_revokes_a_key_as_it_was_given) {
  pg_server pg;
  pg.start();
  store::apply_migrations(conninfo(pg));
  store::pg_key_store keys(conninfo(pg));
  EXPECT_TRUE(keys.durable());
  EXPECT_TRUE(keys.load_all().empty());

  const std::string secret = auth::generate_secret();
  const auth::key_record trader = trader_key(0x0123'4567'89ab'cdefULL, secret);
  keys.insert(trader);
  auth::key_record admin;
  admin.id = 0xfedc'ba98'7654'3210ULL;
  admin.key_role = auth::role::admin;
  admin.created_at = trader.created_at + 1;
  admin.digest = auth::digest_of(auth::generate_secret());
  keys.insert(admin);

  const auto all = keys.load_all();
  ASSERT_EQ(all.size(), 2u);
  const auth::key_record& t = all[0];
  EXPECT_EQ(t.id, trader.id);
  EXPECT_EQ(t.key_role, auth::role::trader);
  EXPECT_EQ(t.client_ids, trader.client_ids);
  EXPECT_EQ(t.label, trader.label);
  EXPECT_EQ(t.rate_limit, 50u);
  EXPECT_EQ(t.rate_burst, 100u);
  EXPECT_EQ(t.created_at, trader.created_at);
  EXPECT_EQ(t.revoked_at, 0);
  EXPECT_EQ(t.digest, auth::digest_of(secret));
  EXPECT_FALSE(t.bootstrap);
  const auth::key_record& a = all[1];
  EXPECT_EQ(a.id, admin.id);
  EXPECT_EQ(a.key_role, auth::role::admin);
  EXPECT_TRUE(a.client_ids.empty());
  EXPECT_EQ(a.label, "");
  EXPECT_FALSE(a.rate_limit);
  EXPECT_FALSE(a.rate_burst);

  // The same id, or the same secret, again: refused, nothing written.
  EXPECT_THROW(keys.insert(trader), std::runtime_error);
  auth::key_record same_secret = trader;
  same_secret.id = 0x42;
  EXPECT_THROW(keys.insert(same_secret), std::runtime_error);
  EXPECT_EQ(keys.load_all().size(), 2u);

  const auto revoked = keys.revoke(trader.id, trader.created_at + 5'000'000);
  ASSERT_TRUE(revoked);
  EXPECT_EQ(revoked->revoked_at, trader.created_at + 5'000'000);
  EXPECT_EQ(revoked->label, trader.label);
  // Revoked once: a second revoke leaves the first time.
  EXPECT_EQ(keys.revoke(trader.id, trader.created_at + 9'000'000)->revoked_at,
            trader.created_at + 5'000'000);
  EXPECT_FALSE(keys.revoke(0x99, trader.created_at));
  EXPECT_EQ(keys.load_all()[0].revoked_at, trader.created_at + 5'000'000);
  EXPECT_EQ(keys.load_all()[1].revoked_at, 0);
}

TEST(pg_key_store, a_call_fails_while_the_database_is_down_and_the_next_one_reconnects) {
  pg_server pg;
  pg.start();
  store::apply_migrations(conninfo(pg));
  store::pg_key_store keys(conninfo(pg));
  keys.insert(trader_key(0x1, auth::generate_secret()));
  ASSERT_EQ(keys.load_all().size(), 1u);

  pg.stop();
  try {
    keys.load_all();
    ADD_FAILURE() << "load_all() succeeded with the database down";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("loading the keys"), std::string::npos) << e.what();
  }
  pg.start_again();
  EXPECT_EQ(keys.load_all().size(), 1u);
}

TEST(pg_key_store, a_registry_sees_a_key_revoked_by_another_process_within_its_poll) {
  pg_server pg;
  pg.start();
  store::apply_migrations(conninfo(pg));
  store::pg_key_store outside(conninfo(pg));
  const std::string secret = auth::generate_secret();
  const auth::key_record key = trader_key(0x77, secret);
  outside.insert(key);

  std::mutex mutex;
  std::vector<auth::key_id> revoked;
  auth::registry_options o;
  o.poll_interval = 100ms;
  auth::key_registry reg(o, std::make_unique<store::pg_key_store>(conninfo(pg)));
  reg.add_listener([&](std::shared_ptr<const auth::key_table>, const std::vector<auth::key_id>& r) {
    const std::lock_guard lock(mutex);
    revoked.insert(revoked.end(), r.begin(), r.end());
  });
  reg.start();
  const auto held = reg.table()->find(secret);
  ASSERT_NE(held, nullptr);

  ASSERT_TRUE(outside.revoke(key.id, key.created_at + 1));
  ASSERT_TRUE(test::wait_until([&] { return held->revoked(); }, 10s))
      << "the key revoked in the database was never noticed";
  EXPECT_EQ(reg.table()->find(secret), nullptr);
  // The registry marks the key revoked before it tells its listeners: wait for them too.
  ASSERT_TRUE(test::wait_until(
      [&] {
        const std::lock_guard lock(mutex);
        return !revoked.empty();
      },
      10s))
      << "the listeners were never told";
  const std::lock_guard lock(mutex);
  EXPECT_EQ(revoked, std::vector<auth::key_id>{key.id});
}

}  // namespace
}  // namespace matchd::pgtest
