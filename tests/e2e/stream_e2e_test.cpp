// Market-data streams (docs/api.md, Streams): WebSocket subscriptions, book rebuild from snapshot
// plus deltas, WebSocket order entry, and Server-Sent Events.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "wait.h"

namespace matchd::e2e {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using strings = std::vector<std::string>;

json subscribe_message(const strings& channels, const std::string& op = "subscribe") {
  return {{"op", op}, {"channels", channels}, {"instrument", "BTC-USD"}};
}

// The exact envelope of a channel event.
::testing::AssertionResult is_event_envelope(const json& m) {
  if (keys_of(m) != strings{"channel", "data", "instrument", "sequence"}) {
    return ::testing::AssertionFailure()
           << "event must be {channel, instrument, sequence, data}, got " << m.dump();
  }
  if (!m["sequence"].is_number_integer() || !m["data"].is_object()) {
    return ::testing::AssertionFailure() << "malformed event " << m.dump();
  }
  return ::testing::AssertionSuccess();
}

class stream : public ::testing::Test {
 protected:
  json place(const json& body) {
    const http_response r = http.post_json("/orders", body);
    EXPECT_EQ(r.status, 201u) << "POST /orders " << body.dump() << " -> " << r.describe();
    return r.json();
  }

  // Subscribes and returns the acknowledgement; with orderbook_deltas also reads the
  // snapshot that must follow it into `snapshot`.
  json subscribe(ws_client& ws, const strings& channels, json* snapshot = nullptr) {
    ws.send_json(subscribe_message(channels));
    const std::optional<json> ack = ws.read_json(5s);
    EXPECT_TRUE(ack.has_value()) << "no answer to subscribe";
    if (!ack) return json();
    EXPECT_TRUE(ack->is_object() && ack->value("type", "") == "subscribed") << ack->dump();
    if (snapshot != nullptr) {
      const std::optional<json> first = ws.read_json(5s);
      EXPECT_TRUE(first.has_value()) << "no snapshot after subscribed";
      if (first) {
        EXPECT_TRUE(is_channel(*first, "orderbook_snapshot"))
            << "the first message after subscribed must be the snapshot, got " << first->dump();
        *snapshot = *first;
      }
    }
    return *ack;
  }

  daemon_process daemon;
  http_client http{daemon.port()};
};

TEST_F(stream, subscribe_is_acknowledged_then_a_snapshot_equal_to_get_orderbook_follows) {
  place(limit_order("b1", "client-A", "buy", "100.00", "1"));
  place(limit_order("b2", "client-A", "buy", "99.00", "2"));
  place(limit_order("a1", "client-A", "sell", "101.00", "0.5"));
  const json book = http.get(orderbook_path()).json();

  ws_client ws(daemon.port());
  json snapshot;
  subscribe(ws, {"trades", "orderbook_deltas", "orders"}, &snapshot);
  ASSERT_TRUE(snapshot.is_object());
  EXPECT_TRUE(is_event_envelope(snapshot));
  EXPECT_EQ(snapshot["instrument"], "BTC-USD");
  EXPECT_EQ(snapshot["sequence"], book["sequence"]);
  const json& data = snapshot["data"];
  EXPECT_EQ(keys_of(data), keys_of(book)) << "snapshot data has the GET /orderbook shape";
  EXPECT_EQ(data["bids"], book["bids"]);
  EXPECT_EQ(data["asks"], book["asks"]);
}

TEST_F(stream, channel_events_carry_the_committed_objects) {
  ws_client ws(daemon.port());
  json snapshot;
  subscribe(ws, {"trades", "orderbook_deltas", "orders"}, &snapshot);
  const json maker = place(limit_order("s1", "client-S", "sell", "100.00", "1"))["order"];
  const json taker_body = place(limit_order("b1", "client-B", "buy", "100.00", "0.4"));
  ASSERT_EQ(taker_body["trades"].size(), 1u);
  const json trade = taker_body["trades"][0];
  const json maker_after = http.get(order_path("s1")).json()["order"];

  std::vector<json> events;
  bool have_trade = false;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!have_trade && std::chrono::steady_clock::now() < deadline) {
    std::optional<json> m = ws.read_json(500ms);
    if (!m) continue;
    if (is_channel(*m, "trades")) have_trade = true;
    events.push_back(*m);
  }
  std::vector<json> more = ws.read_for(300ms);  // the rest of the last command's events
  events.insert(events.end(), more.begin(), more.end());
  ASSERT_TRUE(have_trade) << "no trades event";

  std::vector<json> trades, orders, deltas;
  for (const json& m : events) {
    EXPECT_TRUE(is_event_envelope(m));
    EXPECT_EQ(m.value("instrument", ""), "BTC-USD");
    if (is_channel(m, "trades")) trades.push_back(m);
    if (is_channel(m, "orders")) orders.push_back(m);
    if (is_channel(m, "orderbook_deltas")) deltas.push_back(m);
  }
  ASSERT_EQ(trades.size(), 1u);
  EXPECT_EQ(trades[0]["data"], trade);
  EXPECT_EQ(trades[0]["sequence"], trade["sequence"]);

  auto last_state = [&](const std::string& id) {
    json last;
    for (const json& m : orders) {
      if (m["data"].value("order_id", "") == id) last = m["data"];
    }
    return last;
  };
  EXPECT_EQ(last_state("b1"), taker_body["order"]);
  EXPECT_EQ(last_state("s1"), maker_after);
  bool saw_maker_open = false;
  for (const json& m : orders) {
    if (m["data"] == maker) saw_maker_open = true;
    EXPECT_TRUE(is_well_formed_order(m["data"]));
  }
  EXPECT_TRUE(saw_maker_open) << "the maker's open state was streamed";

  // Deltas: the ask level appeared with 1, then went to 0.6.
  ASSERT_EQ(deltas.size(), 2u) << nlohmann::json(deltas).dump();
  for (const json& d : deltas) {
    EXPECT_EQ(keys_of(d["data"]), (strings{"orders", "price", "quantity", "side"})) << d.dump();
    EXPECT_EQ(d["data"]["side"], "sell");
    EXPECT_EQ(d["data"]["price"], "100.00");
    EXPECT_TRUE(is_canonical_decimal(d["data"]["quantity"], 8))
        << "responses always use the canonical precision: " << d.dump();
  }
  EXPECT_EQ(decimal_units(deltas[0]["data"]["quantity"], 8), 100000000);
  EXPECT_EQ(deltas[0]["data"]["orders"], 1);
  EXPECT_EQ(deltas[0]["sequence"].get<std::uint64_t>(), maker["sequence"].get<std::uint64_t>() + 1)
      << "the level delta is the event right after the resting order's state";
  EXPECT_EQ(decimal_units(deltas[1]["data"]["quantity"], 8), 60000000);
  EXPECT_EQ(deltas[1]["data"]["orders"], 1);
  // trade, maker state, taker state, then the delta of the touched level.
  EXPECT_EQ(deltas[1]["sequence"].get<std::uint64_t>(), trade["sequence"].get<std::uint64_t>() + 3);
}

