// Durable acknowledgement across a crash (docs/api.md "Durability and readiness", docs/design.md
// "Recovery"): the daemon is killed with SIGKILL in the middle of continuous order
// flow and restarted on the same database. Everything it acknowledged must be there, the
// book must be the book of the committed orders, and trading must carry on.

#include <gtest/gtest.h>

#include <chrono>

#include "daemon_process.h"
#include "durability_checks.h"
#include "order_builders.h"
#include "pg_server.h"

namespace matchd::pgtest {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr auto kLoadDuration = 3s;

TEST(crash_recovery, kill9_under_load_loses_no_acknowledged_order_or_trade) {
  pg_server pg;
  pg.start();
  e2e::daemon_process daemon(durable_daemon_args(pg.connection_string()));

  order_load load(daemon.port(), {.threads = 4, .id_prefix = "crash", .seed = 11});
  kill_under_load(daemon, load, 300, kLoadDuration);
  std::cerr << "[crash_recovery] load before kill -9: " << load.summary() << "\n";
  ASSERT_GE(load.acknowledged(), 300u)
      << "too little load got through to test anything: " << load.summary();
  for (const exchange_record& r : load.records()) {
    ASSERT_TRUE(r.status == 0 || r.status == 200 || r.status == 201 || r.status == 409)
        << "unexpected answer under load: " << r.describe();
  }

  const auto restart_started = std::chrono::steady_clock::now();
  daemon.restart();
  std::cerr << "[crash_recovery] restart to ready file: "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - restart_started)
                   .count()
            << " ms\n";
  const e2e::http_response ready = wait_for_readyz(daemon.port(), 200, 10s);
  ASSERT_EQ(ready.status, 200u) << ready.describe();

  e2e::http_client http(daemon.port(), 30s);
  const db_state db =
      expect_durable_and_consistent(http, pg.connection_string(), load.records(), "after kill -9");

  // Finished orders are served after the restart too (all were checked above; make sure the
  // run had some of each kind).
  std::size_t filled = 0;
  std::size_t cancelled = 0;
  for (const auto& [id, row] : db.orders) {
    filled += row.status == "filled" ? 1 : 0;
    cancelled += row.status == "cancelled" ? 1 : 0;
  }
  EXPECT_GT(filled, 0u);
  EXPECT_GT(cancelled, 0u);

  // Ids of finished orders stay taken: reusing one is 409, not a new order.
  for (const auto& [id, row] : db.orders) {
    if (row.status != "filled") continue;
    const e2e::http_response again =
        http.post_json("/orders", e2e::limit_order(id, "client-0", "buy", "1.00", "0.001"));
    EXPECT_TRUE(e2e::is_error(again, 409, "duplicate_order_id")) << again.describe();
    break;
  }

  expect_new_orders_continue(http, pg.connection_string(), db, "crash");
}

// Recovery is repeatable: a second crash right after recovery, with nothing new in
// between, brings back the same book; and a crash during the next load still loses nothing.
TEST(crash_recovery, repeated_crashes_recover_the_same_committed_state) {
  pg_server pg;
  pg.start();
  e2e::daemon_process daemon(durable_daemon_args(pg.connection_string()));

  order_load first(daemon.port(), {.threads = 2, .id_prefix = "r1", .seed = 21});
  kill_under_load(daemon, first, 200, 1500ms);
  daemon.restart();
  ASSERT_EQ(wait_for_readyz(daemon.port(), 200, 10s).status, 200u);
  e2e::book_sides book_after_first;
  {
    e2e::http_client http(daemon.port());
    book_after_first = e2e::book_from_json(http.get(e2e::orderbook_path(1000)).json());
  }
  daemon.kill9();
  daemon.restart();
  ASSERT_EQ(wait_for_readyz(daemon.port(), 200, 10s).status, 200u);
  {
    e2e::http_client http(daemon.port());
    EXPECT_EQ(e2e::book_from_json(http.get(e2e::orderbook_path(1000)).json()), book_after_first)
        << "a crash with nothing new in between must recover the same book";
  }

  order_load second(daemon.port(), {.threads = 2, .id_prefix = "r2", .seed = 22});
  kill_under_load(daemon, second, 200, 1500ms);
  daemon.restart();
  ASSERT_EQ(wait_for_readyz(daemon.port(), 200, 10s).status, 200u);

  std::vector<exchange_record> all = first.records();
  all.insert(all.end(), second.records().begin(), second.records().end());
  e2e::http_client http(daemon.port(), 30s);
  const db_state db =
      expect_durable_and_consistent(http, pg.connection_string(), all, "after three crashes");
  expect_new_orders_continue(http, pg.connection_string(), db, "again");
}

}  // namespace
}  // namespace matchd::pgtest
