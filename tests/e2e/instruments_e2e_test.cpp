// Instruments, halts and price bands (docs/api.md, Instruments and Price bands): GET
// /instruments, POST /admin/instruments/{symbol}/halt and /resume, 409 instrument_halted while
// cancels still work, the instrument_status stream message, 400 price_out_of_band and
// notional_too_large, and a market order that stops at the band. In both modes.

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "harness.h"

namespace matchd::e2e {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// BTC-USD with a 5% band and a max notional of 1,000,000.00 USD.
std::vector<std::string> banded_args() {
  std::vector<std::string> args = daemon_process::default_args();
  args.insert(args.end(),
              {"--instrument", "BTC-USD:0.01:0.00000001:band_bps=500:max_notional=1000000",
               "--instrument", "ETH-USD:0.01:0.0001"});
  return args;
}

std::string code_of(const http_response& r) {
  return r.json()["error"].value("code", "");
}

class instruments : public ::testing::Test {
 protected:
  void place(const json& body) {
    const http_response r = http.post_json("/orders", body);
    ASSERT_EQ(r.status, 201u) << body.dump() << " -> " << r.describe();
  }

  daemon_process daemon{banded_args()};
  http_client http{daemon.port()};
};

TEST_F(instruments, are_listed_with_their_rules_and_status) {
  const http_response all = http.get("/instruments");
  ASSERT_EQ(all.status, 200u) << all.describe();
  const json list = all.json()["instruments"];
  ASSERT_EQ(list.size(), 2u) << all.describe();
  const json expected = {{"symbol", "BTC-USD"},
                         {"status", "trading"},
                         {"tick_size", "0.01"},
                         {"lot_size", "0.00000001"},
                         {"min_price", "0.01"},
                         {"max_price", "1000000000.00"},
                         {"min_quantity", "0.00000001"},
                         {"max_quantity", "10000.00000000"},
                         {"band_bps", 500},
                         {"max_notional", "1000000.00"}};
  EXPECT_EQ(list[0], expected);
  EXPECT_EQ(list[1]["symbol"], "ETH-USD");
  EXPECT_TRUE(list[1]["band_bps"].is_null());
  EXPECT_TRUE(list[1]["max_notional"].is_null());

  const http_response one = http.get("/instruments/BTC-USD");
  ASSERT_EQ(one.status, 200u) << one.describe();
  EXPECT_EQ(one.json()["instrument"], expected);
  const http_response unknown = http.get("/instruments/DOGE-USD");
  EXPECT_EQ(unknown.status, 404u);
  EXPECT_EQ(code_of(unknown), "instrument_not_found") << unknown.describe();
  EXPECT_EQ(http.post_json("/admin/instruments/DOGE-USD/halt", json::object()).status, 404u);
}

TEST_F(instruments, a_halt_refuses_new_orders_keeps_cancels_and_is_streamed) {
  place(limit_order("rest-1", "alice", "buy", "100.00", "1"));
  ws_client ws(daemon.port());
  ws.send_json({{"op", "subscribe"}, {"channels", {"trades"}}, {"instrument", "BTC-USD"}});
  ASSERT_TRUE(ws.read_until([](const json& m) { return m.value("type", "") == "subscribed"; }, 5s));
  sse_client sse(daemon.port(), "/stream/sse?instrument=BTC-USD&channels=orderbook_deltas");
  ASSERT_EQ(sse.status(), 200u);

  const http_response halted = http.post_json("/admin/instruments/BTC-USD/halt", json::object());
  ASSERT_EQ(halted.status, 200u) << halted.describe();
  EXPECT_EQ(halted.json()["instrument"]["status"], "halted");
  EXPECT_EQ(http.get("/instruments/BTC-USD").json()["instrument"]["status"], "halted");

  const http_response refused =
      http.post_json("/orders", limit_order("new-1", "alice", "buy", "100.00", "1"));
  EXPECT_EQ(refused.status, 409u) << refused.describe();
  EXPECT_EQ(code_of(refused), "instrument_halted");
  EXPECT_EQ(http.post_json("/orders", market_order("new-2", "alice", "sell", "1")).status, 409u);
  // Another instrument trades on.
  place(limit_order("eth-1", "alice", "buy", "100.00", "1", "gtc", "ETH-USD"));
  const http_response cancelled = http.del("/orders/rest-1");
  EXPECT_EQ(cancelled.status, 200u) << cancelled.describe();

  const auto frame =
      ws.read_until([](const json& m) { return is_channel(m, "instrument_status"); }, 5s);
  ASSERT_TRUE(frame.has_value()) << "no instrument_status message on the trades channel";
  EXPECT_EQ((*frame)["instrument"], "BTC-USD");
  EXPECT_EQ((*frame)["data"]["status"], "halted");
  // A subscription made while halted says so in its confirmation.
  ws_client late(daemon.port());
  late.send_json({{"op", "subscribe"}, {"channels", {"trades"}}, {"instrument", "BTC-USD"}});
  const auto ack =
      late.read_until([](const json& m) { return m.value("type", "") == "subscribed"; }, 5s);
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ((*ack)["status"], "halted");
  EXPECT_TRUE((*frame)["sequence"].is_number_integer());
  std::optional<sse_client::event> event;
  while ((event = sse.next(5s)) && event->event != "instrument_status") {
  }
  ASSERT_TRUE(event.has_value()) << "no instrument_status event on the SSE stream";
  EXPECT_EQ(json::parse(event->data)["status"], "halted");

  // A second halt changes nothing and says so the same way.
  EXPECT_EQ(http.post_json("/admin/instruments/BTC-USD/halt", json::object()).status, 200u);
  const http_response resumed = http.post_json("/admin/instruments/BTC-USD/resume", json::object());
  ASSERT_EQ(resumed.status, 200u) << resumed.describe();
  EXPECT_EQ(resumed.json()["instrument"]["status"], "trading");
  place(limit_order("new-3", "alice", "buy", "100.00", "1"));
  const auto trading = ws.read_until(
      [](const json& m) {
        return is_channel(m, "instrument_status") && m["data"]["status"] == "trading";
      },
      5s);
  EXPECT_TRUE(trading.has_value()) << "no instrument_status message for the resume";
}

TEST_F(instruments, a_limit_price_beyond_the_band_or_the_max_notional_is_refused) {
  // No trade yet: no reference, no band.
  place(limit_order("far", "alice", "sell", "150.00", "1"));
  place(limit_order("s1", "alice", "sell", "100.00", "1"));
  place(limit_order("b1", "bob", "buy", "100.00", "1"));  // trades: the reference is 100.00

  const http_response high =
      http.post_json("/orders", limit_order("b2", "bob", "buy", "105.01", "1"));
  EXPECT_EQ(high.status, 400u) << high.describe();
  EXPECT_EQ(code_of(high), "price_out_of_band");
  const http_response low =
      http.post_json("/orders", limit_order("s2", "bob", "sell", "94.99", "1"));
  EXPECT_EQ(code_of(low), "price_out_of_band") << low.describe();
  place(limit_order("b3", "bob", "buy", "105.00", "1"));

  const http_response big =
      http.post_json("/orders", limit_order("b4", "bob", "buy", "100.01", "10000"));
  EXPECT_EQ(big.status, 400u) << big.describe();
  EXPECT_EQ(code_of(big), "notional_too_large");
}

TEST_F(instruments, a_market_order_stops_at_the_band_and_its_remainder_is_cancelled) {
  place(limit_order("far", "alice", "sell", "110.00", "1"));  // no reference yet
  place(limit_order("s1", "alice", "sell", "100.00", "1"));
  place(limit_order("b1", "bob", "buy", "100.00", "1"));  // the reference is 100.00
  place(limit_order("near", "alice", "sell", "104.00", "1"));

  const http_response m = http.post_json("/orders", market_order("m1", "bob", "buy", "3"));
  ASSERT_EQ(m.status, 201u) << m.describe();
  const json body = m.json();
  ASSERT_EQ(body["trades"].size(), 1u) << m.describe();
  EXPECT_EQ(body["trades"][0]["price"], "104.00");
  EXPECT_EQ(body["order"]["status"], "cancelled");
  EXPECT_EQ(body["order"]["filled_quantity"], "1.00000000");
  const json book = http.get(orderbook_path()).json();
  ASSERT_EQ(book["asks"].size(), 1u);
  EXPECT_EQ(book["asks"][0]["price"], "110.00");
}

TEST_F(instruments, an_instrument_added_at_runtime_trades_and_streams_at_once) {
  const json body = {{"symbol", "SOL-USD"},    {"tick_size", "0.001"}, {"lot_size", "0.1"},
                     {"max_quantity", "5000"}, {"band_bps", 200},      {"max_notional", 100000}};
  const http_response added = http.post_json("/admin/instruments", body);
  ASSERT_EQ(added.status, 201u) << added.describe();
  const json expected = {{"symbol", "SOL-USD"},   {"status", "trading"},
                         {"tick_size", "0.001"},  {"lot_size", "0.1"},
                         {"min_price", "0.001"},  {"max_price", "1000000000.000"},
                         {"min_quantity", "0.1"}, {"max_quantity", "5000.0"},
                         {"band_bps", 200},       {"max_notional", "100000.000"}};
  EXPECT_EQ(added.json()["instrument"], expected);
  EXPECT_EQ(http.get("/instruments/SOL-USD").json()["instrument"], expected);
  EXPECT_EQ(http.get("/instruments").json()["instruments"].size(), 3u);

  // At once, on another connection: a subscription, a resting order and a trade.
  http_client other(daemon.port());
  ws_client ws(daemon.port());
  ws.send_json({{"op", "subscribe"}, {"channels", {"trades"}}, {"instrument", "SOL-USD"}});
  ASSERT_TRUE(ws.read_until([](const json& m) { return m.value("type", "") == "subscribed"; }, 5s));
  ASSERT_EQ(other
                .post_json("/orders",
                           limit_order("sol-s", "alice", "sell", "150.125", "2", "gtc", "SOL-USD"))
                .status,
            201u);
  const http_response bought = other.post_json(
      "/orders", limit_order("sol-b", "bob", "buy", "150.125", "0.5", "gtc", "SOL-USD"));
  ASSERT_EQ(bought.status, 201u) << bought.describe();
  EXPECT_EQ(bought.json()["trades"][0]["price"], "150.125");
  const auto trade = ws.read_until([](const json& m) { return is_channel(m, "trades"); }, 5s);
  ASSERT_TRUE(trade.has_value()) << "no trade on the new instrument's stream";
  EXPECT_EQ((*trade)["data"]["quantity"], "0.5");
  const json book = http.get(orderbook_path(10, "SOL-USD")).json();
  ASSERT_EQ(book["asks"].size(), 1u) << book.dump();
  EXPECT_EQ(book["asks"][0]["quantity"], "1.5");
  // Its band applies: 2% around 150.125.
  const http_response far = other.post_json(
      "/orders", limit_order("sol-far", "bob", "buy", "160.000", "1", "gtc", "SOL-USD"));
  EXPECT_EQ(code_of(far), "price_out_of_band") << far.describe();
}

TEST_F(instruments, adding_a_taken_symbol_or_a_bad_definition_is_refused) {
  const auto add = [&](const json& body) { return http.post_json("/admin/instruments", body); };
  const http_response taken = add({{"symbol", "BTC-USD"}, {"tick_size", "1"}, {"lot_size", "1"}});
  EXPECT_EQ(taken.status, 409u) << taken.describe();
  EXPECT_EQ(code_of(taken), "instrument_exists");
  EXPECT_EQ(code_of(add({{"symbol", "X"}, {"tick_size", "0.01"}})), "missing_field");
  EXPECT_EQ(code_of(add({{"symbol", "X"}, {"tick_size", {1}}, {"lot_size", "1"}})),
            "invalid_field_type");
  for (const json& bad :
       {json{{"symbol", "has space"}, {"tick_size", "1"}, {"lot_size", "1"}},
        json{{"symbol", "X"}, {"tick_size", "-1"}, {"lot_size", "1"}},
        json{{"symbol", "X"}, {"tick_size", "1"}, {"lot_size", "0"}},
        json{{"symbol", "X"}, {"tick_size", "1"}, {"lot_size", "1"}, {"band_bps", 0}},
        json{{"symbol", "X"}, {"tick_size", "0.1"}, {"lot_size", "1"}, {"max_notional", "0.01"}}}) {
    const http_response r = add(bad);
    EXPECT_EQ(r.status, 400u) << bad.dump() << " -> " << r.describe();
    EXPECT_EQ(code_of(r), "invalid_parameter") << bad.dump();
  }
  const http_response raw = http.request("POST", "/admin/instruments", "{\"symbol\":", {});
  EXPECT_EQ(raw.status, 415u) << "no Content-Type: " << raw.describe();
  EXPECT_EQ(http.get("/instruments").json()["instruments"].size(), 2u);
}

}  // namespace
}  // namespace matchd::e2e