TEST_F(stream, removed_level_has_quantity_zero) {
  ws_client ws(daemon.port());
  json snapshot;
  subscribe(ws, {"orderbook_deltas"}, &snapshot);
  place(limit_order("b1", "client-A", "buy", "100.00", "1"));
  ASSERT_EQ(http.del(order_path("b1")).status, 200u);
  std::vector<json> deltas;
  for (int i = 0; i < 2; ++i) {
    std::optional<json> m =
        ws.read_until([](const json& j) { return is_channel(j, "orderbook_deltas"); }, 5s);
    ASSERT_TRUE(m.has_value()) << "delta " << i << " missing";
    deltas.push_back(*m);
  }
  EXPECT_EQ(deltas[1]["data"]["side"], "buy");
  EXPECT_EQ(deltas[1]["data"]["price"], "100.00");
  EXPECT_EQ(decimal_units(deltas[1]["data"]["quantity"], 8), 0) << deltas[1].dump();
  EXPECT_EQ(deltas[1]["data"]["orders"], 0) << deltas[1].dump();
}

// docs/api.md: "then the deltas, with strictly increasing sequence". One command that changes three
// levels (two asks swept, the remainder resting as a bid) must still give three different,
// increasing sequence numbers.
TEST_F(stream, deltas_have_strictly_increasing_sequence) {
  ws_client ws(daemon.port());
  json snapshot;
  subscribe(ws, {"orderbook_deltas"}, &snapshot);
  place(limit_order("a1", "client-A", "sell", "100.00", "1"));
  place(limit_order("a2", "client-A", "sell", "101.00", "1"));
  place(limit_order("b1", "client-B", "buy", "101.00", "3"));
  std::vector<json> deltas;
  for (int i = 0; i < 5; ++i) {
    std::optional<json> m =
        ws.read_until([](const json& j) { return is_channel(j, "orderbook_deltas"); }, 5s);
    ASSERT_TRUE(m.has_value()) << "delta " << i << " missing";
    deltas.push_back(*m);
  }
  long long previous = snapshot.value("sequence", 0LL);
  for (const json& d : deltas) {
    EXPECT_GT(d["sequence"].get<long long>(), previous) << nlohmann::json(deltas).dump();
    previous = d["sequence"].get<long long>();
  }
}

// A client rebuilds the book from the snapshot and the deltas while another client sends a
// few hundred random orders and cancels; it must end with exactly GET /orderbook's book.
TEST_F(stream, book_rebuilt_from_snapshot_and_deltas_equals_get_orderbook) {
  constexpr int kOperations = 400;
  constexpr int kSubscribeAfter = 60;
  const unsigned seed = 20261121;
  SCOPED_TRACE("seed " + std::to_string(seed));

  std::atomic<int> done_operations{0};
  std::atomic<bool> writer_done{false};
  std::atomic<long long> sentinel_sequence{0};
  std::vector<std::string> writer_errors;
  std::thread writer([&] {
    try {
      http_client client(daemon.port());
      std::mt19937 rng(seed);
      std::vector<std::string> ids;
      auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
      auto price = [&](int lo_cents, int hi_cents) {
        return format_units(pick(lo_cents / 50, hi_cents / 50) * 50, 2);
      };
      for (int i = 0; i < kOperations; ++i) {
        const int kind = pick(0, 99);
        const std::string id = "r" + std::to_string(i);
        const std::string qty = format_units(pick(1, 200) * 1000000, 8);
        http_response r;
        if (kind < 25 && !ids.empty()) {
          const std::string victim =
              ids[static_cast<std::size_t>(pick(0, static_cast<int>(ids.size()) - 1))];
          r = client.del(order_path(victim));
          if (r.status != 200 && r.status != 409) {
            writer_errors.push_back("cancel " + victim + ": " + r.describe());
          }
        } else {
          json body;
          const bool buy = pick(0, 1) == 0;
          const std::string side = buy ? "buy" : "sell";
          const std::string px = buy ? price(9500, 10100) : price(9900, 10500);
          if (kind < 65) {
            body = limit_order(id, "client-R", side, px, qty);
          } else if (kind < 80) {
            body = limit_order(id, "client-R", side, px, qty, "ioc");
          } else if (kind < 90) {
            body = limit_order(id, "client-R", side, px, qty, "fok");
          } else {
            body = market_order(id, "client-R", side, format_units(pick(1, 50) * 1000000, 8));
          }
          r = client.post_json("/orders", body);
          if (r.status != 201) writer_errors.push_back(body.dump() + " -> " + r.describe());
          ids.push_back(id);
        }
        ++done_operations;
      }
      // Far from the touch, so it rests and its delta marks the end of the run.
      const http_response last =
          client.post_json("/orders", limit_order("sentinel", "client-R", "buy", "1.00", "0.01"));
      if (last.status != 201) writer_errors.push_back("sentinel -> " + last.describe());
      sentinel_sequence = last.json()["order"].value("sequence", 0LL);
    } catch (const std::exception& e) {
      writer_errors.push_back(std::string("writer: ") + e.what());
    }
    writer_done = true;
  });

  // Seed the book and subscribe in the middle of the activity.
  (void)test::wait_until([&] { return done_operations >= kSubscribeAfter || writer_done; }, 20s,
                         1ms);
  ws_client ws(daemon.port());
  json snapshot;
  subscribe(ws, {"orderbook_deltas"}, &snapshot);
  if (!snapshot.is_object() || !snapshot.contains("data")) {
    writer.join();
    FAIL() << "no snapshot";
  }

  std::map<std::int64_t, book_level, std::greater<>> bids;
  std::map<std::int64_t, book_level> asks;
  const book_sides start = book_from_json(snapshot["data"]);
  for (const book_level& l : start.bids) bids[l.price] = l;
  for (const book_level& l : start.asks) asks[l.price] = l;
  const long long snapshot_sequence = snapshot.value("sequence", 0LL);
  long long applied = snapshot_sequence;
  int stale = 0;
  int decreasing = 0;
  int deltas = 0;
  std::vector<std::string> bad_deltas;
  auto apply = [&](const json& m) {
    if (!is_channel(m, "orderbook_deltas")) return;
    ++deltas;
    const long long seq = m.value("sequence", 0LL);
    if (seq <= snapshot_sequence) {
      ++stale;
      return;
    }
    if (seq < applied) ++decreasing;
    applied = std::max(applied, seq);
    const json& d = m["data"];
    const auto price = decimal_units(d.value("price", json()), 2);
    const auto quantity = decimal_units(d.value("quantity", json()), 8);
    if (!price || !quantity || !d.contains("orders") || !d["orders"].is_number_integer() ||
        (d.value("side", "") != "buy" && d.value("side", "") != "sell")) {
      bad_deltas.push_back(m.dump());
      return;
    }
    const book_level level{*price, *quantity, d["orders"].get<std::int64_t>()};
    if (d["side"] == "buy") {
      if (*quantity == 0)
        bids.erase(*price);
      else
        bids[*price] = level;
    } else {
      if (*quantity == 0)
        asks.erase(*price);
      else
        asks[*price] = level;
    }
  };

  const auto end_deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < end_deadline) {
    if (writer_done && sentinel_sequence > 0 && applied >= sentinel_sequence) break;
    if (writer_done && sentinel_sequence == 0) break;
    if (std::optional<json> m = ws.read_json(100ms)) apply(*m);
    if (ws.closed()) break;
  }
  writer.join();
  for (const std::string& e : writer_errors) ADD_FAILURE() << e;

  // The book's own sequence may be later still; read until the stream caught up with it.
  const json final_book = http.get(orderbook_path(1000)).json();
  const long long book_sequence = final_book.value("sequence", 0LL);
  const auto catch_up_deadline = std::chrono::steady_clock::now() + 5s;
  while (applied < book_sequence && std::chrono::steady_clock::now() < catch_up_deadline) {
    if (std::optional<json> m = ws.read_json(100ms)) apply(*m);
  }
  EXPECT_GE(applied, sentinel_sequence.load()) << "the stream never reached the last order";
  EXPECT_GE(applied, book_sequence) << "the stream never reached GET /orderbook's sequence";
  EXPECT_GT(deltas, 50) << "too few deltas to mean anything";
  EXPECT_EQ(stale, 0) << "deltas at or before the snapshot's sequence were sent after it";
  EXPECT_EQ(decreasing, 0) << "delta sequences went backwards";
  for (const std::string& d : bad_deltas) ADD_FAILURE() << "malformed delta " << d;

  book_sides rebuilt;
  for (const auto& [price, level] : bids) rebuilt.bids.push_back(level);
  for (const auto& [price, level] : asks) rebuilt.asks.push_back(level);
  const book_sides expected = book_from_json(final_book);
  EXPECT_FALSE(expected.bids.empty() && expected.asks.empty()) << "empty final book";
  EXPECT_EQ(rebuilt, expected);
}

