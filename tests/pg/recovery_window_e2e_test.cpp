// While the books are rebuilt from the database the daemon already listens, and answers as
// docs/api.md (GET /readyz) says: /readyz 503 with reason `recovering`, every order route 503
// `not_ready` with Retry-After and nothing accepted, /healthz 200; then /readyz turns 200.
// A few hundred thousand seeded resting orders make the recovery long enough to watch.

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <pqxx/pqxx>
#include <string>
#include <thread>

#include "child_process.h"
#include "daemon_process.h"
#include "durability_checks.h"
#include "http_client.h"
#include "loopback_port.h"
#include "order_builders.h"
#include "pg_server.h"
#include "wait.h"

namespace matchd::pgtest {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

constexpr int kSeededOrders = 400'000;

// Resting limit orders on both sides of 700.00, never crossed, as the store writes them.
void seed_resting_orders(const std::string& conninfo) {
  pqxx::connection c(conninfo);
  pqxx::work tx(c);
  const std::string n = std::to_string(kSeededOrders);
  tx.exec0(
      "INSERT INTO orders (order_id, client_id, instrument, side, type, time_in_force, status,"
      " price_ticks, quantity_lots, filled_lots, notional, created_at_us, updated_at_us,"
      " created_sequence, sequence)"
      " SELECT 'seed-' || g, 'client-seed', 'BTC-USD',"
      "  CASE WHEN g % 2 = 0 THEN 'buy' ELSE 'sell' END, 'limit', 'gtc', 'open',"
      "  CASE WHEN g % 2 = 0 THEN 69999 - g % 500 ELSE 70001 + g % 500 END,"
      "  100000, 0, 0, 1763000000000000 + g, 1763000000000000 + g, g * 8, g * 8"
      " FROM generate_series(1, " +
      n + ") AS g");
  tx.exec0("UPDATE engine_progress SET last_sequence = " + n + " * 8 + 8 WHERE id = 1");
  tx.commit();
}

TEST(recovery_window, the_daemon_listens_while_recovering_and_accepts_nothing) {
  pg_server pg;
  pg.start();
  const std::string conninfo = pg.connection_string();
  const test::process_exit migrated =
      test::wait_for_child(test::spawn_child({e2e::matchd_binary(), "migrate", "--db", conninfo},
                                             test::logged_to("/dev/null")),
                           60s);
  ASSERT_TRUE(migrated.clean()) << "matchd migrate: " << migrated.describe();
  seed_resting_orders(conninfo);

  const std::filesystem::path dir = test::make_temp_dir("matchd-recovery-window");
  const std::uint16_t port = test::pick_loopback_port();
  std::vector<std::string> argv{e2e::matchd_binary()};
  for (const std::string& a : durable_daemon_args(conninfo)) argv.push_back(a);
  argv.insert(argv.end(), {"--listen", "127.0.0.1:" + std::to_string(port), "--expected-orders",
                           std::to_string(kSeededOrders * 2)});
  const pid_t pid = test::spawn_child(argv, test::logged_to(dir / "matchd.log"));

  bool saw_recovering = false;
  bool saw_ready = false;
  int refused_orders = 0;
  const auto deadline = steady::now() + 60s;
  // It listens while it recovers; requests start once it does.
  bool exited = false;
  (void)test::wait_until(
      [&] {
        exited = test::poll_child(pid).has_value();
        return exited || test::accepts_connections(port);
      },
      60s, 1ms);
  while (!exited && !saw_ready && steady::now() < deadline) {
    if (test::poll_child(pid)) break;
    try {
      e2e::http_client http(port, 2s);
      const e2e::http_response ready = http.get("/readyz");
      if (ready.status == 200u) {
        saw_ready = true;
        break;
      }
      ASSERT_EQ(ready.status, 503u) << ready.describe();
      EXPECT_NE(ready.body.find("recovering"), std::string::npos) << ready.body;
      saw_recovering = true;
      EXPECT_EQ(http.get("/healthz").status, 200u);
      const e2e::http_response placed = http.post_json(
          "/orders", e2e::limit_order("during-recovery-" + std::to_string(refused_orders),
                                      "client-R", "buy", "1.00", "1"));
      if (placed.status == 201u) continue;  // recovery ended in between
      EXPECT_TRUE(e2e::is_error(placed, 503, "not_ready")) << placed.describe();
      EXPECT_FALSE(placed.header("Retry-After").empty()) << placed.describe();
      ++refused_orders;
    } catch (const e2e::transport_error&) {
      // Listening, so retried at once (a request timed out, or a connection was reset).
    }
  }
  std::cerr << "[recovery_window] " << refused_orders << " orders refused while recovering\n";
  EXPECT_TRUE(saw_recovering) << "recovery of " << kSeededOrders
                              << " orders ended before a request got in";
  EXPECT_TRUE(saw_ready) << test::read_whole_file(dir / "matchd.log");
  EXPECT_GT(refused_orders, 0);

  if (saw_ready) {
    e2e::http_client http(port, 5s);
    for (int i = 0; i < refused_orders; ++i) {
      EXPECT_TRUE(e2e::is_error(http.get("/orders/during-recovery-" + std::to_string(i)), 404,
                                "order_not_found"))
          << "an order refused while recovering exists";
    }
    EXPECT_EQ(http.get("/orders/seed-1").status, 200u) << "the seeded book was not recovered";
  }
  ::kill(pid, SIGTERM);
  const test::process_exit stopped = test::wait_for_child(pid, 10s);
  EXPECT_TRUE(stopped.clean()) << stopped.describe() << "\n"
                               << test::read_whole_file(dir / "matchd.log");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace matchd::pgtest
