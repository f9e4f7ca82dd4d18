// PostgreSQL goes away under load (docs/design.md "Database outage"): the
// writer keeps its batches and retries, /readyz turns 503, orders queue until the in-flight
// budget is full and then get 503 overloaded; when the database is back every waiting
// request is answered 2xx, /readyz returns to 200, and nothing acknowledged is lost or
// written twice. And a GET of an order past the retention horizon, which the history reader
// reads from the tables, is 503 not_ready while the database is away and 200 once it is back.

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "daemon_process.h"
#include "durability_checks.h"
#include "order_builders.h"
#include "pg_server.h"
#include "wait.h"

namespace matchd::pgtest {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

constexpr int kQueueCapacity = 256;
// More concurrent senders than the in-flight budget, so some must be refused.
constexpr int kBurstSenders = kQueueCapacity + 64;
constexpr auto kPatientTimeout = 60s;

std::int64_t ms_since(steady::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - start).count();
}

// How PostgreSQL goes away: a fast shutdown (connections are told and closed), or an
// immediate one (SIGQUIT: as if it crashed; a COMMIT in flight may or may not have landed,
// and the writer must find out which rather than write the batch twice or drop it).
struct outage_kind {
  const char* name;
  bool immediate;
  std::chrono::seconds duration;
};

void PrintTo(const outage_kind& kind, std::ostream* os) {
  *os << kind.name;
}

std::string name_of(const ::testing::TestParamInfo<outage_kind>& param) {
  return param.param.name;
}

class db_outage : public ::testing::TestWithParam<outage_kind> {};

TEST_P(db_outage, orders_wait_for_the_database_and_nothing_acknowledged_is_lost) {
  const std::chrono::seconds outage = GetParam().duration;
  pg_server pg;
  pg.start();
  e2e::daemon_process daemon(durable_daemon_args(
      pg.connection_string(), {"--queue-capacity", std::to_string(kQueueCapacity)}));
  ASSERT_EQ(wait_for_readyz(daemon.port(), 200, 10s).status, 200u);

  order_load load(
      daemon.port(),
      {.threads = 3, .id_prefix = "outage", .request_timeout = kPatientTimeout, .seed = 31});
  load.start();
  (void)test::wait_until([&] { return load.acknowledged() >= 200; }, 15s, 20ms);
  ASSERT_GE(load.acknowledged(), 200u) << "no load before the outage";

  // --- outage -------------------------------------------------------------------------
  const auto outage_started = steady::now();
  if (GetParam().immediate) {
    pg.stop_immediately();
  } else {
    pg.stop();
  }
  const std::uint64_t acked_at_stop = load.acknowledged();
  const e2e::http_response not_ready = wait_for_readyz(daemon.port(), 503, 8s);
  EXPECT_EQ(not_ready.status, 503u) << "/readyz during the outage: " << not_ready.describe();
  EXPECT_FALSE(not_ready.body.empty()) << "/readyz 503 must give the reason";
  std::cerr << "[db_outage] /readyz 503 after " << ms_since(outage_started)
            << " ms: " << not_ready.body << "\n";

  // Many senders at once, each with one order: up to the budget they wait, beyond it 503.
  order_burst burst(daemon.port(), kBurstSenders, kPatientTimeout);

  {
    e2e::http_client http(daemon.port());
    const e2e::http_response health = http.get("/healthz");
    EXPECT_EQ(health.status, 200u) << "liveness during the outage: " << health.describe();
    // Nothing to wait for: two seconds for an acknowledgement that must not come.
    std::this_thread::sleep_for(2s);  // a window for the bug to show
    const std::uint64_t acked_in_outage = load.acknowledged() - acked_at_stop;
    EXPECT_LE(acked_in_outage, 3u * 2u)
        << "acknowledgements while the database is down (at most the batches in flight when "
           "it stopped)";
    EXPECT_EQ(wait_for_readyz(daemon.port(), 503, 1s).status, 503u);
  }
  const auto remaining = outage - (steady::now() - outage_started);
  if (remaining > 0s) std::this_thread::sleep_for(remaining);  // the outage lasts `outage`

  // --- back -----------------------------------------------------------------------------
  const auto back_started = steady::now();
  pg.start_again();
  burst.join();
  const std::int64_t drained_ms = ms_since(back_started);
  const e2e::http_response ready = wait_for_readyz(daemon.port(), 200, 30s);
  EXPECT_EQ(ready.status, 200u) << "/readyz after the database came back: " << ready.describe();
  std::cerr << "[db_outage] burst answered " << drained_ms << " ms after PostgreSQL was back; "
            << "/readyz 200 after " << ms_since(back_started) << " ms\n";
  // The load goes on against the recovered daemon before it stops.
  const std::uint64_t acked_when_ready = load.acknowledged();
  EXPECT_TRUE(
      test::wait_until([&] { return load.acknowledged() >= acked_when_ready + 100; }, 30s, 20ms))
      << "the load made no progress after the database came back: " << load.summary();
  load.stop();
  std::cerr << "[db_outage] load: " << load.summary() << "\n";

  const burst_outcome outcome = expect_waited_or_refused(burst.records(), back_started);
  std::cerr << "[db_outage] burst of " << kBurstSenders << ": " << outcome.waited
            << " waited and got 201, " << outcome.refused << " got 503 overloaded\n";
  for (const exchange_record& r : load.records()) {
    EXPECT_NE(r.status, 0u) << "the load's requests must all be answered: " << r.describe();
    if (r.status == 0) break;
  }

  std::vector<exchange_record> all = load.records();
  all.insert(all.end(), burst.records().begin(), burst.records().end());
  e2e::http_client http(daemon.port(), 30s);
  const db_state db =
      expect_durable_and_consistent(http, pg.connection_string(), all, "after the outage");

  // And what was committed across the outage survives a restart.
  daemon.restart();
  ASSERT_EQ(wait_for_readyz(daemon.port(), 200, 10s).status, 200u);
  e2e::http_client after(daemon.port(), 30s);
  expect_books_agree(after, pg.connection_string(), db, "after the outage and a restart");
  expect_new_orders_continue(after, pg.connection_string(), db, "outage");
}