TEST_F(stream, trades_channel_carries_exactly_the_trades_returned_by_post) {
  ws_client ws(daemon.port());
  subscribe(ws, {"trades"});
  place(limit_order("a1", "client-A", "sell", "100.00", "1"));
  place(limit_order("a2", "client-A", "sell", "101.00", "1"));
  place(limit_order("a3", "client-A", "sell", "102.00", "1"));
  std::vector<json> posted;
  const json sweep = place(limit_order("b1", "client-B", "buy", "102.00", "2.5"));
  const json market = place(market_order("b2", "client-B", "buy", "1"));
  for (const json& t : sweep["trades"]) posted.push_back(t);
  for (const json& t : market["trades"]) posted.push_back(t);
  ASSERT_EQ(posted.size(), 4u);

  std::vector<json> streamed;
  for (std::size_t i = 0; i < posted.size(); ++i) {
    std::optional<json> m =
        ws.read_until([](const json& j) { return is_channel(j, "trades"); }, 5s);
    ASSERT_TRUE(m.has_value()) << "trade " << i << " not streamed";
    EXPECT_TRUE(is_event_envelope(*m));
    EXPECT_EQ((*m)["instrument"], "BTC-USD");
    EXPECT_EQ((*m)["sequence"], (*m)["data"]["sequence"]);
    streamed.push_back((*m)["data"]);
  }
  EXPECT_EQ(streamed, posted);
  for (const json& extra : ws.read_for(300ms)) {
    EXPECT_FALSE(is_channel(extra, "trades")) << "unexpected trade " << extra.dump();
  }
}

TEST_F(stream, orders_channel_sends_every_state_change) {
  ws_client ws(daemon.port());
  subscribe(ws, {"orders"});
  place(limit_order("s1", "client-S", "sell", "100.00", "1"));
  place(limit_order("b1", "client-B", "buy", "100.00", "0.4"));
  const http_response cancelled = http.del(order_path("s1"));
  ASSERT_EQ(cancelled.status, 200u);

  std::vector<std::string> s1_statuses;
  json s1_last = json::object();
  for (int i = 0; i < 10 && s1_last.value("status", "") != "cancelled"; ++i) {
    std::optional<json> m =
        ws.read_until([](const json& j) { return is_channel(j, "orders"); }, 5s);
    ASSERT_TRUE(m.has_value()) << "missing orders events; s1 so far: "
                               << nlohmann::json(s1_statuses).dump();
    EXPECT_TRUE(is_well_formed_order((*m)["data"]));
    if ((*m)["data"].value("order_id", "") == "s1") {
      s1_statuses.push_back((*m)["data"].value("status", ""));
      s1_last = (*m)["data"];
    }
  }
  EXPECT_EQ(s1_statuses, (strings{"open", "partially_filled", "cancelled"}));
  EXPECT_EQ(s1_last, cancelled.json()["order"]);
}

TEST_F(stream, unsubscribe_stops_the_events) {
  ws_client ws(daemon.port());
  subscribe(ws, {"trades"});
  place(limit_order("a1", "client-A", "sell", "100.00", "2"));
  place(limit_order("b1", "client-B", "buy", "100.00", "1"));
  ASSERT_TRUE(ws.read_until([](const json& j) { return is_channel(j, "trades"); }, 5s))
      << "subscription delivered no trade";

  ws.send_json(subscribe_message({"trades"}, "unsubscribe"));
  for (const json& m : ws.read_for(500ms)) {
    EXPECT_FALSE(is_channel(m, "trades")) << m.dump();
  }
  place(limit_order("b2", "client-B", "buy", "100.00", "1"));
  for (const json& m : ws.read_for(700ms)) {
    EXPECT_FALSE(is_channel(m, "trades")) << "event after unsubscribe: " << m.dump();
  }
  EXPECT_FALSE(ws.closed());
}

