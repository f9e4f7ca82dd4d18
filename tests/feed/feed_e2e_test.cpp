// The daemon with its market-data feed pointed at matchd-feed-replay serving the fixture:
// every trade becomes one taker order, visible over REST and on /stream; malformed messages
// are skipped and counted; dropped connections are survived; a replayed trade never trades
// twice. A daemon without the --feed-url flag fails every case.

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "feed_harness.h"
#include "harness.h"
#include "replay_process.h"

namespace matchd::feed::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using e2e::daemon_process;
using e2e::http_client;
using e2e::http_response;
using e2e::ws_client;

constexpr const char* kClientId = "binance-feed";

struct fixture_trade {
  std::string order_id;  // feed-BTCUSDT-<t>
  std::string side;      // the taker's: m == true -> "sell"
  std::string quantity;  // "q", already canonical (8 decimals) for BTC-USD
};

std::vector<fixture_trade> fixture_trades() {
  std::vector<fixture_trade> out;
  std::ifstream in(MATCHD_FEED_FIXTURE);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const json t = json::parse(line);
    out.push_back(
        {"feed-" + t["s"].get<std::string>() + "-" + std::to_string(t["t"].get<std::uint64_t>()),
         t["m"].get<bool>() ? "sell" : "buy", t["q"].get<std::string>()});
  }
  return out;
}

bool daemon_has_feed() {
  static const bool has =
      run_and_capture(e2e::matchd_binary(), {"--help"}).find("--feed-url") != std::string::npos;
  return has;
}

class feed_e2e : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(daemon_has_feed()) << "matchd --help has no --feed-url: the feed is missing";
    trades_ = fixture_trades();
    ASSERT_GE(trades_.size(), 100u);
  }

  // Starts a gated replay server with `replay_args`, then the daemon fed by it, then loads
  // the book with resting liquidity on both sides. The trades flow after open_gate().
  void start(std::vector<std::string> replay_args) {
    replay_args.insert(replay_args.begin(), {"--file", MATCHD_FEED_FIXTURE});
    replay_ = std::make_unique<replay_process>(std::move(replay_args), true);
    std::vector<std::string> args = daemon_process::default_args();
    args.insert(args.end(), {"--feed-url", replay_->url(), "--feed-symbol", "BTCUSDT=BTC-USD",
                             "--feed-client-id", kClientId});
    daemon_ = std::make_unique<daemon_process>(args);
    http_ = std::make_unique<http_client>(daemon_->port());
    // 5 BTC a side, far more than the fixture takes (~1.5 BTC in all).
    for (int i = 0; i < 5; ++i) {
      const std::string n = std::to_string(i);
      place(e2e::limit_order("ask-" + n, "liquidity", "sell", "7010" + n + ".00", "1"));
      place(e2e::limit_order("bid-" + n, "liquidity", "buy", "6990" + n + ".00", "1"));
    }
  }

  void place(const json& body) {
    const http_response r = http_->post_json("/orders", body);
    ASSERT_EQ(r.status, 201u) << r.describe();
  }

  std::vector<e2e::metric_sample> metrics() {
    const http_response r = http_->get("/metrics");
    EXPECT_EQ(r.status, 200u);
    return e2e::parse_prometheus(r.body);
  }

  double metric(const std::string& name) { return e2e::metric_value(metrics(), name).value_or(-1); }

  // Waits until the last fixture trade's order exists (the engine runs commands in order).
  void wait_for_last_order() {
    const std::string path = e2e::order_path(trades_.back().order_id);
    ASSERT_TRUE(wait_until([&] { return http_->get(path).status == 200; }, 15s))
        << "no order " << trades_.back().order_id
        << "; feed_messages_total=" << metric("feed_messages_total")
        << " feed_reconnects_total=" << metric("feed_reconnects_total");
  }

  // Every fixture trade is exactly one filled order of the feed's client, with the trade's
  // taker side and quantity, and it trades its quantity exactly once as the aggressor.
  void expect_every_trade_became_one_filled_order() {
    for (const fixture_trade& t : trades_) {
      const http_response r = http_->get(e2e::order_path(t.order_id));
      ASSERT_EQ(r.status, 200u) << t.order_id << ": " << r.describe();
      const json o = r.json()["order"];
      EXPECT_TRUE(e2e::is_well_formed_order(o));
      EXPECT_EQ(o["client_id"], kClientId);
      EXPECT_EQ(o["instrument"], "BTC-USD");
      EXPECT_EQ(o["type"], "market");
      EXPECT_EQ(o["side"], t.side) << t.order_id;
      EXPECT_EQ(o["quantity"], t.quantity) << t.order_id;
      EXPECT_EQ(o["filled_quantity"], t.quantity) << t.order_id;
      EXPECT_EQ(o["status"], "filled") << t.order_id;
    }
    const http_response r = http_->get(e2e::trades_path(1000));
    ASSERT_EQ(r.status, 200u);
    const json body = r.json();
    std::map<std::string, std::int64_t> taken;  // order id -> quantity traded as aggressor
    for (const json& trade : body["trades"]) {
      const std::string side = trade["aggressor_side"];
      const std::string taker = trade[side == "buy" ? "buy_order_id" : "sell_order_id"];
      taken[taker] += e2e::decimal_units(trade["quantity"], 8).value_or(0);
    }
    for (const fixture_trade& t : trades_) {
      EXPECT_EQ(taken[t.order_id], *e2e::parse_units(t.quantity, 8))
          << t.order_id << " must trade its quantity exactly once";
    }
  }

  std::vector<fixture_trade> trades_;
  std::unique_ptr<replay_process> replay_;
  std::unique_ptr<daemon_process> daemon_;
  std::unique_ptr<http_client> http_;
};