INSTANTIATE_TEST_SUITE_P(shutdowns, db_outage,
                         ::testing::Values(outage_kind{"fast", false, 10s},
                                           outage_kind{"immediate", true, 4s}),
                         name_of);

TEST(db_outage_history, an_order_past_the_horizon_is_503_while_the_database_is_away) {
  pg_server pg;
  pg.start();
  e2e::daemon_process daemon(durable_daemon_args(pg.connection_string(), {"--retention", "1s"}));
  ASSERT_EQ(wait_for_readyz(daemon.port(), 200, 10s).status, 200u);
  e2e::http_client http(daemon.port());
  // Into an empty book: cancelled at once, so forgotten after the horizon.
  ASSERT_EQ(http.post_json("/orders", e2e::market_order("hist-1", "client-A", "buy", "1")).status,
            201u);
  const e2e::http_response before = http.get(e2e::order_path("hist-1"));
  ASSERT_EQ(before.status, 200u) << before.describe();
  // Forgotten by the engine: the cancel turns from 409 into 404.
  ASSERT_TRUE(test::wait_until([&] { return http.del(e2e::order_path("hist-1")).status == 404u; },
                               10s, 50ms));
  e2e::http_response got;
  const auto served = [&] {
    got = http.get(e2e::order_path("hist-1"));
    return got.status == 200u;
  };
  ASSERT_TRUE(test::wait_until(served, 20s, 50ms)) << "from the tables: " << got.describe();
  EXPECT_EQ(got.body, before.body);

  pg.stop();
  got = http.get(e2e::order_path("hist-1"));
  EXPECT_EQ(got.status, 503u) << got.describe();
  EXPECT_NE(got.body.find("\"not_ready\""), std::string::npos) << got.describe();
  EXPECT_NE(got.body.find("database unavailable"), std::string::npos) << got.describe();
  EXPECT_FALSE(got.header("Retry-After").empty());
  // Open orders and the rest of the API do not wait on the history reader.
  EXPECT_EQ(http.get("/healthz").status, 200u);

  pg.start_again();
  // The reader reconnects after its backoff (2 s at most).
  EXPECT_TRUE(test::wait_until(served, 30s, 100ms)) << "after the outage: " << got.describe();
  EXPECT_EQ(got.body, before.body);
}

}  // namespace
}  // namespace matchd::pgtest