// /stream?batch=true: every message of the connection comes inside a JSON array, several
// to a WebSocket message when several are ready, and flattening the arrays gives exactly
// what an unbatched connection gets one by one.
TEST_F(stream, a_batched_connection_gets_the_same_messages_in_arrays) {
  constexpr int kOrders = 300;
  ws_client plain(daemon.port());
  json plain_snapshot;
  subscribe(plain, {"trades", "orderbook_deltas", "orders"}, &plain_snapshot);
  ws_client::options o;
  o.target = "/stream?batch=true";
  ws_client batched(daemon.port(), o);

  std::vector<json> messages;  // the batched connection's, flattened
  std::size_t arrays = 0;
  std::size_t largest = 0;
  auto read_batched = [&](const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      const std::optional<json> m = batched.read_json(5s);
      ASSERT_TRUE(m.has_value()) << batched.close_state().describe();
      ASSERT_TRUE(m->is_array() && !m->empty()) << "not a non-empty array: " << m->dump();
      ++arrays;
      largest = std::max(largest, m->size());
      for (const json& item : *m) {
        ASSERT_TRUE(item.is_object()) << m->dump();
        messages.push_back(item);
      }
    }
    ASSERT_TRUE(done()) << messages.size() << " messages so far";
  };
  batched.send_json(subscribe_message({"trades", "orderbook_deltas", "orders"}));
  read_batched([&] { return messages.size() >= 2; });
  ASSERT_EQ(messages[0].value("type", ""), "subscribed") << messages[0].dump();
  json snapshot = messages[1];
  ASSERT_TRUE(is_channel(snapshot, "orderbook_snapshot")) << snapshot.dump();
  snapshot["data"].erase("timestamp");  // when each was taken
  plain_snapshot["data"].erase("timestamp");
  EXPECT_EQ(snapshot, plain_snapshot);

  // Pipelined orders on the batched connection, half of them crossing: its answers and
  // the events share its arrays.
  for (int i = 0; i < kOrders; ++i) {
    json op = limit_order("bt" + std::to_string(i), i % 2 == 0 ? "client-S" : "client-B",
                          i % 2 == 0 ? "sell" : "buy", i % 4 < 2 ? "100.00" : "99.00", "1");
    op["op"] = "place";
    op["req_id"] = i;
    batched.send_json(op);
  }
  read_batched([&] {
    return std::count_if(messages.begin(), messages.end(),
                         [](const json& m) { return m.value("type", "") == "place"; }) == kOrders;
  });
  // Once every order is answered, one far from the touch: its delta is the last event.
  place(limit_order("sentinel", "client-R", "buy", "1.00", "0.01"));
  auto is_sentinel = [](const json& m) {
    return is_channel(m, "orderbook_deltas") && m["data"].value("price", "") == "1.00";
  };
  read_batched([&] { return std::count_if(messages.begin(), messages.end(), is_sentinel) == 1; });

  std::vector<json> events;
  std::vector<int> answered;
  for (std::size_t i = 2; i < messages.size(); ++i) {
    if (messages[i].contains("type")) {
      EXPECT_EQ(messages[i].value("type", ""), "place") << messages[i].dump();
      EXPECT_EQ(messages[i].value("status", 0), 201) << messages[i].dump();
      answered.push_back(messages[i].value("req_id", -1));
    } else {
      events.push_back(messages[i]);
    }
  }
  for (int i = 0; i < kOrders; ++i) {
    ASSERT_EQ(answered[static_cast<std::size_t>(i)], i) << "answers in the order asked";
  }
  std::vector<json> plain_events;
  while (plain_events.empty() || !is_sentinel(plain_events.back())) {
    const std::optional<json> m = plain.read_json(5s);
    ASSERT_TRUE(m.has_value()) << plain_events.size() << " events, then nothing";
    ASSERT_TRUE(m->is_object()) << "an unbatched connection gets objects: " << m->dump();
    plain_events.push_back(*m);
  }
  ASSERT_EQ(events.size(), plain_events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    ASSERT_EQ(events[i], plain_events[i]) << "event " << i;
  }
  EXPECT_GT(largest, 1u) << "no WebSocket message carried more than one of " << messages.size()
                         << " messages";
  EXPECT_LT(arrays, messages.size());
}

// Paced (batch_interval_ms): the same messages, and while less than a full write waits, at
// most one array per interval. Orders placed one by one over REST spread the events out;
// unpaced, each order's events would go in an array of their own.
TEST_F(stream, a_paced_connection_gets_the_same_messages_at_most_one_array_per_interval) {
  constexpr int kOrders = 120;
  constexpr auto kInterval = 250ms;
  ws_client plain(daemon.port());
  json plain_snapshot;
  subscribe(plain, {"trades", "orderbook_deltas"}, &plain_snapshot);
  ws_client::options o;
  o.target = "/stream?batch=true&batch_interval_ms=250";
  ws_client paced(daemon.port(), o);
  paced.send_json(subscribe_message({"trades", "orderbook_deltas"}));
  std::vector<json> messages;
  const std::optional<json> first = paced.read_json(5s);
  ASSERT_TRUE(first.has_value() && first->is_array()) << paced.close_state().describe();
  messages.insert(messages.end(), first->begin(), first->end());
  if (messages.size() < 2) {  // the snapshot may come in the next array
    const std::optional<json> next = paced.read_json(5s);
    ASSERT_TRUE(next.has_value() && next->is_array());
    messages.insert(messages.end(), next->begin(), next->end());
  }
  ASSERT_EQ(messages.size(), 2u);
  ASSERT_TRUE(is_channel(messages[1], "orderbook_snapshot")) << messages[1].dump();

  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < kOrders; ++i) {
    place(limit_order("pc" + std::to_string(i), i % 2 == 0 ? "client-S" : "client-B",
                      i % 2 == 0 ? "sell" : "buy", i % 4 < 2 ? "100.00" : "99.00", "1"));
  }
  place(limit_order("sentinel", "client-R", "buy", "1.00", "0.01"));
  auto is_sentinel = [](const json& m) {
    return is_channel(m, "orderbook_deltas") && m["data"].value("price", "") == "1.00";
  };
  std::vector<json> events;
  std::size_t arrays = 0;
  while (events.empty() || !is_sentinel(events.back())) {
    const std::optional<json> m = paced.read_json(5s);
    ASSERT_TRUE(m.has_value()) << events.size() << " events, then nothing";
    ASSERT_TRUE(m->is_array() && !m->empty()) << m->dump();
    ++arrays;
    events.insert(events.end(), m->begin(), m->end());
  }
  const auto elapsed = std::chrono::steady_clock::now() - started;
  // Every write of these came after `started` and before now, at least kInterval apart.
  EXPECT_LE(arrays, static_cast<std::size_t>(elapsed / kInterval) + 1)
      << arrays << " arrays in "
      << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() << " ms";

  std::vector<json> plain_events;
  while (plain_events.empty() || !is_sentinel(plain_events.back())) {
    const std::optional<json> m = plain.read_json(5s);
    ASSERT_TRUE(m.has_value()) << plain_events.size() << " events, then nothing";
    plain_events.push_back(*m);
  }
  ASSERT_EQ(events.size(), plain_events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    ASSERT_EQ(events[i], plain_events[i]) << "event " << i;
  }
}

// Pacing never holds a full write back: a burst of several times 64 KiB goes out in arrays
// written one after another, not one a second. Each order brings its answer, its state and a
// book delta (about 1 KB), so a full write collects from some 60 orders.
TEST_F(stream, a_paced_connection_does_not_hold_back_a_full_write) {
  constexpr int kOrders = 600;
  ws_client::options o;
  o.target = "/stream?batch=true&batch_interval_ms=1000";
  ws_client paced(daemon.port(), o);
  paced.send_json(subscribe_message({"orderbook_deltas", "orders"}));
  std::size_t before_orders = 0;  // the answer to subscribe and the snapshot
  while (before_orders < 2) {
    const std::optional<json> m = paced.read_json(5s);
    ASSERT_TRUE(m.has_value() && m->is_array()) << paced.close_state().describe();
    before_orders += m->size();
  }
  for (int i = 0; i < kOrders; ++i) {
    json op = limit_order("fw" + std::to_string(i), "client-F", "buy",
                          std::to_string(10 + i % 50) + ".00", "1");
    op["op"] = "place";
    op["req_id"] = i;
    paced.send_json(op);
  }
  int answered = 0;
  std::size_t bytes = 0;
  std::vector<std::chrono::steady_clock::time_point> arrived;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (answered < kOrders && std::chrono::steady_clock::now() < deadline) {
    const std::optional<std::string> text = paced.read_text(10s);
    ASSERT_TRUE(text.has_value()) << answered << " answers, then nothing";
    arrived.push_back(std::chrono::steady_clock::now());
    bytes += text->size();
    const json m = json::parse(*text);
    ASSERT_TRUE(m.is_array());
    for (const json& item : m) answered += item.value("type", "") == "place" ? 1 : 0;
  }
  ASSERT_EQ(answered, kOrders);
  ASSERT_GT(bytes, 6u * (64u << 10)) << "the burst must be several full writes";
  // Full writes go out one after another: some arrive well within the interval of the last.
  bool back_to_back = false;
  for (std::size_t i = 1; i < arrived.size(); ++i)
    back_to_back |= arrived[i] - arrived[i - 1] < 600ms;
  EXPECT_TRUE(back_to_back) << arrived.size() << " arrays, each at least 600 ms after the last";
}

