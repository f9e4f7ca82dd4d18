// One writer per database (docs/design.md "One writer per database"): the daemon's writer
// session holds a PostgreSQL advisory lock for as long as it lives. A second daemon on the
// same database refuses to start (exit status 5, one line naming the database) and the first
// goes on serving; a daemon that finds the lock taken when it reconnects stops acknowledging
// and exits with status 5, and nothing it acknowledged is lost.

#include <gtest/gtest.h>

#include <chrono>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "daemon_process.h"
#include "durability_checks.h"
#include "order_builders.h"
#include "pg_server.h"
#include "run_to_exit.h"
#include "wait.h"

namespace matchd::pgtest {
namespace {

using namespace std::chrono_literals;

constexpr int kExitDatabaseInUse = 5;
// The documented writer lock key ("matchd" + 2), and its row of pg_locks.
constexpr const char* kWriterLockKey = "7881708793177047042";
constexpr const char* kWriterLockRow =
    "locktype = 'advisory' AND granted AND objsubid = 1 AND classid = '1835103331'::oid"
    " AND objid = '1751384066'::oid"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())";

e2e::http_response place(std::uint16_t port, const std::string& id, const std::string& side) {
  e2e::http_client http(port, 10s);
  return http.post_json("/orders", e2e::limit_order(id, "client-" + id, side,
                                                    side == "buy" ? "99.00" : "101.00", "0.001"));
}

TEST(single_writer, a_second_daemon_on_the_same_database_refuses_to_start) {
  pg_server pg;
  pg.start();
  e2e::daemon_process first(durable_daemon_args(pg.connection_string()));
  ASSERT_EQ(wait_for_readyz(first.port(), 200, 10s).status, 200u);
  for (int i = 1; i <= 3; ++i) {
    const e2e::http_response r = place(first.port(), "P1-" + std::to_string(i), "buy");
    ASSERT_EQ(r.status, 201u) << r.describe();
  }

  // The reproduction: a second daemon on the same, fresh database.
  const e2e::finished_run second = e2e::run_to_exit(
      durable_daemon_args(pg.connection_string(), {"--listen", "127.0.0.1:0"}), 30s);
  EXPECT_FALSE(second.exit.timed_out) << "the second daemon ran on: " << second.describe();
  EXPECT_TRUE(second.exit.exited) << second.describe();
  EXPECT_EQ(second.exit.code, kExitDatabaseInUse) << second.describe();
  for (const std::string word : {"another matchd holds the database", "--db", "database \"matchd\"",
                                 "stop that one first"}) {
    EXPECT_NE(second.err.find(word), std::string::npos) << word << " missing from:\n"
                                                        << second.describe();
  }
  std::cerr << "[single_writer] the second daemon said: " << second.err;
  EXPECT_EQ(second.err.find("recovered"), std::string::npos)
      << "refused only after recovering: " << second.describe();

  // The first goes on serving, and everything it acknowledged survives its restart.
  ASSERT_EQ(wait_for_readyz(first.port(), 200, 5s).status, 200u);
  for (int i = 4; i <= 6; ++i) {
    const e2e::http_response r = place(first.port(), "P1-" + std::to_string(i), "sell");
    ASSERT_EQ(r.status, 201u) << r.describe();
  }
  first.restart();
  ASSERT_EQ(wait_for_readyz(first.port(), 200, 10s).status, 200u);
  e2e::http_client http(first.port(), 10s);
  for (int i = 1; i <= 6; ++i) {
    const e2e::http_response r = http.get("/orders/P1-" + std::to_string(i));
    EXPECT_EQ(r.status, 200u) << r.describe();
  }
}

TEST(single_writer, a_daemon_that_finds_its_lock_taken_on_reconnect_stops_acknowledging) {
  pg_server pg;
  pg.start();
  e2e::daemon_process daemon(durable_daemon_args(pg.connection_string()));
  ASSERT_EQ(wait_for_readyz(daemon.port(), 200, 10s).status, 200u);
  order_load load(daemon.port(), {.threads = 2,
                                  .id_prefix = "fenced",
                                  .request_timeout = 10s,
                                  .pause_after_transport_error = 20ms,
                                  .seed = 41});
  load.start();
  ASSERT_TRUE(test::wait_until([&] { return load.acknowledged() >= 200; }, 15s, 20ms))
      << "no load before the lock was taken: " << load.summary();

  // End the writer's session and take the lock before the daemon can reconnect: the
  // blocking pg_advisory_lock queues behind the ending session and gets the lock the moment
  // it is released, ahead of the daemon's pg_try_advisory_lock.
  pqxx::connection thief(pg.connection_string());
  pqxx::nontransaction q(thief);
  const pqxx::result ended =
      q.exec(std::string("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE ") + kWriterLockRow);
  ASSERT_EQ(ended.size(), 1u) << "the daemon's writer session does not hold the writer lock";
  q.exec(std::string("SELECT pg_advisory_lock(") + kWriterLockKey + ")");
  const auto taken_at = std::chrono::steady_clock::now();

  const test::process_exit exit = daemon.wait_for_exit(20s);
  load.stop();
  EXPECT_FALSE(exit.timed_out) << "the daemon went on without its lock:\n" << daemon.logs();
  EXPECT_TRUE(exit.exited) << exit.describe();
  EXPECT_EQ(exit.code, kExitDatabaseInUse) << exit.describe() << "\n" << daemon.logs();
  EXPECT_NE(daemon.stderr_text().find("writer lock lost"), std::string::npos) << daemon.logs();
  std::cerr << "[single_writer] load: " << load.summary() << "\n";

  // Nothing was acknowledged once the lock was ours (an answer already on its way when the
  // lock was taken may arrive a moment later: its commit was made under the daemon's lock).
  for (const exchange_record& r : load.records()) {
    if (r.acknowledged()) {
      EXPECT_LT(r.answered, taken_at + 1s) << "acknowledged without the lock: " << r.describe();
    }
  }

  // Released, the lock goes to the next daemon, which finds everything acknowledged.
  q.exec(std::string("SELECT pg_advisory_unlock(") + kWriterLockKey + ")");
  daemon.restart();
  ASSERT_EQ(wait_for_readyz(daemon.port(), 200, 10s).status, 200u);
  e2e::http_client http(daemon.port(), 30s);
  const db_state db = expect_durable_and_consistent(http, pg.connection_string(), load.records(),
                                                    "after the lock was lost");
  expect_new_orders_continue(http, pg.connection_string(), db, "fenced-after");
}

}  // namespace
}  // namespace matchd::pgtest
