// No order is filled twice or beyond its quantity, whatever crashes happen in between
// (docs/design.md "Recovery"): a crossing-heavy flow from several clients, with cancels
// racing the fills, is killed with SIGKILL twice; then, over the whole committed history,
// every order's filled quantity is exactly the sum of its trades and never above its
// quantity, every trade's orders exist on the right sides, and the history replays.

#include <gtest/gtest.h>

#include <chrono>

#include "daemon_process.h"
#include "durability_checks.h"
#include "pg_server.h"

namespace matchd::pgtest {
namespace {

using namespace std::chrono_literals;

TEST(no_double_fill, crossing_flow_across_two_crashes_fills_every_order_at_most_once) {
  pg_server pg;
  pg.start();
  e2e::daemon_process daemon(durable_daemon_args(pg.connection_string()));

  std::vector<exchange_record> all;
  for (int round = 0; round < 2; ++round) {
    order_load load(daemon.port(), {.threads = 4,
                                    .id_prefix = "ndf" + std::to_string(round),
                                    .passive_spread_ticks = 8,
                                    .crossing_depth_ticks = 6,
                                    .crossing_percent = 45,
                                    .market_percent = 10,
                                    .cancel_percent = 20,
                                    .seed = 41u + static_cast<unsigned>(round)});
    kill_under_load(daemon, load, 200, 1500ms);
    std::cerr << "[no_double_fill] round " << round << ": " << load.summary() << "\n";
    EXPECT_GE(load.acknowledged(), 200u);
    all.insert(all.end(), load.records().begin(), load.records().end());
    daemon.restart();
    ASSERT_EQ(wait_for_readyz(daemon.port(), 200, 10s).status, 200u);
  }

  const db_state db = load_db_state(pg.connection_string());
  ASSERT_GT(db.trades.size(), 100u) << "the flow must have traded a lot";
  const std::vector<std::string> problems = fill_consistency_problems(db);
  EXPECT_TRUE(problems.empty()) << join_problems(problems);

  std::size_t partially = 0;
  for (const auto& [id, o] : db.orders) {
    if (o.filled_lots > 0 && o.filled_lots < o.quantity_lots) ++partially;
  }
  EXPECT_GT(partially, 0u) << "the flow should produce partial fills";

  e2e::http_client http(daemon.port(), 30s);
  expect_durable_and_consistent(http, pg.connection_string(), all, "after two crashes");
}

}  // namespace
}  // namespace matchd::pgtest
