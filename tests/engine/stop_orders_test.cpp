// Stop orders (docs/api.md, "Stop orders"): a stop waits outside the book until the last
// trade price reaches it, then runs as its type says within the command whose trade
// reached it, in trigger order; it is refused when already reached, and recovered as it was.

#include <gtest/gtest.h>
#include <matchd/engine/matching_engine.h>

#include <algorithm>
#include <string>
#include <vector>

#include "builders.h"

namespace matchd::engine {
namespace {

using namespace test_support;

constexpr instrument_id kBtc = 0;

place_order stop_market(std::string_view id, side s, price_ticks stop, quantity_lots q) {
  place_order cmd = market(id, s, q);
  cmd.stop_price = stop;
  return cmd;
}

place_order stop_limit(std::string_view id, side s, price_ticks stop, price_ticks price,
                       quantity_lots q, time_in_force tif = time_in_force::gtc) {
  place_order cmd = limit(id, s, price, q, tif);
  cmd.stop_price = stop;
  return cmd;
}

engine_options small_options() {
  engine_options options;
  options.expected_orders_per_book = 64;
  return options;
}

class stop_orders : public ::testing::Test {
 protected:
  command_result place(place_order cmd) {
    cmd.received_at = now += 1000;
    out.clear();
    return engine.place(cmd, out);
  }
  void given(place_order cmd) { ASSERT_TRUE(place(cmd).ok()) << "setup order " << cmd.id.view(); }
  // A trade at `price`: a resting sell and a buy that takes it, of two other clients.
  void trade_at(std::string_view tag, price_ticks price) {
    given(sell_limit(std::string(tag) + "-s", price, qty("0.1")));
    given(buy_limit(std::string(tag) + "-b", price, qty("0.1")));
  }
  static std::vector<std::string> ids_of(const std::vector<order>& orders) {
    std::vector<std::string> ids;
    for (const order& o : orders) ids.emplace_back(o.id.view());
    return ids;
  }
  const order& last_state_of(std::string_view id) const {
    const order* found = nullptr;
    for (const event& e : out) {
      if (const auto* o = std::get_if<order>(&e); o != nullptr && o->id.view() == id) found = o;
    }
    EXPECT_NE(found, nullptr) << id;
    return *found;
  }

  void TearDown() override { EXPECT_EQ(engine.check_invariants(), ""); }