// batch is true or false; anything else refuses the upgrade.
TEST_F(stream, a_bad_batch_value_refuses_the_upgrade) {
  const http_response r = http.request("GET", "/stream?batch=yes", {},
                                       {{"Connection", "Upgrade"},
                                        {"Upgrade", "websocket"},
                                        {"Sec-WebSocket-Version", "13"},
                                        {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}});
  EXPECT_TRUE(is_error(r, 400, "invalid_parameter")) << r.describe();
  // batch_interval_ms is a whole number of ms from 1 to 1000, and only for batch=true.
  for (const char* query : {"batch=true&batch_interval_ms=0", "batch=true&batch_interval_ms=1001",
                            "batch=true&batch_interval_ms=abc", "batch=true&batch_interval_ms=-5",
                            "batch_interval_ms=100", "batch=false&batch_interval_ms=100"}) {
    const http_response bad = http.request("GET", std::string("/stream?") + query, {},
                                           {{"Connection", "Upgrade"},
                                            {"Upgrade", "websocket"},
                                            {"Sec-WebSocket-Version", "13"},
                                            {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}});
    EXPECT_TRUE(is_error(bad, 400, "invalid_parameter")) << query << ": " << bad.describe();
  }
  ws_client::options o;
  o.target = "/stream?batch=false";
  ws_client unbatched(daemon.port(), o);
  unbatched.send_json(subscribe_message({"trades"}));
  const std::optional<json> ack = unbatched.read_json(5s);
  ASSERT_TRUE(ack.has_value());
  EXPECT_TRUE(ack->is_object() && ack->value("type", "") == "subscribed") << ack->dump();
}

TEST_F(stream, invalid_requests_get_an_error_without_closing) {
  ws_client ws(daemon.port());
  auto expect_error = [&](const std::string& text) {
    SCOPED_TRACE(text);
    ws.send_text(text);
    const std::optional<json> m = ws.read_json(5s);
    ASSERT_TRUE(m.has_value()) << "no answer; " << ws.close_state().describe();
    EXPECT_EQ(m->value("type", ""), "error") << m->dump();
    ASSERT_TRUE(m->contains("error") && (*m)["error"].is_object()) << m->dump();
    EXPECT_TRUE((*m)["error"].contains("code") && (*m)["error"]["code"].is_string()) << m->dump();
  };
  expect_error(R"({"op": "dance"})");
  expect_error("this is not json");
  expect_error(R"({"channels": ["trades"]})");
  EXPECT_FALSE(ws.closed()) << ws.close_state().describe();
  subscribe(ws, {"trades"});
  place(limit_order("a1", "client-A", "sell", "100.00", "1"));
  place(limit_order("b1", "client-B", "buy", "100.00", "1"));
  EXPECT_TRUE(ws.read_until([](const json& j) { return is_channel(j, "trades"); }, 5s));
}

// A subscriber gets exactly the channels and the instrument it asked for, and an
// unsubscribe from one channel leaves the others.
class stream_filters : public ::testing::Test {
 protected:
  // Every message that arrives until the socket has been quiet for `quiet`.
  static std::vector<json> drain(ws_client& ws, std::chrono::milliseconds quiet = 700ms) {
    std::vector<json> out;
    while (const std::optional<json> m = ws.read_json(quiet)) out.push_back(*m);
    return out;
  }
  // Sends a (un)subscription and returns the type of its answer.
  static std::string answer_type(ws_client& ws, const std::string& op, const strings& channels,
                                 const std::string& instrument) {
    const json request = {{"op", op}, {"channels", channels}, {"instrument", instrument}};
    ws.send_json(request);
    const std::optional<json> ack = ws.read_json(5s);
    EXPECT_TRUE(ack.has_value()) << "no answer to " << request.dump();
    return ack ? ack->value("type", "") : "";
  }
  void cross(const std::string& instrument, const std::string& prefix, const std::string& price,
             const std::string& quantity) {
    // Two clients: self-trade prevention keeps one client's orders from trading together.
    for (const char* side : {"sell", "buy"}) {
      const http_response r = http.post_json(
          "/orders", limit_order(prefix + "-" + side, side[0] == 's' ? "client-F" : "client-G",
                                 side, price, quantity, "gtc", instrument));
      ASSERT_EQ(r.status, 201u) << r.describe();
    }
  }

  daemon_process daemon{{"--rate-limit", "0", "--instrument", "BTC-USD:0.01:0.00000001",
                         "--instrument", "ETH-USD:0.1:0.001"}};
  http_client http{daemon.port()};
};

TEST_F(stream_filters, each_subscriber_gets_only_its_channels_and_instrument) {
  ws_client btc_trades(daemon.port());
  EXPECT_EQ(answer_type(btc_trades, "subscribe", {"trades", "orders"}, "BTC-USD"), "subscribed");
  EXPECT_EQ(answer_type(btc_trades, "unsubscribe", {"orders"}, "BTC-USD"), "unsubscribed");
  ws_client eth_book(daemon.port());
  EXPECT_EQ(answer_type(eth_book, "subscribe", {"orders", "orderbook_deltas"}, "ETH-USD"),
            "subscribed");
  const std::optional<json> snapshot = eth_book.read_json(5s);
  ASSERT_TRUE(snapshot && is_channel(*snapshot, "orderbook_snapshot"))
      << (snapshot ? snapshot->dump() : "none");

  cross("ETH-USD", "eth", "3000.0", "0.5");
  cross("BTC-USD", "btc", "100.00", "1");

  const std::vector<json> got_btc = drain(btc_trades);
  ASSERT_EQ(got_btc.size(), 1u) << json(got_btc).dump();
  EXPECT_TRUE(is_channel(got_btc[0], "trades")) << got_btc[0].dump();
  EXPECT_EQ(got_btc[0].value("instrument", ""), "BTC-USD") << got_btc[0].dump();

  const std::vector<json> got_eth = drain(eth_book);
  std::size_t orders = 0;
  std::size_t deltas = 0;
  for (const json& m : got_eth) {
    EXPECT_EQ(m.value("instrument", ""), "ETH-USD") << m.dump();
    if (is_channel(m, "orders")) {
      ++orders;
    } else if (is_channel(m, "orderbook_deltas")) {
      ++deltas;
    } else {
      ADD_FAILURE() << "not subscribed to " << m.dump();
    }
  }
  // The resting sell, then the buy that fills it and the sell's fill; the level appears and
  // goes again.
  EXPECT_EQ(orders, 3u) << json(got_eth).dump();
  EXPECT_EQ(deltas, 2u) << json(got_eth).dump();
}