TEST_F(feed_e2e, every_fixture_trade_becomes_a_market_order_seen_over_rest_and_the_stream) {
  start({"--speed", "20", "--retime"});
  ws_client ws(daemon_->port());
  ws.send_json({{"op", "subscribe"}, {"channels", {"trades"}}, {"instrument", "BTC-USD"}});
  const auto ack = ws.read_json(5s);
  ASSERT_TRUE(ack && ack->value("type", "") == "subscribed") << (ack ? ack->dump() : "none");
  replay_->open_gate();

  // The stream shows each feed order trading as the aggressor.
  std::set<std::string> pending;
  for (const fixture_trade& t : trades_) pending.insert(t.order_id);
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (!pending.empty() && std::chrono::steady_clock::now() < deadline) {
    const auto m = ws.read_json(1s);
    if (!m || !m->is_object() || m->value("channel", "") != "trades") continue;
    const json& d = (*m)["data"];
    const std::string side = d.value("aggressor_side", "");
    if (side != "buy" && side != "sell") continue;
    pending.erase(d.value(side == "buy" ? "buy_order_id" : "sell_order_id", ""));
  }
  EXPECT_TRUE(pending.empty()) << pending.size() << " feed orders never traded on /stream, e.g. "
                               << (pending.empty() ? "" : *pending.begin());

  wait_for_last_order();
  expect_every_trade_became_one_filled_order();
  const auto m = metrics();
  const double n = static_cast<double>(trades_.size());
  EXPECT_EQ(e2e::metric_value(m, "feed_messages_total"), n);
  EXPECT_EQ(e2e::metric_value(m, "feed_orders_submitted_total"), n);
  EXPECT_EQ(e2e::metric_value(m, "feed_orders_dropped_total"), 0);
  EXPECT_EQ(e2e::metric_value(m, "feed_parse_errors_total"), 0);
  EXPECT_EQ(e2e::metric_value(m, "feed_connected"), 1);
  // --retime stamps each trade with the time it is sent: the lag is the transport's.
  const double lag = e2e::metric_value(m, "feed_lag_seconds").value_or(-100);
  EXPECT_GE(lag, -1);
  EXPECT_LT(lag, 5);
  EXPECT_TRUE(e2e::metric_value(m, "feed_reconnects_total").has_value());
}

TEST_F(feed_e2e, malformed_messages_are_skipped_and_counted) {
  const std::size_t every = 25;  // the replay server cycles through 4 kinds of bad message
  start({"--speed", "0", "--inject-malformed-every", std::to_string(every)});
  replay_->open_gate();
  wait_for_last_order();
  const double injected = static_cast<double>(trades_.size() / every);
  ASSERT_TRUE(wait_until([&] { return metric("feed_parse_errors_total") >= injected; }, 5s))
      << "feed_parse_errors_total=" << metric("feed_parse_errors_total");
  expect_every_trade_became_one_filled_order();
  const auto m = metrics();
  EXPECT_EQ(e2e::metric_value(m, "feed_parse_errors_total"), injected);
  for (const char* reason : {"bad_json", "missing_field", "bad_decimal", "unknown_symbol"}) {
    EXPECT_EQ(e2e::metric_value(m, "feed_parse_errors_total", {{"reason", reason}}), injected / 4)
        << reason;
  }
  EXPECT_EQ(e2e::metric_value(m, "feed_orders_submitted_total"),
            static_cast<double>(trades_.size()));
  EXPECT_EQ(e2e::metric_value(m, "feed_reconnects_total"), 0);
  EXPECT_EQ(http_->get("/healthz").status, 200u);
}

TEST_F(feed_e2e, dropped_connections_are_survived_and_later_trades_still_arrive) {
  // Each connection is cut (no close frame) after 70 messages; the server resumes where
  // the last one stopped, so every trade arrives once.
  start({"--speed", "0", "--drop-after", "70"});
  replay_->open_gate();
  wait_for_last_order();
  expect_every_trade_became_one_filled_order();
  EXPECT_GE(metric("feed_reconnects_total"), 2);
  EXPECT_TRUE(wait_until([&] { return metric("feed_connected") == 1; }, 5s));
  EXPECT_EQ(metric("feed_orders_submitted_total"), static_cast<double>(trades_.size()));
}

TEST_F(feed_e2e, a_trade_delivered_twice_trades_once) {
  // The first connection is cut after 120 trades and the second starts the file over: the
  // engine refuses the repeated order ids, so nothing fills twice.
  start({"--speed", "0", "--drop-after", "120", "--max-drops", "1", "--restart-on-connect"});
  replay_->open_gate();
  ASSERT_TRUE(wait_until(
      [&] { return metric("feed_messages_total") >= static_cast<double>(trades_.size() + 120); },
      15s))
      << "feed_messages_total=" << metric("feed_messages_total");
  wait_for_last_order();
  expect_every_trade_became_one_filled_order();
  EXPECT_GE(metric("feed_reconnects_total"), 1);
  EXPECT_EQ(metric("feed_orders_submitted_total"), static_cast<double>(trades_.size() + 120));
}

}  // namespace
}  // namespace matchd::feed::test