  matching_engine engine{{instrument::btc_usd()}, small_options()};
  event_buffer out;
  timestamp_us now = 1'700'000'000'000'000;
};

TEST_F(stop_orders, a_stop_waits_outside_the_book_open_and_not_triggered) {
  trade_at("t1", px("100.00"));
  ASSERT_TRUE(place(stop_market("s1", side::buy, px("105.00"), qty("1"))).ok());
  const split_events e = split(out);
  ASSERT_EQ(e.orders.size(), 1u);
  EXPECT_EQ(e.orders[0].status, order_status::open);
  EXPECT_FALSE(e.orders[0].triggered);
  EXPECT_EQ(e.orders[0].stop_price, px("105.00"));
  EXPECT_TRUE(e.deltas.empty()) << "a waiting stop is not in the book";
  EXPECT_EQ(engine.book(kBtc).level_count(side::buy), 0u);
  EXPECT_EQ(engine.book(kBtc).stop_count(), 1u);
  EXPECT_EQ(engine.presence("s1"), order_presence::resting);
}

TEST_F(stop_orders, a_stop_already_reached_is_rejected_would_trigger) {
  trade_at("t1", px("100.00"));
  for (const place_order& cmd :
       {stop_market("b-at", side::buy, px("100.00"), qty("1")),
        stop_market("b-below", side::buy, px("99.00"), qty("1")),
        stop_limit("s-at", side::sell, px("100.00"), px("99.00"), qty("1")),
        stop_limit("s-above", side::sell, px("101.00"), px("99.00"), qty("1"))}) {
    ASSERT_TRUE(place(cmd).ok());
    const order& o = last_state_of(cmd.id.view());
    EXPECT_EQ(o.status, order_status::rejected) << cmd.id.view();
    EXPECT_EQ(o.reason, end_reason::would_trigger) << cmd.id.view();
  }
  EXPECT_EQ(engine.book(kBtc).stop_count(), 0u);
}

TEST_F(stop_orders, without_a_trade_nothing_is_reached) {
  given(stop_market("s1", side::buy, px("1.00"), qty("1")));
  given(stop_market("s2", side::sell, px("1000.00"), qty("1")));
  EXPECT_EQ(engine.book(kBtc).stop_count(), 2u);
}

// The trade that reaches a stop runs it in the same command, after the command's own
// events: the stop's trades, the makers' states, its state (triggered), its deltas.
TEST_F(stop_orders, the_trade_that_reaches_a_buy_stop_runs_it_in_the_same_command) {
  trade_at("t1", px("100.00"));
  given(stop_market("stop", side::buy, px("101.00"), qty("1")));
  given(sell_limit("ask1", px("101.00"), qty("0.5")));
  given(sell_limit("ask2", px("102.00"), qty("2")));
  const sequence_number before = engine.last_sequence();

  const command_result r = place(buy_limit("taker", px("101.00"), qty("0.5")));

  ASSERT_TRUE(r.ok());
  const split_events e = split(out);
  ASSERT_EQ(e.trades.size(), 2u);
  EXPECT_EQ(e.trades[0].buy_order_id.view(), "taker");
  EXPECT_EQ(e.trades[1].buy_order_id.view(), "stop");
  EXPECT_EQ(e.trades[1].price, px("102.00"));
  EXPECT_EQ(e.trades[1].quantity, qty("1"));
  const order& stop = last_state_of("stop");
  EXPECT_TRUE(stop.triggered);
  EXPECT_EQ(stop.status, order_status::filled);
  EXPECT_EQ(stop.type, order_type::market);
  EXPECT_EQ(stop.stop_price, px("101.00"));
  EXPECT_GT(stop.created_sequence, last_state_of("taker").sequence) << "priority from the trigger";
  // Every event the next number; the result the last.
  sequence_number expected = before;
  for (const event& ev : out) {
    EXPECT_EQ(std::visit([](const auto& v) { return v.sequence; }, ev), ++expected);
  }
  EXPECT_EQ(r.sequence, expected);
  EXPECT_EQ(engine.presence("stop"), order_presence::finished);
  EXPECT_EQ(engine.book(kBtc).stop_count(), 0u);
}

// A stop_limit that triggers and does not fill rests at its price behind every order
// resting there before the trigger, and amends and cancels like any resting order.
TEST_F(stop_orders, a_triggered_stop_limit_rests_with_priority_from_its_trigger) {
  trade_at("t1", px("100.00"));
  given(stop_limit("stop", side::sell, px("99.00"), px("101.00"), qty("1")));
  given(sell_limit("early", px("101.00"), qty("1")));
  given(buy_limit("bid", px("99.00"), qty("0.1")));
  ASSERT_TRUE(place(sell_limit("hit", px("99.00"), qty("0.1"))).ok());  // trades at 99.00
  EXPECT_TRUE(last_state_of("stop").triggered);
  EXPECT_EQ(last_state_of("stop").status, order_status::open);
  EXPECT_EQ(queue_of(engine.book(kBtc), side::sell), (std::vector<std::string>{"early", "stop"}));

  out.clear();
  amend_order amend = amend_of("stop", px("100.50"), quantity_lots{});
  amend.received_at = now += 1000;
  ASSERT_TRUE(engine.amend(amend, out).ok());
  EXPECT_EQ(queue_of(engine.book(kBtc), side::sell), (std::vector<std::string>{"stop", "early"}));
  out.clear();
  ASSERT_TRUE(engine.cancel(cancel_of("stop"), out).ok());
}

// One sweep through several stops: buy stops lowest first, and on the same stop price the
// one placed first; each runs only once the one before it has finished.
TEST_F(stop_orders, stops_reached_together_trigger_in_stop_then_placement_order) {
  trade_at("t1", px("100.00"));
  given(stop_limit("s103", side::buy, px("103.00"), px("90.00"), qty("1")));
  given(stop_limit("s101-a", side::buy, px("101.00"), px("90.00"), qty("1")));
  given(stop_limit("s102", side::buy, px("102.00"), px("90.00"), qty("1")));
  given(stop_limit("s101-b", side::buy, px("101.00"), px("90.00"), qty("1")));
  given(stop_limit("s104", side::buy, px("104.00"), px("90.00"), qty("1")));
  given(sell_limit("ask", px("103.00"), qty("1")));

  ASSERT_TRUE(place(buy_limit("sweep", px("103.00"), qty("1"))).ok());

  std::vector<std::string> triggered;
  for (const order& o : split(out).orders) {
    if (o.triggered) triggered.emplace_back(o.id.view());
  }
  EXPECT_EQ(triggered, (std::vector<std::string>{"s101-a", "s101-b", "s102", "s103"}));
  EXPECT_EQ(queue_of(engine.book(kBtc), side::buy),
            (std::vector<std::string>{"s101-a", "s101-b", "s102", "s103"}));
  EXPECT_EQ(engine.book(kBtc).stop_count(), 1u);  // s104 still waits
}

// A triggered stop's own trades may reach further stops: all run in the one command.
TEST_F(stop_orders, a_cascade_runs_within_the_command_that_started_it) {
  trade_at("t1", px("100.00"));
  given(stop_market("first", side::sell, px("99.00"), qty("1")));
  given(stop_market("second", side::sell, px("97.00"), qty("1")));
  given(buy_limit("bid99", px("99.00"), qty("0.1")));
  given(buy_limit("bid97", px("97.00"), qty("1")));
  given(buy_limit("bid95", px("95.00"), qty("5")));

  ASSERT_TRUE(place(sell_limit("hit", px("99.00"), qty("0.1"))).ok());

  EXPECT_EQ(last_state_of("first").status, order_status::filled);
  EXPECT_EQ(last_state_of("second").status, order_status::filled);
  const split_events e = split(out);
  ASSERT_EQ(e.trades.size(), 3u);
  EXPECT_EQ(e.trades[1].sell_order_id.view(), "first");
  EXPECT_EQ(e.trades[1].price, px("97.00"));
  EXPECT_EQ(e.trades[2].sell_order_id.view(), "second");
  EXPECT_EQ(e.trades[2].price, px("95.00"));
  EXPECT_EQ(engine.book(kBtc).last_trade_price(), px("95.00"));
}

TEST_F(stop_orders, a_waiting_stop_cancels_without_a_delta_and_goes_with_a_mass_cancel) {
  given(of_client(stop_market("s1", side::buy, px("105.00"), qty("1")), "alice"));
  given(of_client(stop_limit("s2", side::sell, px("95.00"), px("94.00"), qty("1")), "alice"));
  given(of_client(buy_limit("b1", px("90.00"), qty("1")), "alice"));
  out.clear();
  ASSERT_TRUE(engine.cancel(cancel_of("s1"), out).ok());
  split_events e = split(out);
  ASSERT_EQ(e.orders.size(), 1u);
  EXPECT_EQ(e.orders[0].status, order_status::cancelled);
  EXPECT_TRUE(e.deltas.empty());

  cancel_all_orders all;
  all.client = client_id::from("alice");
  out.clear();
  ASSERT_TRUE(engine.cancel_all(all, out).ok());
  e = split(out);
  EXPECT_EQ(ids_of(e.orders), (std::vector<std::string>{"s2", "b1"}));
  EXPECT_EQ(e.deltas.size(), 1u);
  EXPECT_EQ(engine.book(kBtc).order_count(), 0u);
}

TEST_F(stop_orders, a_waiting_stop_cannot_be_amended) {
  given(stop_limit("s1", side::buy, px("105.00"), px("106.00"), qty("1")));
  out.clear();
  EXPECT_EQ(engine.amend(amend_of("s1", px("107.00"), quantity_lots{}), out).error,
            errc::stop_not_triggered);
  EXPECT_TRUE(out.empty());
}

TEST_F(stop_orders, waiting_stops_count_against_the_books_capacity) {
  engine_options options = small_options();
  options.max_open_orders_per_book = 2;
  matching_engine small({instrument::btc_usd()}, options);
  ASSERT_TRUE(small.place(stop_market("s1", side::buy, px("105.00"), qty("1")), out).ok());
  ASSERT_TRUE(small.place(stop_market("s2", side::buy, px("106.00"), qty("1")), out).ok());
  EXPECT_EQ(small.place(stop_market("s3", side::buy, px("107.00"), qty("1")), out).error,
            errc::book_full);
}

// With a band, a stop_limit that triggers beyond the band around the price of its trigger
// ends cancelled (it was accepted when placed); a stop_market runs with the band's limits.
TEST_F(stop_orders, a_triggered_stop_meets_the_band_of_its_trigger) {
  instrument banded = instrument::btc_usd();
  banded.band_bps = 500;  // 5%
  matching_engine venue({banded}, small_options());
  auto run = [&](place_order cmd) {
    cmd.received_at = now += 1000;
    out.clear();
    return venue.place(cmd, out);
  };
  ASSERT_TRUE(run(sell_limit("s0", px("100.00"), qty("0.1"))).ok());
  ASSERT_TRUE(run(buy_limit("b0", px("100.00"), qty("0.1"))).ok());  // last trade 100.00
  // Placed beyond the band: a stop meets it only when it triggers.
  ASSERT_TRUE(run(stop_limit("far", side::buy, px("100.50"), px("106.00"), qty("1"))).ok());
  ASSERT_TRUE(run(stop_market("mkt", side::buy, px("100.50"), qty("5"))).ok());
  ASSERT_TRUE(run(sell_limit("a1", px("100.50"), qty("0.1"))).ok());
  ASSERT_TRUE(run(sell_limit("a2", px("104.00"), qty("1"))).ok());
  ASSERT_TRUE(run(buy_limit("lift", px("100.50"), qty("0.1"))).ok());
  const order& far = last_state_of("far");  // 106.00 is beyond 5% of 100.50
  EXPECT_EQ(far.status, order_status::cancelled);
  EXPECT_EQ(far.reason, end_reason::price_band);
  EXPECT_TRUE(far.triggered);
  const order& mkt = last_state_of("mkt");
  EXPECT_EQ(mkt.status, order_status::cancelled);
  EXPECT_EQ(mkt.filled, qty("1"));
  EXPECT_EQ(venue.check_invariants(), "");
}

// Recovery puts a waiting stop back waiting, and a triggered one that rests back in its
// level: the next trade triggers exactly what it would have.
TEST_F(stop_orders, recovery_restores_waiting_and_triggered_stops_as_they_were) {
  trade_at("t1", px("100.00"));
  given(stop_limit("waits", side::buy, px("102.00"), px("90.00"), qty("1")));
  given(stop_limit("rested", side::sell, px("99.00"), px("98.00"), qty("1")));
  given(buy_limit("bid", px("99.00"), qty("0.1")));
  given(sell_limit("hit", px("99.00"), qty("0.1")));  // triggers "rested"

  matching_engine restored({instrument::btc_usd()}, small_options());
  std::vector<order> resting;
  for (const side s : {side::buy, side::sell}) {
    engine.book(kBtc).for_each_order(s, [&](const order& o) { resting.push_back(o); });
  }
  engine.book(kBtc).for_each_stop([&](const order& o) { resting.push_back(o); });
  std::sort(resting.begin(), resting.end(),
            [](const order& a, const order& b) { return a.created_sequence < b.created_sequence; });
  for (const order& o : resting) ASSERT_EQ(restored.restore_resting(o), errc::ok);
  restored.restore_last_trade(kBtc, px("99.00"));
  restored.restore_counters(engine.last_sequence(), 2);
  EXPECT_EQ(restored.check_invariants(), "");
  EXPECT_EQ(restored.book(kBtc).stop_count(), 1u);
  EXPECT_EQ(queue_of(restored.book(kBtc), side::sell), (std::vector<std::string>{"rested"}));

  for (matching_engine* e : {&engine, &restored}) {
    event_buffer events;
    place_order ask = sell_limit("ask", px("102.00"), qty("0.1"));
    place_order lift = buy_limit("lift", px("102.00"), qty("1.1"));  // 98.00, then 102.00
    ask.received_at = lift.received_at = now + 5000;
    ASSERT_TRUE(e->place(ask, events).ok());
    events.clear();
    ASSERT_TRUE(e->place(lift, events).ok());
    out = events;
    EXPECT_TRUE(last_state_of("waits").triggered);
    EXPECT_EQ(e->book(kBtc).stop_count(), 0u);
  }
}

}  // namespace
}  // namespace matchd::engine