// --- WebSocket order entry ------------------------------------------------------------

class stream_orders : public stream {
 protected:
  json request(const json& message) {
    ws.send_json(message);
    const std::string type = message.value("op", "");
    const std::string req_id = message.value("req_id", "");
    const std::optional<json> reply = ws.read_until(
        [&](const json& m) {
          return m.is_object() && m.value("type", "") == type && m.value("req_id", "") == req_id;
        },
        5s);
    EXPECT_TRUE(reply.has_value()) << "no reply to " << message.dump();
    return reply.value_or(json());
  }
  static json place_op(const std::string& req_id, json order) {
    order["op"] = "place";
    order["req_id"] = req_id;
    return order;
  }
  static json cancel_op(const std::string& req_id, const std::string& order_id) {
    return {{"op", "cancel"}, {"req_id", req_id}, {"order_id", order_id}};
  }

  ws_client ws{daemon.port()};
};

TEST_F(stream_orders, place_and_cancel_over_the_websocket) {
  const json placed = request(place_op("r1", limit_order("w1", "client-W", "buy", "100.00", "1")));
  EXPECT_EQ(keys_of(placed), (strings{"data", "req_id", "status", "type"})) << placed.dump();
  EXPECT_EQ(placed["status"], 201);
  EXPECT_EQ(keys_of(placed["data"]), (strings{"order", "trades"}));
  EXPECT_TRUE(is_well_formed_order(placed["data"]["order"]));
  EXPECT_EQ(placed["data"]["order"]["order_id"], "w1");
  EXPECT_EQ(placed["data"]["order"]["status"], "open");
  EXPECT_EQ(placed["data"]["trades"], json::array());

  const json crossing =
      request(place_op("r2", limit_order("w2", "client-X", "sell", "100.00", "0.4")));
  EXPECT_EQ(crossing["status"], 201);
  ASSERT_EQ(crossing["data"]["trades"].size(), 1u) << crossing.dump();
  EXPECT_TRUE(is_well_formed_trade(crossing["data"]["trades"][0]));
  EXPECT_EQ(crossing["data"]["trades"][0]["buy_order_id"], "w1");
  EXPECT_EQ(crossing["data"]["order"]["status"], "filled");

  const json cancelled = request(cancel_op("r3", "w1"));
  EXPECT_EQ(keys_of(cancelled), (strings{"data", "req_id", "status", "type"})) << cancelled.dump();
  EXPECT_EQ(cancelled["status"], 200);
  EXPECT_EQ(keys_of(cancelled["data"]), (strings{"order"}));
  EXPECT_EQ(cancelled["data"]["order"]["status"], "cancelled");
  EXPECT_EQ(cancelled["data"]["order"]["filled_quantity"], "0.40000000");

  EXPECT_EQ(http.get(order_path("w1")).json()["order"], cancelled["data"]["order"]);
  EXPECT_EQ(http.get(order_path("w2")).json()["order"], crossing["data"]["order"]);
}

// The amend op takes the PATCH body beside order_id and answers as the REST route would.
TEST_F(stream_orders, amend_over_the_websocket) {
  ASSERT_EQ(request(place_op("a1", limit_order("wa", "client-W", "buy", "100.00", "2")))["status"],
            201);
  json op = {{"op", "amend"},           {"req_id", "a2"},  {"order_id", "wa"},
             {"instrument", "BTC-USD"}, {"quantity", "1"}, {"price", "100.50"}};
  const json amended = request(op);
  EXPECT_EQ(amended["status"], 200) << amended.dump();
  EXPECT_EQ(keys_of(amended["data"]), (strings{"order", "trades"}));
  EXPECT_TRUE(is_well_formed_order(amended["data"]["order"]));
  EXPECT_EQ(amended["data"]["order"]["price"], "100.50");
  EXPECT_EQ(amended["data"]["order"]["quantity"], "1.00000000");
  EXPECT_EQ(http.get(order_path("wa")).json()["order"], amended["data"]["order"]);

  op["req_id"] = "a3";
  op["order_id"] = "nope";
  const json missing = request(op);
  EXPECT_EQ(missing["status"], 404) << missing.dump();
  EXPECT_EQ(missing["error"]["code"], "order_not_found");
}

TEST_F(stream_orders, errors_carry_the_request_id_status_and_code) {
  auto expect_error = [&](const json& message, int status, const std::string& code) {
    SCOPED_TRACE(message.dump());
    const json reply = request(message);
    EXPECT_EQ(reply.value("status", 0), status) << reply.dump();
    ASSERT_TRUE(reply.contains("error") && reply["error"].is_object()) << reply.dump();
    EXPECT_EQ(reply["error"].value("code", ""), code) << reply.dump();
    EXPECT_TRUE(reply["error"].contains("message")) << reply.dump();
  };
  json bad_side = limit_order("e1", "client-W", "hold", "100.00", "1");
  expect_error(place_op("r4", bad_side), 400, "invalid_side");
  expect_error(place_op("r5", limit_order("e2", "client-W", "buy", "1.005", "1")), 400,
               "invalid_price_tick");
  expect_error(cancel_op("r6", "no-such-order"), 404, "order_not_found");
  ASSERT_EQ(request(place_op("r7", limit_order("e3", "client-W", "buy", "100.00", "1")))["status"],
            201);
  expect_error(place_op("r8", limit_order("e3", "client-W", "buy", "100.00", "1")), 409,
               "duplicate_order_id");
  ASSERT_EQ(request(cancel_op("r9", "e3"))["status"], 200);
  expect_error(cancel_op("r10", "e3"), 409, "order_not_open");
  EXPECT_FALSE(ws.closed());
  EXPECT_EQ(http.get(order_path("e1")).status, 404u);
}

// Answers go out many to a socket write; the server's pongs (written by Beast) must come
// between whole frames, never inside a batch, and every answer must arrive intact.
TEST_F(stream_orders, pipelined_answers_and_pongs_arrive_whole) {
  constexpr int kOrders = 400;
  constexpr int kPingEvery = 20;
  for (int i = 0; i < kOrders; ++i) {
    const std::string side = i % 2 == 0 ? "buy" : "sell";
    const std::string price = i % 2 == 0 ? "99.00" : "101.00";
    ws.send_json(place_op("p" + std::to_string(i),
                          limit_order("pp" + std::to_string(i), "client-P", side, price, "1")));
    if (i % kPingEvery == kPingEvery - 1) ws.send_ping();
  }
  std::set<std::string> answered;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (answered.size() < kOrders && std::chrono::steady_clock::now() < deadline) {
    const std::optional<json> m = ws.read_json(5s);
    ASSERT_TRUE(m.has_value()) << "after " << answered.size()
                               << " answers: " << ws.close_state().describe();
    ASSERT_TRUE(m->is_object()) << "a frame that is not a JSON object";
    if (m->value("type", "") != "place") continue;
    EXPECT_EQ(m->value("status", 0), 201) << m->dump();
    EXPECT_TRUE(answered.insert(m->value("req_id", "")).second) << "answered twice: " << m->dump();
  }
  EXPECT_EQ(answered.size(), static_cast<std::size_t>(kOrders));
  ws.pump(500ms, [&] { return ws.pongs_received() == kOrders / kPingEvery; });
  EXPECT_EQ(ws.pongs_received(), static_cast<std::size_t>(kOrders / kPingEvery));
  EXPECT_FALSE(ws.closed()) << ws.close_state().describe();
}

