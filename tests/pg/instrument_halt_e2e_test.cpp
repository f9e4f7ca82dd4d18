// Instruments added at runtime, halts and a price band's reference across kill -9 (docs/api.md,
// Instruments and Price bands): each is committed before its answer, and recovery restores
// them exactly.

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <pqxx/pqxx>
#include <string>

#include "api_checks.h"
#include "daemon_process.h"
#include "durability_checks.h"
#include "order_builders.h"
#include "pg_server.h"
#include "run_to_exit.h"
#include "wait.h"

namespace matchd::pgtest {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

std::string code_of(const e2e::http_response& r) {
  return r.json()["error"].value("code", "");
}

std::string status_in_table(const pg_server& pg, const std::string& symbol) {
  pqxx::connection c(pg.connection_string());
  const pqxx::result rows = pqxx::nontransaction(c).exec(
      "SELECT status FROM instrument_status WHERE symbol = '" + symbol + "'");
  return rows.empty() ? "" : rows[0][0].as<std::string>();
}

TEST(instrument_halt, a_halt_is_durable_at_its_200_and_survives_kill9) {
  pg_server pg;
  pg.start();
  e2e::daemon_process daemon(durable_daemon_args(
      pg.connection_string(),
      {"--instrument", "BTC-USD:0.01:0.00000001", "--instrument", "ETH-USD:0.01:0.0001"}));
  {
    e2e::http_client http(daemon.port(), 30s);
    ASSERT_EQ(
        http.post_json("/orders", e2e::limit_order("h-1", "alice", "buy", "100.00", "1")).status,
        201u);
    const e2e::http_response halted =
        http.post_json("/admin/instruments/BTC-USD/halt", json::object());
    ASSERT_EQ(halted.status, 200u) << halted.describe();
    // Committed before the answer, not later by the applier.
    EXPECT_EQ(status_in_table(pg, "BTC-USD"), "halted");
  }

  daemon.kill9();
  daemon.restart();
  ASSERT_EQ(wait_for_readyz(daemon.port(), 200, 10s).status, 200u);

  e2e::http_client http(daemon.port(), 30s);
  EXPECT_EQ(http.get("/instruments/BTC-USD").json()["instrument"]["status"], "halted");
  EXPECT_EQ(http.get("/instruments/ETH-USD").json()["instrument"]["status"], "trading");
  const e2e::http_response refused =
      http.post_json("/orders", e2e::limit_order("h-2", "alice", "buy", "100.00", "1"));
  EXPECT_EQ(refused.status, 409u) << refused.describe();
  EXPECT_EQ(code_of(refused), "instrument_halted");
  EXPECT_EQ(http.del("/orders/h-1").status, 200u) << "cancels work while halted";

  ASSERT_EQ(http.post_json("/admin/instruments/BTC-USD/resume", json::object()).status, 200u);
  EXPECT_EQ(status_in_table(pg, "BTC-USD"), "trading");
  daemon.kill9();
  daemon.restart();
  ASSERT_EQ(wait_for_readyz(daemon.port(), 200, 10s).status, 200u);
  e2e::http_client again(daemon.port(), 30s);
  EXPECT_EQ(
      again.post_json("/orders", e2e::limit_order("h-3", "alice", "buy", "100.00", "1")).status,
      201u);
}

// store_journal_lag counts what the tables still miss of the committed sequence. A halt
// takes a sequence number but leaves no journal row: once the applier has written
// everything before it, the lag is 0, not 1 until the next order.
TEST(instrument_halt, the_journal_lag_returns_to_zero_after_a_halt) {
  pg_server pg;
  pg.start();
  e2e::daemon_process daemon(durable_daemon_args(pg.connection_string()));
  e2e::http_client http(daemon.port(), 30s);
  ASSERT_EQ(
      http.post_json("/orders", e2e::limit_order("lag-1", "alice", "buy", "100.00", "1")).status,
      201u);
  const auto lag = [&] {
    return e2e::metric_value(e2e::parse_prometheus(http.get("/metrics").body), "store_journal_lag");
  };
  // Caught up with the order first, so what follows is the halt's alone.
  ASSERT_TRUE(test::wait_until([&] { return lag() == std::optional<double>(0); }, 10s, 20ms));
  ASSERT_EQ(http.post_json("/admin/instruments/BTC-USD/halt", json::object()).status, 200u);
  EXPECT_TRUE(test::wait_until(
      [&] {
        const std::optional<double> v = lag();
        return v.has_value() && *v == 0;
      },
      10s, 20ms))
      << "store_journal_lag " << lag().value_or(-1);
}

TEST(instrument_halt, the_band_reference_is_the_last_trade_after_kill9) {
  pg_server pg;
  pg.start();
  e2e::daemon_process daemon(durable_daemon_args(
      pg.connection_string(), {"--instrument", "BTC-USD:0.01:0.00000001:band_bps=500"}));
  {
    e2e::http_client http(daemon.port(), 30s);
    ASSERT_EQ(
        http.post_json("/orders", e2e::limit_order("r-1", "alice", "sell", "100.00", "1")).status,
        201u);
    ASSERT_EQ(
        http.post_json("/orders", e2e::limit_order("r-2", "bob", "buy", "100.00", "1")).status,
        201u);
  }
  daemon.kill9();
  daemon.restart();
  ASSERT_EQ(wait_for_readyz(daemon.port(), 200, 10s).status, 200u);

  e2e::http_client http(daemon.port(), 30s);
  const e2e::http_response far =
      http.post_json("/orders", e2e::limit_order("r-3", "bob", "buy", "105.01", "1"));
  EXPECT_EQ(far.status, 400u) << far.describe();
  EXPECT_EQ(code_of(far), "price_out_of_band");
  EXPECT_EQ(http.post_json("/orders", e2e::limit_order("r-4", "bob", "buy", "105.00", "1")).status,
            201u);
}

TEST(instrument_halt, an_added_instrument_its_orders_and_its_halt_survive_kill9) {
  pg_server pg;
  pg.start();
  e2e::daemon_process daemon(durable_daemon_args(pg.connection_string()));
  const json definition = {
      {"symbol", "ETH-USD"}, {"tick_size", "0.01"}, {"lot_size", "0.0001"}, {"band_bps", 1000}};
  {
    e2e::http_client http(daemon.port(), 30s);
    const e2e::http_response added = http.post_json("/admin/instruments", definition);
    ASSERT_EQ(added.status, 201u) << added.describe();
    {
      pqxx::connection c(pg.connection_string());
      EXPECT_EQ(pqxx::nontransaction(c)
                    .exec1("SELECT count(*) FROM instruments WHERE symbol = 'ETH-USD'")[0]
                    .as<int>(),
                1)
          << "committed before the 201";
    }
    ASSERT_EQ(http.post_json("/orders", e2e::limit_order("e-1", "alice", "sell", "3000.00", "2",
                                                         "gtc", "ETH-USD"))
                  .status,
              201u);
    ASSERT_EQ(http.post_json("/orders", e2e::limit_order("e-2", "bob", "buy", "3000.00", "0.5",
                                                         "gtc", "ETH-USD"))
                  .status,
              201u);
    ASSERT_EQ(http.post_json("/admin/instruments/ETH-USD/halt", json::object()).status, 200u);
  }

  daemon.kill9();
  daemon.restart();
  ASSERT_EQ(wait_for_readyz(daemon.port(), 200, 10s).status, 200u);

  e2e::http_client http(daemon.port(), 30s);
  const e2e::http_response got = http.get("/instruments/ETH-USD");
  ASSERT_EQ(got.status, 200u) << got.describe();
  EXPECT_EQ(got.json()["instrument"]["status"], "halted");
  EXPECT_EQ(got.json()["instrument"]["band_bps"], 1000);
  const json book = http.get(e2e::orderbook_path(10, "ETH-USD")).json();
  ASSERT_EQ(book["asks"].size(), 1u) << book.dump();
  EXPECT_EQ(book["asks"][0]["quantity"], "1.5000");
  EXPECT_EQ(code_of(http.post_json("/orders", e2e::limit_order("e-3", "bob", "buy", "3000.00", "1",
                                                               "gtc", "ETH-USD"))),
            "instrument_halted");
  ASSERT_EQ(http.post_json("/admin/instruments/ETH-USD/resume", json::object()).status, 200u);
  // The band's reference came back too: 3000.00, 10%.
  EXPECT_EQ(code_of(http.post_json("/orders", e2e::limit_order("e-4", "bob", "buy", "3300.01", "1",
                                                               "gtc", "ETH-USD"))),
            "price_out_of_band");
  const e2e::http_response bought = http.post_json(
      "/orders", e2e::limit_order("e-5", "bob", "buy", "3000.00", "1.5", "gtc", "ETH-USD"));
  ASSERT_EQ(bought.status, 201u) << bought.describe();
  EXPECT_EQ(bought.json()["order"]["status"], "filled");
  EXPECT_EQ(http.post_json("/admin/instruments", definition).status, 409u);
}

TEST(instrument_halt, a_flag_that_disagrees_with_an_added_instrument_refuses_the_start) {
  pg_server pg;
  pg.start();
  {
    e2e::daemon_process daemon(durable_daemon_args(pg.connection_string()));
    e2e::http_client http(daemon.port(), 30s);
    const json definition = {{"symbol", "ETH-USD"}, {"tick_size", "0.01"}, {"lot_size", "0.0001"}};
    ASSERT_EQ(http.post_json("/admin/instruments", definition).status, 201u);
  }
  const e2e::finished_run r =
      e2e::run_to_exit({"--db", pg.connection_string(), "--listen", "127.0.0.1:0", "--instrument",
                        "BTC-USD:0.01:0.00000001", "--instrument", "ETH-USD:0.1:0.0001"});
  EXPECT_EQ(r.exit.code, 2) << r.describe();
  EXPECT_NE(r.err.find("ETH-USD"), std::string::npos) << r.describe();
  EXPECT_NE(r.err.find("added at runtime"), std::string::npos) << r.describe();
}

}  // namespace
}  // namespace matchd::pgtest
