// Five crashes in a row under load (docs/design.md "Recovery"): each cycle sends orders from
// several clients, kills the daemon with SIGKILL mid-flow and restarts it on the same
// database. After the last restart every acknowledgement of every cycle must be in the
// database exactly once, the served orders and the book must match the committed history,
// and trading must carry on. MATCHD_KILL9_CYCLES and MATCHD_KILL9_LOAD_MS lengthen the run
// for a soak outside CI.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "daemon_process.h"
#include "durability_checks.h"
#include "order_load.h"
#include "pg_server.h"

namespace matchd::pgtest {
namespace {

using namespace std::chrono_literals;

int env_or(const char* name, int fallback) {
  const char* text = std::getenv(name);
  return text != nullptr && *text != '\0' ? std::atoi(text) : fallback;
}

TEST(kill9_cycles, five_crashes_under_load_lose_and_duplicate_nothing) {
  const int cycles = env_or("MATCHD_KILL9_CYCLES", 5);
  const auto load_time = std::chrono::milliseconds(env_or("MATCHD_KILL9_LOAD_MS", 1500));
  pg_server pg;
  pg.start();
  e2e::daemon_process daemon(durable_daemon_args(pg.connection_string()));
  ASSERT_EQ(wait_for_readyz(daemon.port(), 200, 10s).status, 200u);

  std::vector<exchange_record> all;
  for (int cycle = 1; cycle <= cycles; ++cycle) {
    order_load load(daemon.port(), {.threads = 3,
                                    .id_prefix = "k" + std::to_string(cycle),
                                    .seed = static_cast<unsigned>(40 + cycle)});
    kill_under_load(daemon, load, 200, load_time);
    std::cerr << "[kill9_cycles] cycle " << cycle << " before kill -9: " << load.summary() << "\n";
    ASSERT_GE(load.acknowledged(), 200u) << "cycle " << cycle << ": too little load";
    all.insert(all.end(), load.records().begin(), load.records().end());
    daemon.restart();
    ASSERT_EQ(wait_for_readyz(daemon.port(), 200, 15s).status, 200u)
        << "not ready after crash " << cycle;
  }

  e2e::http_client http(daemon.port(), 30s);
  const db_state db = expect_durable_and_consistent(http, pg.connection_string(), all,
                                                    "after " + std::to_string(cycles) + " crashes");
  ack_check_counts counts;
  const std::vector<std::string> problems = acknowledged_effects_problems(db, all, &counts);
  std::cerr << "[kill9_cycles] " << cycles << " kill -9 cycles: " << counts.orders
            << " acknowledged orders, " << counts.trades << " acknowledged trades, "
            << counts.cancels << " acknowledged cancels, " << counts.refused
            << " refused checked absent; " << problems.size()
            << " lost or duplicated (every acknowledged effect present exactly once)\n";
  EXPECT_TRUE(problems.empty());
  expect_new_orders_continue(http, pg.connection_string(), db, "after-cycles");
}

}  // namespace
}  // namespace matchd::pgtest