// The envelope (op and req_id) is checked before the order: what is wrong with it is
// answered as type "error" (or the op's type once op is known), with req_id echoed as sent
// whenever it could be read, and the connection stays open.
TEST_F(stream_orders, envelope_errors_echo_what_they_can_and_keep_the_connection) {
  auto reply_to = [&](std::string_view text) {
    ws.send_text(text);
    const std::optional<json> reply = ws.read_json(5s);
    EXPECT_TRUE(reply.has_value()) << "no reply to " << text;
    return reply.value_or(json::object());
  };
  auto expect = [&](std::string_view text, const std::string& type, const json& req_id, int status,
                    const std::string& code) {
    SCOPED_TRACE(std::string(text));
    const json r = reply_to(text);
    EXPECT_EQ(r.value("type", ""), type) << r.dump();
    EXPECT_EQ(r.contains("req_id") ? r["req_id"] : json("<absent>"), req_id) << r.dump();
    EXPECT_EQ(r.value("status", 0), status) << r.dump();
    ASSERT_TRUE(r.contains("error") && r["error"].is_object()) << r.dump();
    EXPECT_EQ(r["error"].value("code", ""), code) << r.dump();
  };
  expect("this is not json", "error", nullptr, 400, "malformed_json");
  expect(R"([{"op":"place"}])", "error", nullptr, 400, "malformed_json");
  expect(R"({"op":"place","req_id":"r1"} trailing)", "error", nullptr, 400, "malformed_json");
  expect(R"({"op":"place","req_id":{"n":1}})", "error", nullptr, 400, "invalid_field_type");
  expect(R"({"op":"place","req_id":1.5})", "error", nullptr, 400, "invalid_field_type");
  expect(R"({"op":"place","req_id":")" + std::string(200, 'x') + R"("})", "error", nullptr, 400,
         "invalid_parameter");
  expect(R"({"req_id":"r2","client_id":"c"})", "error", "r2", 400, "missing_field");
  expect(R"({"op":7,"req_id":"r3"})", "error", "r3", 400, "missing_field");
  expect(R"({"op":"dance","req_id":"r4"})", "error", "r4", 400, "invalid_parameter");
  // Past the envelope, the op's own checks answer with its type.
  expect(R"({"op":"place","req_id":"r5","side":"buy"})", "place", "r5", 400, "missing_field");
  expect(R"({"op":"cancel","req_id":6})", "cancel", 6, 400, "missing_field");

  // req_id comes back as it was sent: an integer as that integer, a string with escapes as
  // that string; nested fields do not count as the envelope's.
  json order = limit_order("env-1", "client-E", "buy", "100.00", "1");
  order["op"] = "place";
  order["req_id"] = 42;
  order["meta"] = {{"op", "cancel"}, {"req_id", "inner"}};
  const json placed = reply_to(order.dump());
  EXPECT_EQ(placed.value("type", ""), "place") << placed.dump();
  EXPECT_EQ(placed["req_id"], 42) << placed.dump();
  EXPECT_EQ(placed.value("status", 0), 201) << placed.dump();
  const json quoted = reply_to(R"({"req_id":"a\"b\\c\u00e9","op":"cancel","order_id":"env-1"})");
  EXPECT_EQ(quoted.value("type", ""), "cancel") << quoted.dump();
  EXPECT_EQ(quoted["req_id"], "a\"b\\c\u00e9") << quoted.dump();
  EXPECT_EQ(quoted.value("status", 0), 200) << quoted.dump();
  EXPECT_FALSE(ws.closed()) << ws.close_state().describe();
}

// --- Server-Sent Events ---------------------------------------------------------------

// SSE carries the candles and ticker channels as WebSocket does: a trade shows in the ticker,
// and its 1 s bucket is sent closed once complete, with the trade in it.
TEST_F(stream, sse_candles_and_ticker_carry_the_trades_and_close_the_bucket) {
  sse_client sse(daemon.port(),
                 "/stream/sse?channels=candles,ticker&interval=1s&instrument=BTC-USD");
  ASSERT_EQ(sse.status(), 200u) << sse.body();
  place(limit_order("c1", "client-M", "sell", "100.00", "1"));
  place(limit_order("c2", "client-T", "buy", "100.00", "0.4", "ioc"));
  std::optional<json> ticker;
  std::optional<json> closed;
  for (int i = 0; i < 100 && !(ticker && closed); ++i) {
    const std::optional<sse_client::event> e = sse.next(5s);
    ASSERT_TRUE(e.has_value()) << "the stream ended or went quiet";
    if (e->event.empty()) continue;  // the subscription comment
    const json data = json::parse(e->data);
    if (e->event == "ticker" && data.value("trades", 0) >= 1) ticker = data;
    if (e->event == "candles" && data.value("closed", false)) closed = data;
  }
  ASSERT_TRUE(ticker.has_value()) << "no ticker with the trade";
  EXPECT_EQ(ticker->value("last_price", ""), "100.00") << ticker->dump();
  EXPECT_EQ(ticker->value("volume", ""), "0.40000000") << ticker->dump();
  ASSERT_TRUE(closed.has_value()) << "the trade's second was not sent closed";
  EXPECT_EQ(closed->value("interval", ""), "1s") << closed->dump();
  EXPECT_EQ(closed->value("trades", 0), 1) << closed->dump();
  EXPECT_EQ(closed->value("close", ""), "100.00") << closed->dump();
  EXPECT_EQ(closed->value("volume", ""), "0.40000000") << closed->dump();
}

