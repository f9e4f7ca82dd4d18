// --db at start-up: a server that refuses the connection (no such role, no such database)
// is a mistake to fix, so matchd exits with a message naming --db and MATCHD_DB and exit
// status 4; a database that merely cannot be reached is waited for, with /readyz answering
// 503 `database unavailable` meanwhile (not `recovering`: nothing is being recovered yet).

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "child_process.h"
#include "daemon_process.h"
#include "http_client.h"
#include "loopback_port.h"
#include "pg_server.h"
#include "run_to_exit.h"
#include "wait.h"

namespace matchd::pgtest {
namespace {

using namespace std::chrono_literals;

constexpr int kExitDatabaseRejected = 4;

class startup_db : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pg_ = new pg_server();
    pg_->start();
  }
  static void TearDownTestSuite() {
    delete pg_;
    pg_ = nullptr;
  }

  static void expect_refused(const std::string& conninfo, const std::string& server_says) {
    const e2e::finished_run r = e2e::run_to_exit({"--db", conninfo, "--listen", "127.0.0.1:0"});
    EXPECT_TRUE(r.exit.exited) << r.describe();
    EXPECT_EQ(r.exit.code, kExitDatabaseRejected) << r.describe();
    for (const std::string& word : {std::string("--db"), std::string("MATCHD_DB"), server_says}) {
      EXPECT_NE(r.err.find(word), std::string::npos) << word << " missing from:\n" << r.err;
    }
  }

  static pg_server* pg_;
};

pg_server* startup_db::pg_ = nullptr;

TEST_F(startup_db, a_missing_role_fails_start_up) {
  expect_refused("host=127.0.0.1 port=" + std::to_string(pg_->port()) +
                     " user=no_such_role dbname=matchd connect_timeout=5",
                 "role \"no_such_role\" does not exist");
}

TEST_F(startup_db, a_missing_database_fails_start_up) {
  expect_refused("host=127.0.0.1 port=" + std::to_string(pg_->port()) +
                     " user=postgres dbname=no_such_database connect_timeout=5",
                 "database \"no_such_database\" does not exist");
}

TEST_F(startup_db, migrate_with_a_missing_role_fails_alike) {
  const e2e::finished_run r = e2e::run_to_exit(
      {"migrate", "--db",
       "host=127.0.0.1 port=" + std::to_string(pg_->port()) + " user=no_such_role dbname=matchd"});
  EXPECT_EQ(r.exit.code, kExitDatabaseRejected) << r.describe();
}

TEST(startup_db_down, an_unreachable_database_is_waited_for_and_readyz_says_so) {
  // Nothing listens on this port: every attempt is refused, as when PostgreSQL is down.
  const std::uint16_t db_port = test::pick_loopback_port();
  const std::uint16_t port = test::pick_loopback_port();
  const std::filesystem::path dir = test::make_temp_dir("matchd-db-down");
  const pid_t pid = test::spawn_child(
      {e2e::matchd_binary(), "--listen", "127.0.0.1:" + std::to_string(port), "--db",
       "host=127.0.0.1 port=" + std::to_string(db_port) + " user=postgres dbname=matchd"},
      test::logged_to(dir / "matchd.log"));

  // The listener comes first; /readyz answers once it accepts.
  e2e::http_client http(port, 2s);
  std::string reason;
  unsigned status = 0;
  const bool said_unavailable = test::wait_until(
      [&] {
        try {
          const e2e::http_response r = http.get("/readyz");
          status = r.status;
          reason = r.body;
          return reason.find("database unavailable") != std::string::npos;
        } catch (const std::exception&) {
          http.close();  // the listener may not accept yet
          return false;
        }
      },
      20s, 50ms);
  EXPECT_TRUE(said_unavailable) << reason;
  EXPECT_EQ(status, 503u) << reason;
  EXPECT_NE(reason.find("database unavailable"), std::string::npos) << reason;
  // Still retrying a while later, not exited.
  std::this_thread::sleep_for(1s);  // the claim is "still running after a while"
  EXPECT_FALSE(test::poll_child(pid).has_value()) << test::read_whole_file(dir / "matchd.log");
  EXPECT_EQ(http.get("/readyz").status, 503u);

  ::kill(pid, SIGTERM);
  const test::process_exit exit = test::wait_for_child(pid, 10s);
  EXPECT_FALSE(exit.timed_out) << exit.describe();
  const std::string log = test::read_whole_file(dir / "matchd.log");
  EXPECT_NE(log.find("database not reachable"), std::string::npos) << log;
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

}  // namespace
}  // namespace matchd::pgtest