// SSE carries the book channel as WebSocket does: the snapshot first (the GET /orderbook
// shape), then deltas with increasing ids that rebuild the book.
TEST_F(stream, sse_book_channel_starts_with_the_snapshot_then_deltas) {
  place(limit_order("r1", "client-S", "buy", "100.00", "1"));
  sse_client sse(daemon.port(), "/stream/sse?channels=orderbook_deltas&instrument=BTC-USD");
  ASSERT_EQ(sse.status(), 200u) << sse.body();
  auto data_of = [](const sse_client::event& e) {
    json j = json::parse(e.data, nullptr, false);
    return j.is_object() && j.contains("channel") && j.contains("data") ? j["data"] : j;
  };

  const std::optional<sse_client::event> first = sse.next(5s);
  ASSERT_TRUE(first.has_value()) << "no snapshot";
  EXPECT_EQ(first->event, "orderbook_snapshot");
  const json snapshot = data_of(*first);
  const json book = http.get(orderbook_path()).json();
  EXPECT_EQ(snapshot.value("bids", json()), book["bids"]) << first->data;
  EXPECT_EQ(snapshot.value("asks", json()), book["asks"]) << first->data;
  EXPECT_EQ(first->id, std::to_string(book["sequence"].get<long long>()));

  const json placed = place(limit_order("r2", "client-S", "buy", "99.00", "2"));
  std::optional<sse_client::event> delta;
  for (int i = 0; i < 10 && !delta; ++i) {
    std::optional<sse_client::event> e = sse.next(500ms);
    if (e) {
      EXPECT_EQ(e->event, "orderbook_deltas") << e->data;
      delta = e;
    }
  }
  ASSERT_TRUE(delta.has_value()) << "no delta for the new level";
  // Each event has its own number, after the command's order state.
  EXPECT_GT(std::stoll(delta->id), placed["order"]["sequence"].get<long long>()) << delta->id;
  EXPECT_GT(std::stoll(delta->id), std::stoll(first->id));
  const json d = data_of(*delta);
  EXPECT_EQ(d.value("side", ""), "buy") << delta->data;
  EXPECT_EQ(d.value("price", ""), "99.00") << delta->data;
  EXPECT_EQ(decimal_units(d.value("quantity", json()), 8), 200000000) << delta->data;
  EXPECT_EQ(d.value("orders", 0), 1) << delta->data;
}

// The first frame of an SSE stream is the comment ": subscribed sequence=N", N the sequence
// published when the subscription took effect: GET /orderbook's, here that of the last
// acknowledged order. The snapshot that follows is at N, and the events after it go on from
// N + 1, none missing.
TEST_F(stream, sse_stream_starts_with_a_comment_naming_the_published_sequence) {
  place(limit_order("s1", "client-S", "sell", "101.00", "1"));
  place(limit_order("b1", "client-B", "buy", "101.00", "0.4"));
  // Crossing nothing and not resting, its own state is its only event: the sequence it
  // carries is the last one published.
  const json last = place(limit_order("b2", "client-B", "buy", "100.00", "1", "ioc"));
  ASSERT_EQ(last["order"].value("status", ""), "cancelled") << last.dump();
  const long long n = last["order"]["sequence"].get<long long>();
  ASSERT_EQ(http.get(orderbook_path()).json().value("sequence", 0LL), n);

  sse_client::options with_comments;
  with_comments.comments = true;
  sse_client sse(daemon.port(), "/stream/sse?instrument=BTC-USD", with_comments);
  ASSERT_EQ(sse.status(), 200u) << sse.body();
  // Keep-alive comments (every 15 s) may come in between; nothing else may.
  const auto next = [&sse] {
    std::optional<sse_client::event> e = sse.next(5s);
    while (e && e->event.empty() && e->comment == "keepalive") e = sse.next(5s);
    return e;
  };

  const std::optional<sse_client::event> first = sse.next(5s);
  ASSERT_TRUE(first.has_value()) << "nothing after the response header";
  EXPECT_EQ(first->event, "") << "the first frame is an event, id " << first->id;
  EXPECT_EQ(first->comment, "subscribed sequence=" + std::to_string(n));
  const std::optional<sse_client::event> snapshot = next();
  ASSERT_TRUE(snapshot.has_value()) << "no snapshot";
  EXPECT_EQ(snapshot->event, "orderbook_snapshot");
  EXPECT_EQ(snapshot->id, std::to_string(n));

  // A resting order: its state, then its level's delta.
  const json placed = place(limit_order("s2", "client-S", "sell", "102.00", "1"));
  EXPECT_EQ(placed["order"].value("sequence", 0LL), n + 1);
  const std::optional<sse_client::event> state = next();
  ASSERT_TRUE(state.has_value()) << "no event for s2";
  EXPECT_EQ(state->event, "orders") << state->data;
  EXPECT_EQ(state->id, std::to_string(n + 1)) << state->data;
  EXPECT_EQ(json::parse(state->data, nullptr, false), placed["order"]);
  const std::optional<sse_client::event> delta = next();
  ASSERT_TRUE(delta.has_value()) << "no delta for s2";
  EXPECT_EQ(delta->event, "orderbook_deltas") << delta->data;
  EXPECT_EQ(delta->id, std::to_string(n + 2)) << delta->data;
}

TEST_F(stream, sse_streams_trades_and_orders) {
  sse_client::options with_comments;
  with_comments.comments = true;
  sse_client sse(daemon.port(), "/stream/sse?channels=trades,orders&instrument=BTC-USD",
                 with_comments);
  ASSERT_EQ(sse.status(), 200u) << sse.body();
  EXPECT_EQ(sse.header("Content-Type").rfind("text/event-stream", 0), 0u)
      << "Content-Type: " << sse.header("Content-Type");

  // The subscription is in effect once its first frame, ": subscribed sequence=N", came.
  const std::optional<sse_client::event> subscribed = sse.next(5s);
  ASSERT_TRUE(subscribed.has_value()) << "nothing after the response header";
  ASSERT_EQ(subscribed->comment.rfind("subscribed sequence=", 0), 0u)
      << "first frame: event \"" << subscribed->event << "\" comment \"" << subscribed->comment
      << "\"";
  place(limit_order("s1", "client-S", "sell", "100.00", "1"));
  const json body = place(limit_order("b1", "client-B", "buy", "100.00", "1"));
  ASSERT_EQ(body["trades"].size(), 1u);
  const json trade = body["trades"][0];

  // `data` holds the event's data; accept the full {channel, ..., data} envelope as well.
  auto payload = [](const std::string& data) {
    json j = json::parse(data, nullptr, false);
    if (j.is_object() && j.contains("channel") && j.contains("data")) return j["data"];
    return j;
  };
  std::optional<sse_client::event> trade_event;
  std::vector<json> order_events;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline && (!trade_event || order_events.size() < 3)) {
    std::optional<sse_client::event> e = sse.next(500ms);
    if (!e) {
      if (sse.ended()) break;
      continue;
    }
    if (e->event.empty()) continue;  // a keep-alive comment
    if (e->event == "trades") trade_event = e;
    if (e->event == "orders") order_events.push_back(payload(e->data));
    EXPECT_TRUE(e->event == "trades" || e->event == "orders") << "event: " << e->event;
  }
  ASSERT_TRUE(trade_event.has_value()) << "no trades event";
  EXPECT_EQ(trade_event->id, std::to_string(trade["sequence"].get<long long>()));
  EXPECT_EQ(payload(trade_event->data), trade) << trade_event->data;
  bool taker_seen = false;
  for (const json& o : order_events) {
    if (o == body["order"]) taker_seen = true;
  }
  EXPECT_TRUE(taker_seen) << "the taker's final state was not streamed; got "
                          << nlohmann::json(order_events).dump();
}

}  // namespace
}  // namespace matchd::e2e
