// The matching rules of docs/api.md ("Orders"), one rule per test, on a single BTC-USD book.

#include <gtest/gtest.h>
#include <matchd/engine/matching_engine.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "builders.h"

namespace matchd::engine {
namespace {

using namespace test_support;

constexpr instrument_id kBtc = 0;

engine_options small_options() {
  engine_options options;
  options.expected_orders_per_book = 64;
  return options;
}

class matching : public ::testing::Test {
 protected:
  // Runs one command with the next timestamp; `out` then holds only its events.
  command_result place(place_order cmd) {
    cmd.received_at = next_time();
    out.clear();
    return engine.place(cmd, out);
  }
  command_result cancel(cancel_order cmd) {
    cmd.received_at = next_time();
    out.clear();
    return engine.cancel(cmd, out);
  }
  // Places a command that must succeed, for scenario setup.
  void given(const place_order& cmd) {
    const command_result r = place(cmd);
    ASSERT_TRUE(r.ok()) << "setup order " << cmd.id.view() << " failed";
  }

  timestamp_us next_time() { return now += 1000; }

  split_events events() const { return split(out); }
  std::vector<trade> trades() const { return split(out).trades; }
  std::vector<level_delta> deltas() const { return split(out).deltas; }
  // The last state emitted for `id` by the last command.
  order state_of(std::string_view id) const {
    const std::vector<order> orders = split(out).orders;
    for (auto it = orders.rbegin(); it != orders.rend(); ++it) {
      if (it->id.view() == id) return *it;
    }
    ADD_FAILURE() << "no state emitted for " << id;
    return {};
  }
  // The taker's state is the last order event of a place command.
  order taker() const {
    const std::vector<order> orders = split(out).orders;
    if (orders.empty()) {
      ADD_FAILURE() << "no order event";
      return {};
    }
    return orders.back();
  }

  const order_book& book() const { return engine.book(kBtc); }
  std::vector<level_snapshot> bids() const { return levels_of(book(), side::buy); }
  std::vector<level_snapshot> asks() const { return levels_of(book(), side::sell); }

  void TearDown() override { EXPECT_EQ(engine.check_invariants(), ""); }

  matching_engine engine{{instrument::btc_usd()}, small_options()};
  event_buffer out;
  timestamp_us now = 1'700'000'000'000'000;
};

level_snapshot level(std::string_view price, std::string_view quantity, std::uint32_t orders) {
  return {px(price).value, qty(quantity).value, orders};
}

sequence_number sequence_of(const event& e) {
  return std::visit([](const auto& v) { return v.sequence; }, e);
}

std::vector<sequence_number> sequences_of(const event_buffer& events) {
  std::vector<sequence_number> numbers;
  for (const event& e : events) numbers.push_back(sequence_of(e));
  return numbers;
}

// --- price and time priority ---------------------------------------------------------

TEST_F(matching, best_bid_is_the_highest_and_best_ask_the_lowest) {
  given(buy_limit("b1", px("99.00"), qty("1")));
  given(buy_limit("b2", px("100.00"), qty("2")));
  given(buy_limit("b3", px("98.00"), qty("3")));
  given(sell_limit("s1", px("101.00"), qty("1")));
  given(sell_limit("s2", px("103.00"), qty("2")));
  given(sell_limit("s3", px("102.00"), qty("3")));

  EXPECT_EQ(book().best_bid(), px("100.00"));
  EXPECT_EQ(book().best_ask(), px("101.00"));
  EXPECT_EQ(bids(),
            (std::vector{level("100.00", "2", 1), level("99.00", "1", 1), level("98.00", "3", 1)}));
  EXPECT_EQ(asks(), (std::vector{level("101.00", "1", 1), level("102.00", "3", 1),
                                 level("103.00", "2", 1)}));
  EXPECT_EQ(book().level_count(side::buy), 3u);
  EXPECT_EQ(book().total_quantity(side::sell), qty("6"));
}

TEST_F(matching, empty_book_has_no_best_prices) {
  EXPECT_FALSE(book().best_bid().has_value());
  EXPECT_FALSE(book().best_ask().has_value());
  EXPECT_EQ(book().order_count(), 0u);
}

TEST_F(matching, for_each_level_stops_after_max_levels) {
  given(sell_limit("s1", px("101.00"), qty("1")));
  given(sell_limit("s2", px("102.00"), qty("1")));
  given(sell_limit("s3", px("103.00"), qty("1")));
  std::vector<price_ticks> seen;
  book().for_each_level(side::sell, 2, [&](const order_book::level_view& l) {
    seen.push_back(l.price);
    return true;
  });
  EXPECT_EQ(seen, (std::vector{px("101.00"), px("102.00")}));
}

TEST_F(matching, better_price_matches_first_regardless_of_arrival) {
  given(sell_limit("early_worse", px("101.00"), qty("1")));
  given(sell_limit("late_better", px("100.00"), qty("1")));

  ASSERT_TRUE(place(buy_limit("taker", px("101.00"), qty("1"))).ok());

  ASSERT_EQ(trades().size(), 1u);
  EXPECT_EQ(trades()[0].sell_order_id.view(), "late_better");
  EXPECT_EQ(trades()[0].price, px("100.00"));
  EXPECT_EQ(queue_of(book(), side::sell), std::vector<std::string>{"early_worse"});
}

TEST_F(matching, highest_bid_matches_first_for_an_incoming_sell) {
  given(buy_limit("b_low", px("99.00"), qty("1")));
  given(buy_limit("b_high", px("100.00"), qty("1")));

  ASSERT_TRUE(place(market("taker", side::sell, qty("1"))).ok());

  ASSERT_EQ(trades().size(), 1u);
  EXPECT_EQ(trades()[0].buy_order_id.view(), "b_high");
  EXPECT_EQ(trades()[0].price, px("100.00"));
}

TEST_F(matching, orders_at_one_price_fill_first_in_first_out) {
  given(sell_limit("a", px("100.00"), qty("1")));
  given(sell_limit("b", px("100.00"), qty("1")));
  given(sell_limit("c", px("100.00"), qty("1")));

  ASSERT_TRUE(place(buy_limit("taker", px("100.00"), qty("2"))).ok());

  ASSERT_EQ(trades().size(), 2u);
  EXPECT_EQ(trades()[0].sell_order_id.view(), "a");
  EXPECT_EQ(trades()[1].sell_order_id.view(), "b");
  EXPECT_EQ(queue_of(book(), side::sell), std::vector<std::string>{"c"});
}

TEST_F(matching, for_each_order_lists_best_price_first_then_fifo) {
  given(buy_limit("b1", px("99.00"), qty("1")));
  given(buy_limit("b2", px("100.00"), qty("1")));
  given(buy_limit("b3", px("99.00"), qty("1")));
  given(buy_limit("b4", px("100.00"), qty("1")));
  EXPECT_EQ(queue_of(book(), side::buy), (std::vector<std::string>{"b2", "b4", "b1", "b3"}));
}

TEST_F(matching, partially_filled_maker_keeps_its_place_in_the_queue) {
  given(sell_limit("a", px("100.00"), qty("5")));
  given(sell_limit("b", px("100.00"), qty("1")));

  ASSERT_TRUE(place(buy_limit("t1", px("100.00"), qty("2"))).ok());
  EXPECT_EQ(queue_of(book(), side::sell), (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE(place(buy_limit("t2", px("100.00"), qty("3"))).ok());
  ASSERT_EQ(trades().size(), 1u);
  EXPECT_EQ(trades()[0].sell_order_id.view(), "a");
  EXPECT_EQ(state_of("a").status, order_status::filled);
  EXPECT_EQ(queue_of(book(), side::sell), std::vector<std::string>{"b"});
}

TEST_F(matching, a_limit_order_one_tick_away_does_not_cross) {
  given(sell_limit("ask", px("100.00"), qty("1")));

  ASSERT_TRUE(place(buy_limit("bid", px("99.99"), qty("1"))).ok());

  EXPECT_TRUE(trades().empty());
  EXPECT_EQ(taker().status, order_status::open);
  EXPECT_EQ(book().best_bid(), px("99.99"));
  EXPECT_EQ(book().best_ask(), px("100.00"));
}

// --- trade price and partial fills ----------------------------------------------------------

TEST_F(matching, trade_price_is_the_makers_price_for_a_buy_taker) {
  given(sell_limit("maker", px("100.00"), qty("1")));

  ASSERT_TRUE(place(buy_limit("taker", px("105.00"), qty("1"))).ok());

  ASSERT_EQ(trades().size(), 1u);
  const trade t = trades()[0];
  EXPECT_EQ(t.price, px("100.00"));
  EXPECT_EQ(t.quantity, qty("1"));
  EXPECT_EQ(t.aggressor, side::buy);
  EXPECT_EQ(t.buy_order_id.view(), "taker");
  EXPECT_EQ(t.sell_order_id.view(), "maker");
  // The trade names no clients: the store takes them from the orders' states, which the
  // same command emits (the maker's right after the trade).
  EXPECT_EQ(state_of("taker").client.view(), "client-taker");
  EXPECT_EQ(state_of("maker").client.view(), "client-maker");
  ASSERT_EQ(out.size(), 4u) << "trade, maker, taker, level delta";
  ASSERT_TRUE(std::holds_alternative<trade>(out[0]));
  ASSERT_TRUE(std::holds_alternative<order>(out[1]));
  EXPECT_EQ(std::get<order>(out[1]).id.view(), "maker");
  EXPECT_EQ(t.instrument, kBtc);
  EXPECT_EQ(taker().notional, int128{px("100.00").value} * qty("1").value);
}

TEST_F(matching, trade_price_is_the_makers_price_for_a_sell_taker) {
  given(buy_limit("maker", px("100.00"), qty("1")));

  ASSERT_TRUE(place(limit("taker", side::sell, px("95.00"), qty("1"))).ok());

  ASSERT_EQ(trades().size(), 1u);
  EXPECT_EQ(trades()[0].price, px("100.00"));
  EXPECT_EQ(trades()[0].aggressor, side::sell);
  EXPECT_EQ(trades()[0].buy_order_id.view(), "maker");
  EXPECT_EQ(trades()[0].sell_order_id.view(), "taker");
}

TEST_F(matching, maker_can_be_partially_filled) {
  given(sell_limit("maker", px("100.00"), qty("5")));

  ASSERT_TRUE(place(buy_limit("taker", px("100.00"), qty("2"))).ok());

  const order maker = state_of("maker");
  EXPECT_EQ(maker.status, order_status::partially_filled);
  EXPECT_EQ(maker.filled, qty("2"));
  EXPECT_EQ(maker.remaining(), qty("3"));
  EXPECT_EQ(taker().status, order_status::filled);
  EXPECT_EQ(asks(), std::vector{level("100.00", "3", 1)});
  ASSERT_NE(engine.find_resting("maker"), nullptr);
  EXPECT_EQ(engine.find_resting("maker")->filled, qty("2"));
  EXPECT_EQ(engine.find_resting("maker")->status, order_status::partially_filled);
}

TEST_F(matching, partially_filled_gtc_taker_rests_its_remainder) {
  given(sell_limit("maker", px("100.00"), qty("2")));

  ASSERT_TRUE(place(buy_limit("taker", px("100.00"), qty("5"))).ok());

  EXPECT_EQ(state_of("maker").status, order_status::filled);
  const order t = taker();
  EXPECT_EQ(t.id.view(), "taker");
  EXPECT_EQ(t.status, order_status::partially_filled);
  EXPECT_EQ(t.filled, qty("2"));
  EXPECT_EQ(t.remaining(), qty("3"));
  EXPECT_TRUE(asks().empty());
  EXPECT_EQ(bids(), std::vector{level("100.00", "3", 1)});
  EXPECT_EQ(engine.presence("taker"), order_presence::resting);
  EXPECT_EQ(engine.presence("maker"), order_presence::finished);
}

TEST_F(matching, a_gtc_order_without_a_match_rests_open) {
  ASSERT_TRUE(place(buy_limit("b", px("100.00"), qty("1"))).ok());

  const order t = taker();
  EXPECT_EQ(t.status, order_status::open);
  EXPECT_EQ(t.filled, lots(0));
  EXPECT_EQ(t.price, px("100.00"));
  EXPECT_EQ(t.type, order_type::limit);
  EXPECT_EQ(t.tif, time_in_force::gtc);
  EXPECT_EQ(t.client.view(), "client-b");
  EXPECT_EQ(engine.presence("b"), order_presence::resting);
  ASSERT_NE(engine.find_resting("b"), nullptr);
  EXPECT_EQ(engine.find_resting("b")->quantity, qty("1"));
}

// --- market orders -----------------------------------------------------------------------

TEST_F(matching, market_order_sweeps_levels_until_filled) {
  given(sell_limit("s100", px("100.00"), qty("1")));
  given(sell_limit("s101", px("101.00"), qty("2")));
  given(sell_limit("s102", px("102.00"), qty("3")));

  ASSERT_TRUE(place(market("m", side::buy, qty("4"))).ok());

  const std::vector<trade> t = trades();
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0].price, px("100.00"));
  EXPECT_EQ(t[0].quantity, qty("1"));
  EXPECT_EQ(t[1].price, px("101.00"));
  EXPECT_EQ(t[1].quantity, qty("2"));
  EXPECT_EQ(t[2].price, px("102.00"));
  EXPECT_EQ(t[2].quantity, qty("1"));
  const order m = taker();
  EXPECT_EQ(m.status, order_status::filled);
  EXPECT_EQ(m.type, order_type::market);
  EXPECT_EQ(m.price, price_ticks{0});
  EXPECT_EQ(m.filled, qty("4"));
  EXPECT_EQ(asks(), std::vector{level("102.00", "2", 1)});
  EXPECT_EQ(engine.presence("m"), order_presence::finished);
}

TEST_F(matching, market_sell_sweeps_bids_from_the_highest_down) {
  given(buy_limit("b99", px("99.00"), qty("1")));
  given(buy_limit("b100", px("100.00"), qty("1")));

  ASSERT_TRUE(place(market("m", side::sell, qty("2"))).ok());

  ASSERT_EQ(trades().size(), 2u);
  EXPECT_EQ(trades()[0].buy_order_id.view(), "b100");
  EXPECT_EQ(trades()[1].buy_order_id.view(), "b99");
  EXPECT_EQ(taker().status, order_status::filled);
  EXPECT_TRUE(bids().empty());
}

TEST_F(matching, market_order_remainder_is_cancelled_when_the_book_runs_out) {
  given(sell_limit("s1", px("100.00"), qty("1")));
  given(sell_limit("s2", px("101.00"), qty("2")));

  ASSERT_TRUE(place(market("m", side::buy, qty("5"))).ok());

  EXPECT_EQ(trades().size(), 2u);
  const order m = taker();
  EXPECT_EQ(m.status, order_status::cancelled);
  EXPECT_EQ(m.filled, qty("3"));
  EXPECT_EQ(m.remaining(), qty("2"));
  EXPECT_TRUE(asks().empty());
  EXPECT_TRUE(bids().empty()) << "a market order never rests";
  EXPECT_EQ(engine.presence("m"), order_presence::finished);
}

TEST_F(matching, market_order_on_an_empty_book_is_cancelled_unfilled) {
  const command_result r = place(market("m", side::buy, qty("1")));

  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.sequence, 1u);
  EXPECT_TRUE(trades().empty());
  EXPECT_TRUE(deltas().empty());
  ASSERT_EQ(events().orders.size(), 1u);
  EXPECT_EQ(taker().status, order_status::cancelled);
  EXPECT_EQ(taker().filled, lots(0));
  EXPECT_EQ(taker().sequence, 1u);
  EXPECT_EQ(engine.presence("m"), order_presence::finished);
  EXPECT_EQ(book().order_count(), 0u);
}

TEST_F(matching, market_order_does_not_match_its_own_side) {
  given(buy_limit("b", px("100.00"), qty("1")));

  ASSERT_TRUE(place(market("m", side::buy, qty("1"))).ok());

  EXPECT_TRUE(trades().empty());
  EXPECT_EQ(taker().status, order_status::cancelled);
  EXPECT_EQ(bids(), std::vector{level("100.00", "1", 1)});
}

// --- IOC -----------------------------------------------------------------------------------

TEST_F(matching, ioc_fills_up_to_its_price_and_cancels_the_rest) {
  given(sell_limit("s100", px("100.00"), qty("1")));
  given(sell_limit("s101", px("101.00"), qty("1")));
  given(sell_limit("s102", px("102.00"), qty("1")));

  ASSERT_TRUE(place(limit("ioc", side::buy, px("101.00"), qty("5"), time_in_force::ioc)).ok());

  ASSERT_EQ(trades().size(), 2u);
  EXPECT_EQ(trades()[0].price, px("100.00"));
  EXPECT_EQ(trades()[1].price, px("101.00"));
  const order t = taker();
  EXPECT_EQ(t.status, order_status::cancelled);
  EXPECT_EQ(t.tif, time_in_force::ioc);
  EXPECT_EQ(t.filled, qty("2"));
  EXPECT_EQ(t.remaining(), qty("3"));
  EXPECT_TRUE(bids().empty()) << "IOC never rests";
  EXPECT_EQ(asks(), std::vector{level("102.00", "1", 1)});
  EXPECT_EQ(engine.presence("ioc"), order_presence::finished);
}

TEST_F(matching, ioc_that_fills_completely_is_filled) {
  given(sell_limit("s", px("100.00"), qty("2")));

  ASSERT_TRUE(place(limit("ioc", side::buy, px("100.00"), qty("2"), time_in_force::ioc)).ok());

  EXPECT_EQ(taker().status, order_status::filled);
  EXPECT_TRUE(asks().empty());
}

TEST_F(matching, ioc_without_a_match_is_cancelled_and_leaves_the_book_alone) {
  given(sell_limit("s", px("100.00"), qty("1")));

  ASSERT_TRUE(place(limit("ioc", side::buy, px("99.00"), qty("1"), time_in_force::ioc)).ok());

  EXPECT_TRUE(trades().empty());
  EXPECT_TRUE(deltas().empty());
  EXPECT_EQ(taker().status, order_status::cancelled);
  EXPECT_EQ(taker().filled, lots(0));
  EXPECT_TRUE(bids().empty());
  EXPECT_EQ(asks(), std::vector{level("100.00", "1", 1)});
}

// --- FOK -----------------------------------------------------------------------------------

TEST_F(matching, fok_exactly_fillable_across_levels_fills) {
  given(sell_limit("s100", px("100.00"), qty("1")));
  given(sell_limit("s101", px("101.00"), qty("2")));

  ASSERT_TRUE(place(limit("fok", side::buy, px("101.00"), qty("3"), time_in_force::fok)).ok());

  EXPECT_EQ(trades().size(), 2u);
  EXPECT_EQ(taker().status, order_status::filled);
  EXPECT_EQ(taker().filled, qty("3"));
  EXPECT_TRUE(asks().empty());
}

TEST_F(matching, fok_one_lot_short_is_rejected_without_trading) {
  given(sell_limit("s100", px("100.00"), qty("1")));
  given(sell_limit("s101", px("101.00"), qty("2")));
  const std::vector<level_snapshot> asks_before = asks();
  const std::vector<std::string> queue_before = queue_of(book(), side::sell);
  const sequence_number sequence_before = engine.last_sequence();

  const command_result r =
      place(limit("fok", side::buy, px("101.00"), qty("3") + lots(1), time_in_force::fok));

  ASSERT_TRUE(r.ok()) << "a FOK that cannot fill is created rejected, not an error";
  EXPECT_EQ(r.sequence, sequence_before + 1) << "one event, one number";
  EXPECT_EQ(engine.last_sequence(), sequence_before + 1);
  EXPECT_TRUE(trades().empty());
  EXPECT_TRUE(deltas().empty());
  ASSERT_EQ(events().orders.size(), 1u) << "only the FOK's own state";
  EXPECT_EQ(taker().status, order_status::rejected);
  EXPECT_EQ(taker().sequence, sequence_before + 1);
  EXPECT_EQ(taker().created_sequence, sequence_before + 1);
  EXPECT_EQ(taker().filled, lots(0));
  EXPECT_EQ(asks(), asks_before);
  EXPECT_EQ(queue_of(book(), side::sell), queue_before);
  EXPECT_TRUE(bids().empty());
  EXPECT_EQ(engine.last_trade_id(), 0u);
  EXPECT_EQ(engine.presence("fok"), order_presence::finished);
}

TEST_F(matching, fok_counts_only_liquidity_within_its_price) {
  given(sell_limit("s100", px("100.00"), qty("1")));
  given(sell_limit("s102", px("102.00"), qty("5")));

  ASSERT_TRUE(place(limit("fok", side::buy, px("101.00"), qty("2"), time_in_force::fok)).ok());

  EXPECT_TRUE(trades().empty());
  EXPECT_EQ(taker().status, order_status::rejected);
  EXPECT_EQ(asks(), (std::vector{level("100.00", "1", 1), level("102.00", "5", 1)}));
}

TEST_F(matching, fok_sell_fills_against_several_bids) {
  given(buy_limit("b1", px("100.00"), qty("1")));
  given(buy_limit("b2", px("100.00"), qty("1")));
  given(buy_limit("b3", px("99.00"), qty("1")));

  ASSERT_TRUE(place(limit("fok", side::sell, px("99.00"), qty("2.5"), time_in_force::fok)).ok());

  ASSERT_EQ(trades().size(), 3u);
  EXPECT_EQ(trades()[2].buy_order_id.view(), "b3");
  EXPECT_EQ(trades()[2].quantity, qty("0.5"));
  EXPECT_EQ(taker().status, order_status::filled);
  EXPECT_EQ(bids(), std::vector{level("99.00", "0.5", 1)});
}

TEST_F(matching, fok_on_an_empty_book_is_rejected) {
  ASSERT_TRUE(place(limit("fok", side::sell, px("1.00"), lots(1), time_in_force::fok)).ok());
  EXPECT_EQ(taker().status, order_status::rejected);
  EXPECT_EQ(book().order_count(), 0u);
}

// --- cancel --------------------------------------------------------------------------------

TEST_F(matching, cancel_of_an_open_order) {
  given(buy_limit("b", px("100.00"), qty("1")));  // events 1 (b open) and 2 (delta)
  ASSERT_EQ(engine.last_sequence(), 2u);

  const command_result r = cancel(cancel_of("b"));

  // The cancelled state takes 3, the level delta 4; the command reports its last number.
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.sequence, 4u);
  EXPECT_EQ(engine.last_sequence(), 4u);
  ASSERT_EQ(out.size(), 2u) << ::testing::PrintToString(describe_all(out));
  ASSERT_TRUE(std::holds_alternative<order>(out[0])) << "the order state comes first";
  ASSERT_TRUE(std::holds_alternative<level_delta>(out[1])) << "then its level delta";
  const split_events e = events();
  ASSERT_EQ(e.orders.size(), 1u);
  EXPECT_EQ(e.orders[0].id.view(), "b");
  EXPECT_EQ(e.orders[0].status, order_status::cancelled);
  EXPECT_EQ(e.orders[0].sequence, 3u);
  EXPECT_EQ(e.orders[0].created_sequence, 1u) << "a cancel does not change time priority";
  EXPECT_EQ(e.orders[0].updated_at, now);
  ASSERT_EQ(e.deltas.size(), 1u);
  EXPECT_EQ(e.deltas[0].sequence, 4u);
  EXPECT_EQ(e.deltas[0].quantity, lots(0));
  EXPECT_EQ(e.deltas[0].orders, 0u);
  EXPECT_EQ(e.deltas[0].level_side, side::buy);
  EXPECT_EQ(e.deltas[0].price, px("100.00"));
  EXPECT_TRUE(e.trades.empty());
  EXPECT_TRUE(bids().empty());
  EXPECT_EQ(engine.presence("b"), order_presence::finished);
  EXPECT_EQ(engine.find_resting("b"), nullptr);
}

TEST_F(matching, cancel_leaves_the_other_orders_of_the_level) {
  given(buy_limit("a", px("100.00"), qty("1")));
  given(buy_limit("b", px("100.00"), qty("2")));
  given(buy_limit("c", px("100.00"), qty("3")));

  ASSERT_TRUE(cancel(cancel_of("b")).ok());

  ASSERT_EQ(deltas().size(), 1u);
  EXPECT_EQ(deltas()[0].quantity, qty("4"));
  EXPECT_EQ(deltas()[0].orders, 2u);
  EXPECT_EQ(queue_of(book(), side::buy), (std::vector<std::string>{"a", "c"}));
}

TEST_F(matching, cancel_of_a_partially_filled_order_keeps_its_fills) {
  given(sell_limit("s", px("100.00"), qty("5")));
  given(buy_limit("b", px("100.00"), qty("2")));

  ASSERT_TRUE(cancel(cancel_of("s")).ok());

  const order s = state_of("s");
  EXPECT_EQ(s.status, order_status::cancelled);
  EXPECT_EQ(s.filled, qty("2"));
  EXPECT_EQ(s.remaining(), qty("3"));
  EXPECT_EQ(s.notional, int128{px("100.00").value} * qty("2").value);
  EXPECT_TRUE(asks().empty());
}

TEST_F(matching, cancel_of_a_finished_order_is_order_not_open) {
  given(sell_limit("filled", px("100.00"), qty("1")));
  given(buy_limit("taker", px("100.00"), qty("1")));
  given(buy_limit("cancelled", px("90.00"), qty("1")));
  ASSERT_TRUE(cancel(cancel_of("cancelled")).ok());
  given(limit("rejected", side::buy, px("100.00"), qty("1"), time_in_force::fok));
  given(market("market_cancelled", side::buy, qty("1")));
  given(limit("ioc_cancelled", side::buy, px("100.00"), qty("1"), time_in_force::ioc));
  const sequence_number sequence_before = engine.last_sequence();

  for (const char* id :
       {"filled", "taker", "cancelled", "rejected", "market_cancelled", "ioc_cancelled"}) {
    const command_result r = cancel(cancel_of(id));
    EXPECT_EQ(r.error, errc::order_not_open) << id;
    EXPECT_TRUE(out.empty()) << id;
  }
  EXPECT_EQ(engine.last_sequence(), sequence_before);
}

TEST_F(matching, a_filled_makers_id_stays_finished_when_its_node_is_reused) {
  given(sell_limit("m1", px("100.00"), qty("1")));
  given(buy_limit("t1", px("100.00"), qty("1")));   // fills m1 and frees its node
  given(sell_limit("m2", px("101.00"), qty("1")));  // takes the freed node

  EXPECT_EQ(cancel(cancel_of("m1")).error, errc::order_not_open);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(engine.presence("m1"), order_presence::finished);
  EXPECT_EQ(engine.find_resting("m1"), nullptr);
  ASSERT_NE(engine.find_resting("m2"), nullptr);
  EXPECT_EQ(engine.find_resting("m2")->id.view(), "m2");
  EXPECT_EQ(place(buy_limit("m1", px("1.00"), qty("1"))).error, errc::duplicate_order_id);
  EXPECT_TRUE(cancel(cancel_of("m2")).ok());
  EXPECT_EQ(engine.presence("m2"), order_presence::finished);
  EXPECT_EQ(cancel(cancel_of("m2")).error, errc::order_not_open);
  EXPECT_EQ(cancel(cancel_of("m3")).error, errc::order_not_found);
}

TEST_F(matching, cancel_of_an_unknown_order_is_order_not_found) {
  given(buy_limit("b", px("100.00"), qty("1")));

  const command_result r = cancel(cancel_of("nobody"));

  EXPECT_EQ(r.error, errc::order_not_found);
  EXPECT_EQ(r.sequence, 0u);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(engine.last_sequence(), 2u) << "b's two events only; a refused cancel takes none";
  EXPECT_EQ(engine.presence("nobody"), order_presence::unknown);
}

// --- ownership: the caller's client scope (engine/client_scope.h) ----------------------------

// Another client's resting order is, to this caller, an order that does not exist: the same
// error as an unknown id, no event, no sequence taken, the book as it was.
TEST_F(matching, a_cancel_out_of_scope_is_order_not_found_and_changes_nothing) {
  given(buy_limit("b", px("100.00"), qty("1")));  // client-b
  given(buy_limit("c", px("100.00"), qty("2")));  // client-c
  const sequence_number sequence_before = engine.last_sequence();

  const command_result r = cancel(cancel_of("b", scope_of({"client-c", "client-x"})));

  EXPECT_EQ(r.error, errc::order_not_found);
  EXPECT_EQ(r.sequence, 0u);
  EXPECT_TRUE(out.empty()) << ::testing::PrintToString(describe_all(out));
  EXPECT_EQ(engine.last_sequence(), sequence_before);
  EXPECT_EQ(bids(), (std::vector<level_snapshot>{level("100.00", "3", 2)}));
  EXPECT_EQ(queue_of(book(), side::buy), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(engine.presence("b"), order_presence::resting);
  EXPECT_EQ(cancel(cancel_of("nobody", scope_of({"client-c"}))).error, errc::order_not_found)
      << "the same answer as for an id never seen";
}

TEST_F(matching, a_cancel_in_scope_cancels_as_without_one) {
  given(buy_limit("b", px("100.00"), qty("1")));  // client-b

  const command_result r = cancel(cancel_of("b", scope_of({"client-a", "client-b"})));

  ASSERT_TRUE(r.ok());
  EXPECT_EQ(state_of("b").status, order_status::cancelled);
  EXPECT_TRUE(bids().empty());
}

TEST_F(matching, a_null_scope_cancels_any_clients_order) {
  given(buy_limit("b", px("100.00"), qty("1")));
  given(sell_limit("s", px("101.00"), qty("1")));

  ASSERT_TRUE(cancel(cancel_of("b", nullptr)).ok());
  ASSERT_TRUE(cancel(cancel_of("s")).ok());
  EXPECT_TRUE(bids().empty());
  EXPECT_TRUE(asks().empty());
}

// The engine keeps no client for a finished order (the id index holds only its id), so a
// scoped cancel of one is order_not_open whatever its client; nothing changes. The publish
// stage, which holds the finished order, answers a foreign one order_not_found
// (tests/publish).
TEST_F(matching, a_scoped_cancel_of_a_finished_order_changes_nothing) {
  given(sell_limit("filled", px("100.00"), qty("1")));
  given(buy_limit("taker", px("100.00"), qty("1")));
  given(buy_limit("cancelled", px("90.00"), qty("1")));
  ASSERT_TRUE(cancel(cancel_of("cancelled")).ok());
  given(buy_limit("resting", px("80.00"), qty("1")));
  const sequence_number sequence_before = engine.last_sequence();

  for (const char* id : {"filled", "taker", "cancelled"}) {
    const command_result r = cancel(cancel_of(id, scope_of({"client-resting"})));
    EXPECT_EQ(r.error, errc::order_not_open) << id;
    EXPECT_EQ(r.sequence, 0u) << id;
    EXPECT_TRUE(out.empty()) << id;
  }
  EXPECT_EQ(engine.last_sequence(), sequence_before);
  EXPECT_EQ(bids(), (std::vector<level_snapshot>{level("80.00", "1", 1)}));
}

// The placing key's id is part of the order: on its first state, on a maker's fills and on
// its cancellation, and on a restored resting order.
TEST_F(matching, the_placing_key_is_on_every_state_of_the_order) {
  place_order maker = sell_limit("m", px("100.00"), qty("2"));
  maker.key = 0x0123456789abcdefULL;
  given(maker);
  EXPECT_EQ(state_of("m").key, 0x0123456789abcdefULL);
  place_order taker_cmd = buy_limit("t", px("100.00"), qty("1"));
  taker_cmd.key = 42;
  given(taker_cmd);
  EXPECT_EQ(state_of("m").key, 0x0123456789abcdefULL);
  EXPECT_EQ(state_of("t").key, 42u);
  ASSERT_NE(engine.find_resting("m"), nullptr);
  EXPECT_EQ(engine.find_resting("m")->key, 0x0123456789abcdefULL);
  ASSERT_TRUE(cancel(cancel_of("m")).ok());
  EXPECT_EQ(state_of("m").key, 0x0123456789abcdefULL);
  given(buy_limit("no-key", px("90.00"), qty("1")));
  EXPECT_EQ(state_of("no-key").key, 0u);

  matching_engine restored{{instrument::btc_usd()}, small_options()};
  order o = *engine.find_resting("no-key");
  o.id = order_id::from("restored");
  o.key = 7;
  ASSERT_EQ(restored.restore_resting(o), errc::ok);
  ASSERT_NE(restored.find_resting("restored"), nullptr);
  EXPECT_EQ(restored.find_resting("restored")->key, 7u);
}

// --- duplicate ids, unknown instruments, capacity -------------------------------------------

TEST_F(matching, duplicate_id_of_a_resting_order_changes_nothing) {
  given(buy_limit("b", px("100.00"), qty("1")));

  const command_result r = place(sell_limit("b", px("100.00"), qty("1")));

  EXPECT_EQ(r.error, errc::duplicate_order_id);
  EXPECT_EQ(r.sequence, 0u);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(engine.last_sequence(), 2u) << "b's two events only; a refused order takes none";
  EXPECT_EQ(engine.last_trade_id(), 0u);
  EXPECT_EQ(bids(), std::vector{level("100.00", "1", 1)});
  EXPECT_TRUE(asks().empty());
}

TEST_F(matching, duplicate_id_of_a_finished_order_changes_nothing) {
  given(sell_limit("s", px("100.00"), qty("1")));  // 1 s open, 2 delta
  given(buy_limit("b", px("100.00"), qty("1")));   // 3 trade, 4 s filled, 5 b filled, 6 delta
  given(market("m", side::buy, qty("1")));         // 7 m cancelled (nothing to match)
  const sequence_number sequence_before = engine.last_sequence();
  ASSERT_EQ(sequence_before, 7u);

  for (const char* id : {"s", "b", "m"}) {
    const command_result r = place(buy_limit(id, px("50.00"), qty("1")));
    EXPECT_EQ(r.error, errc::duplicate_order_id) << id;
    EXPECT_EQ(r.sequence, 0u) << id;
    EXPECT_TRUE(out.empty()) << id;
  }
  EXPECT_EQ(engine.last_sequence(), sequence_before);
  EXPECT_TRUE(bids().empty());
  // The next command's events take the very next numbers: its open state 8, its delta 9.
  const command_result fresh = place(buy_limit("fresh", px("50.00"), qty("1")));
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(sequences_of(out), (std::vector<sequence_number>{8, 9}));
  EXPECT_EQ(fresh.sequence, 9u);
  EXPECT_EQ(taker().created_sequence, 8u);
  EXPECT_EQ(taker().sequence, 8u);
}

TEST_F(matching, duplicate_id_of_a_cancelled_order_is_rejected) {
  given(buy_limit("b", px("100.00"), qty("1")));
  ASSERT_TRUE(cancel(cancel_of("b")).ok());

  EXPECT_EQ(place(buy_limit("b", px("100.00"), qty("1"))).error, errc::duplicate_order_id);
  EXPECT_TRUE(bids().empty());
}

TEST_F(matching, duplicate_id_of_a_rejected_fok_is_rejected) {
  given(limit("f", side::buy, px("100.00"), qty("1"), time_in_force::fok));

  EXPECT_EQ(place(buy_limit("f", px("100.00"), qty("1"))).error, errc::duplicate_order_id);
}

TEST_F(matching, unknown_instrument_is_rejected_without_effect) {
  place_order cmd = buy_limit("b", px("100.00"), qty("1"));
  cmd.instrument = 7;

  const command_result r = place(cmd);

  EXPECT_EQ(r.error, errc::unknown_instrument);
  EXPECT_EQ(r.sequence, 0u);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(engine.last_sequence(), 0u);
  EXPECT_EQ(engine.presence("b"), order_presence::unknown);
}

TEST(engine_setup, refuses_more_instruments_than_the_id_index_can_name) {
  std::vector<instrument> instruments(65'535, instrument::btc_usd());
  EXPECT_THROW(matching_engine(std::move(instruments), small_options()), std::invalid_argument);
}

TEST(engine_setup, book_full_rejects_an_order_that_would_rest) {
  engine_options options = small_options();
  options.max_open_orders_per_book = 2;
  matching_engine engine{{instrument::btc_usd()}, options};
  event_buffer out;
  ASSERT_TRUE(engine.place(buy_limit("b1", px("100.00"), qty("1")), out).ok());  // 1, 2
  ASSERT_TRUE(engine.place(buy_limit("b2", px("99.00"), qty("1")), out).ok());   // 3, 4
  out.clear();

  const command_result r = engine.place(buy_limit("b3", px("98.00"), qty("1")), out);

  EXPECT_EQ(r.error, errc::book_full);
  EXPECT_EQ(r.sequence, 0u);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(engine.last_sequence(), 4u) << "a refused order takes no number";
  EXPECT_EQ(engine.book(kBtc).order_count(), 2u);
  EXPECT_EQ(engine.presence("b3"), order_presence::unknown);
  // Room again after a cancel (5, 6); the retried order then takes 7 and 8.
  EXPECT_EQ(engine.cancel(cancel_of("b1"), out).sequence, 6u);
  out.clear();
  const command_result retried = engine.place(buy_limit("b3", px("98.00"), qty("1")), out);
  ASSERT_TRUE(retried.ok());
  EXPECT_EQ(retried.sequence, 8u);
  EXPECT_EQ(sequences_of(out), (std::vector<sequence_number>{7, 8}));
  EXPECT_EQ(engine.check_invariants(), "");
}

// --- sequence numbers and trade ids -------------------------------------------------------

TEST_F(matching, every_event_takes_the_next_number_of_one_global_sequence) {
  // Each command's events in emission order, as "kind subject #number"; refused commands
  // appear as their error and must take no number.
  std::vector<std::string> log;
  std::vector<sequence_number> results;
  auto record = [&](const command_result& r) {
    results.push_back(r.sequence);
    if (!r.ok()) {
      log.push_back(std::string(to_code(r.error)) + " #" + std::to_string(r.sequence));
      EXPECT_TRUE(out.empty());
      return;
    }
    for (const event& e : out) {
      std::string line;
      if (const auto* t = std::get_if<trade>(&e)) line = "trade " + std::to_string(t->id);
      if (const auto* o = std::get_if<order>(&e)) {
        line = "order " + std::string(o->id.view()) + " " + std::string(to_string(o->status));
      }
      if (const auto* d = std::get_if<level_delta>(&e)) {
        line =
            "delta " + std::string(to_string(d->level_side)) + " " + std::to_string(d->price.value);
      }
      log.push_back(line + " #" + std::to_string(sequence_of(e)));
    }
  };
  record(place(sell_limit("s1", px("100.00"), qty("1"))));
  record(place(sell_limit("s2", px("101.00"), qty("1"))));
  record(place(buy_limit("s1", px("1.00"), qty("1"))));  // duplicate id
  record(cancel(cancel_of("nobody")));
  record(place(market("m", side::buy, qty("1.5"))));
  const order m = taker();
  record(cancel(cancel_of("s2")));
  const order s2 = state_of("s2");
  record(cancel(cancel_of("s2")));  // no longer open
  record(place(limit("f", side::buy, px("1.00"), qty("1"), time_in_force::fok)));
  const order f = taker();
  record(place(market("m_empty", side::sell, qty("1"))));
  const order m_empty = taker();

  EXPECT_EQ(log, (std::vector<std::string>{
                     "order s1 open #1",
                     "delta sell 10000 #2",
                     "order s2 open #3",
                     "delta sell 10100 #4",
                     "duplicate_order_id #0",
                     "order_not_found #0",
                     "trade 1 #5",
                     "order s1 filled #6",
                     "trade 2 #7",
                     "order s2 partially_filled #8",
                     "order m filled #9",
                     "delta sell 10000 #10",
                     "delta sell 10100 #11",
                     "order s2 cancelled #12",
                     "delta sell 10100 #13",
                     "order_not_open #0",
                     "order f rejected #14",
                     "order m_empty cancelled #15",
                 }));
  // A command reports the number of its last event; a refused one reports 0.
  EXPECT_EQ(results, (std::vector<sequence_number>{2, 4, 0, 0, 11, 13, 0, 14, 15}));
  EXPECT_EQ(engine.last_sequence(), 15u);
  // created_sequence is the first number of the placing command; sequence is the number
  // of the event that carries the state.
  EXPECT_EQ(m.created_sequence, 5u);
  EXPECT_EQ(m.sequence, 9u);
  EXPECT_EQ(s2.created_sequence, 3u);
  EXPECT_EQ(s2.sequence, 12u);
  EXPECT_EQ(f.created_sequence, 14u);
  EXPECT_EQ(f.sequence, 14u);
  EXPECT_EQ(m_empty.created_sequence, 15u);
  EXPECT_EQ(m_empty.sequence, 15u);
}

TEST_F(matching, events_of_one_command_take_consecutive_numbers) {
  given(sell_limit("s1", px("100.00"), qty("1")));  // 1, 2
  given(sell_limit("s2", px("101.00"), qty("1")));  // 3, 4

  const command_result r = place(buy_limit("b", px("101.00"), qty("3")));

  // trade, s1, trade, s2, b (rests 1), then deltas in touch order: the two ask levels
  // it emptied, then its own bid level.
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(out.size(), 8u) << ::testing::PrintToString(describe_all(out));
  EXPECT_EQ(sequences_of(out), (std::vector<sequence_number>{5, 6, 7, 8, 9, 10, 11, 12}));
  EXPECT_EQ(r.sequence, 12u) << "the number of the command's last event";
  EXPECT_EQ(engine.last_sequence(), 12u);

  const split_events e = events();
  ASSERT_EQ(e.trades.size(), 2u);
  EXPECT_EQ(e.trades[0].sequence, 5u);
  EXPECT_EQ(e.trades[1].sequence, 7u);
  EXPECT_EQ(state_of("s1").sequence, 6u) << "a maker's number is that of its own event";
  EXPECT_EQ(state_of("s2").sequence, 8u);
  EXPECT_EQ(state_of("s1").created_sequence, 1u) << "a fill does not change time priority";
  EXPECT_EQ(state_of("s2").created_sequence, 3u);
  EXPECT_EQ(taker().sequence, 9u) << "the taker's number is that of its final state";
  EXPECT_EQ(taker().created_sequence, 5u)
      << "time priority: the command's first number, though the first trade carries it";
  ASSERT_EQ(e.deltas.size(), 3u);
  EXPECT_EQ(e.deltas[0].sequence, 10u);
  EXPECT_EQ(e.deltas[0].level_side, side::sell);
  EXPECT_EQ(e.deltas[0].price, px("100.00"));
  EXPECT_EQ(e.deltas[1].sequence, 11u);
  EXPECT_EQ(e.deltas[1].level_side, side::sell);
  EXPECT_EQ(e.deltas[1].price, px("101.00"));
  EXPECT_EQ(e.deltas[2].sequence, 12u);
  EXPECT_EQ(e.deltas[2].level_side, side::buy);
  EXPECT_EQ(e.deltas[2].price, px("101.00"));

  // The resting remainder keeps the numbers of its last emitted state.
  const order* b = engine.find_resting("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->created_sequence, 5u);
  EXPECT_EQ(b->sequence, 9u);

  // A later order at the same price gets a higher created_sequence and queues behind.
  ASSERT_TRUE(place(buy_limit("c", px("101.00"), qty("1"))).ok());
  EXPECT_EQ(sequences_of(out), (std::vector<sequence_number>{13, 14}));
  EXPECT_EQ(taker().created_sequence, 13u);
  EXPECT_EQ(queue_of(book(), side::buy), (std::vector<std::string>{"b", "c"}));
}

TEST_F(matching, trade_ids_increase_by_one_across_commands) {
  given(sell_limit("s1", px("100.00"), qty("1")));
  given(sell_limit("s2", px("100.00"), qty("1")));
  given(sell_limit("s3", px("101.00"), qty("1")));
  std::vector<trade_id> ids;

  ASSERT_TRUE(place(market("m1", side::buy, qty("2"))).ok());
  for (const trade& t : trades()) ids.push_back(t.id);
  ASSERT_TRUE(place(buy_limit("b", px("101.00"), qty("1"))).ok());
  for (const trade& t : trades()) ids.push_back(t.id);

  EXPECT_EQ(ids, (std::vector<trade_id>{1, 2, 3}));
  EXPECT_EQ(engine.last_trade_id(), 3u);
}

// --- events ---------------------------------------------------------------------------------

TEST_F(matching, events_come_as_fills_then_taker_then_level_deltas) {
  given(sell_limit("s1", px("100.00"), qty("1")));
  given(sell_limit("s2", px("101.00"), qty("1")));

  ASSERT_TRUE(place(buy_limit("b", px("101.00"), qty("2"))).ok());

  // Each fill: a trade and the maker's new state, before the next fill.
  ASSERT_EQ(out.size(), 7u) << ::testing::PrintToString(describe_all(out));
  for (std::size_t fill = 0; fill < 2; ++fill) {
    const event& first = out[2 * fill];
    const event& second = out[2 * fill + 1];
    const trade* t =
        std::get_if<trade>(&first) ? std::get_if<trade>(&first) : std::get_if<trade>(&second);
    const order* maker =
        std::get_if<order>(&first) ? std::get_if<order>(&first) : std::get_if<order>(&second);
    ASSERT_TRUE(t != nullptr && maker != nullptr) << "fill " << fill;
    EXPECT_EQ(maker->id.view(), t->sell_order_id.view());
    EXPECT_EQ(maker->status, order_status::filled);
  }
  ASSERT_TRUE(std::holds_alternative<order>(out[4]));
  EXPECT_EQ(std::get<order>(out[4]).id.view(), "b");
  EXPECT_TRUE(std::holds_alternative<level_delta>(out[5]));
  EXPECT_TRUE(std::holds_alternative<level_delta>(out[6]));
}

TEST_F(matching, one_level_delta_per_touched_level_with_its_final_total) {
  given(sell_limit("a", px("100.00"), qty("1")));
  given(sell_limit("b", px("100.00"), qty("2")));
  given(sell_limit("c", px("101.00"), qty("1")));
  given(sell_limit("d", px("101.00"), qty("1")));

  ASSERT_TRUE(place(market("m", side::buy, qty("3.5"))).ok());

  std::vector<level_delta> d = deltas();
  std::sort(d.begin(), d.end(), [](const auto& x, const auto& y) { return x.price < y.price; });
  ASSERT_EQ(d.size(), 2u) << ::testing::PrintToString(describe_all(out));
  EXPECT_EQ(d[0].level_side, side::sell);
  EXPECT_EQ(d[0].price, px("100.00"));
  EXPECT_EQ(d[0].quantity, lots(0));
  EXPECT_EQ(d[0].orders, 0u);
  EXPECT_EQ(d[1].level_side, side::sell);
  EXPECT_EQ(d[1].price, px("101.00"));
  EXPECT_EQ(d[1].quantity, qty("1.5"));
  EXPECT_EQ(d[1].orders, 2u);
  EXPECT_EQ(d[1].instrument, kBtc);
}

TEST_F(matching, a_resting_remainder_adds_a_delta_for_its_own_level) {
  given(sell_limit("a", px("100.00"), qty("1")));
  given(buy_limit("old", px("100.00"), qty("9")));  // takes "a" and rests 8
  given(sell_limit("s", px("100.50"), qty("1")));

  ASSERT_TRUE(place(buy_limit("b", px("100.50"), qty("3"))).ok());

  std::vector<level_delta> d = deltas();
  ASSERT_EQ(d.size(), 2u) << ::testing::PrintToString(describe_all(out));
  std::sort(d.begin(), d.end(),
            [](const auto& x, const auto& y) { return x.level_side < y.level_side; });
  EXPECT_EQ(d[0].level_side, side::buy);
  EXPECT_EQ(d[0].price, px("100.50"));
  EXPECT_EQ(d[0].quantity, qty("2"));
  EXPECT_EQ(d[0].orders, 1u);
  EXPECT_EQ(d[1].level_side, side::sell);
  EXPECT_EQ(d[1].quantity, lots(0));
}

TEST_F(matching, joining_a_level_reports_the_new_total_and_count) {
  given(buy_limit("a", px("100.00"), qty("1")));

  ASSERT_TRUE(place(buy_limit("b", px("100.00"), qty("2"))).ok());

  ASSERT_EQ(deltas().size(), 1u);
  EXPECT_EQ(deltas()[0].level_side, side::buy);
  EXPECT_EQ(deltas()[0].price, px("100.00"));
  EXPECT_EQ(deltas()[0].quantity, qty("3"));
  EXPECT_EQ(deltas()[0].orders, 2u);
}

TEST_F(matching, emptied_levels_disappear_from_the_book) {
  given(sell_limit("a", px("100.00"), qty("1")));
  given(sell_limit("b", px("101.00"), qty("1")));
  given(sell_limit("c", px("102.00"), qty("1")));
  given(buy_limit("d", px("99.00"), qty("1")));

  ASSERT_TRUE(place(buy_limit("t", px("100.00"), qty("1"))).ok());
  ASSERT_TRUE(cancel(cancel_of("b")).ok());
  ASSERT_TRUE(cancel(cancel_of("d")).ok());

  EXPECT_EQ(asks(), std::vector{level("102.00", "1", 1)});
  EXPECT_TRUE(bids().empty());
  EXPECT_EQ(book().level_count(side::sell), 1u);
  EXPECT_EQ(book().level_count(side::buy), 0u);
  EXPECT_EQ(book().best_ask(), px("102.00"));
  EXPECT_FALSE(book().best_bid().has_value());
}

TEST_F(matching, timestamps_come_from_the_command) {
  given(sell_limit("s", px("100.00"), qty("2")));
  const timestamp_us placed_at = now;

  ASSERT_TRUE(place(buy_limit("b", px("100.00"), qty("1"))).ok());

  EXPECT_EQ(taker().created_at, now);
  EXPECT_EQ(taker().updated_at, now);
  EXPECT_EQ(trades()[0].executed_at, now);
  EXPECT_EQ(state_of("s").created_at, placed_at);
  EXPECT_EQ(state_of("s").updated_at, now);
}

// --- average price ---------------------------------------------------------------------------

TEST_F(matching, notional_and_average_fill_price_over_several_fills) {
  given(sell_limit("s1", px("100.00"), lots(1)));
  given(sell_limit("s2", px("100.01"), lots(2)));

  ASSERT_TRUE(place(market("m", side::buy, lots(3))).ok());

  const order m = taker();
  EXPECT_EQ(m.notional, int128{10000} + 2 * 10001);
  EXPECT_EQ(m.filled, lots(3));
  // 100.00666... rounds to 100.01
  EXPECT_EQ(average_price_units(btc_usd(), m.notional, m.filled), 10001);
}

TEST_F(matching, makers_accumulate_notional_across_commands) {
  given(buy_limit("b", px("100.00"), qty("3")));
  given(market("m1", side::sell, qty("1")));
  given(market("m2", side::sell, qty("1")));

  const order b = state_of("b");
  EXPECT_EQ(b.filled, qty("2"));
  EXPECT_EQ(b.notional, int128{px("100.00").value} * qty("2").value);
  EXPECT_EQ(b.status, order_status::partially_filled);
}

// --- several instruments ----------------------------------------------------------------------

TEST(engine_setup, instruments_have_separate_books_and_share_one_id_space) {
  matching_engine engine{{instrument::btc_usd(), *instrument::parse_spec("ETH-USD:0.01:0.001")},
                         small_options()};
  event_buffer out;
  ASSERT_EQ(engine.find_instrument("ETH-USD"), instrument_id{1});
  EXPECT_FALSE(engine.find_instrument("DOGE-USD").has_value());
  place_order eth_sell = sell_limit("eth-s", ticks(10000), lots(5));
  eth_sell.instrument = 1;
  ASSERT_TRUE(engine.place(eth_sell, out).ok());
  out.clear();

  ASSERT_TRUE(engine.place(market("btc-m", side::buy, lots(5)), out).ok());
  EXPECT_TRUE(split(out).trades.empty()) << "a BTC order never matches the ETH book";

  place_order dup = buy_limit("eth-s", ticks(100), lots(1));
  out.clear();
  EXPECT_EQ(engine.place(dup, out).error, errc::duplicate_order_id);

  place_order eth_buy = buy_limit("eth-b", ticks(10000), lots(2));
  eth_buy.instrument = 1;
  out.clear();
  ASSERT_TRUE(engine.place(eth_buy, out).ok());
  const split_events e = split(out);
  ASSERT_EQ(e.trades.size(), 1u);
  EXPECT_EQ(e.trades[0].instrument, 1u);
  ASSERT_EQ(e.deltas.size(), 1u);
  EXPECT_EQ(e.deltas[0].instrument, 1u);
  EXPECT_EQ(e.orders.back().instrument, 1u);
  ASSERT_TRUE(engine.cancel(cancel_of("eth-s"), out).ok());
  EXPECT_EQ(engine.book(1).order_count(), 0u);
  EXPECT_EQ(engine.check_invariants(), "");
}

// --- recovery ----------------------------------------------------------------------------------

// Rebuilds `original` into `copy` the way recovery does: resting orders in priority order,
// then the ids of finished orders, then the counters.
void restore_into(matching_engine& copy, const matching_engine& original,
                  const std::vector<std::string>& finished_ids) {
  std::vector<order> resting;
  for (side s : {side::buy, side::sell}) {
    original.book(kBtc).for_each_order(s, [&](const order& o) { resting.push_back(o); });
  }
  std::sort(resting.begin(), resting.end(),
            [](const order& a, const order& b) { return a.created_sequence < b.created_sequence; });
  for (const order& o : resting) ASSERT_EQ(copy.restore_resting(o), errc::ok);
  for (const std::string& id : finished_ids) copy.restore_finished_id(id);
  copy.restore_counters(original.last_sequence(), original.last_trade_id());
}

TEST(recovery, a_restored_engine_matches_exactly_like_the_original) {
  matching_engine original{{instrument::btc_usd()}, small_options()};
  event_buffer out;
  timestamp_us now = 1000;
  auto run = [&](matching_engine& e, place_order cmd) {
    cmd.received_at = ++now;
    return e.place(cmd, out);
  };
  ASSERT_TRUE(run(original, sell_limit("s1", px("100.00"), qty("1"))).ok());
  ASSERT_TRUE(run(original, sell_limit("s2", px("100.00"), qty("2"))).ok());
  ASSERT_TRUE(run(original, sell_limit("s3", px("101.00"), qty("1"))).ok());
  ASSERT_TRUE(run(original, sell_limit("s4", px("100.00"), qty("1"))).ok());
  ASSERT_TRUE(run(original, buy_limit("b1", px("99.00"), qty("1"))).ok());
  ASSERT_TRUE(run(original, buy_limit("b2", px("98.00"), qty("1"))).ok());
  ASSERT_TRUE(run(original, buy_limit("b3", px("99.00"), qty("2"))).ok());
  ASSERT_TRUE(run(original, market("m1", side::buy, qty("1.5"))).ok());  // s1, half of s2
  ASSERT_TRUE(original.cancel(cancel_of("b2"), out).ok());
  const std::vector<std::string> finished{"s1", "m1", "b2"};

  matching_engine restored{{instrument::btc_usd()}, small_options()};
  restore_into(restored, original, finished);

  ASSERT_EQ(restored.check_invariants(), "");
  EXPECT_EQ(restored.last_sequence(), original.last_sequence());
  EXPECT_EQ(restored.last_trade_id(), original.last_trade_id());
  for (side s : {side::buy, side::sell}) {
    EXPECT_EQ(levels_of(restored.book(kBtc), s), levels_of(original.book(kBtc), s));
    EXPECT_EQ(queue_of(restored.book(kBtc), s), queue_of(original.book(kBtc), s));
  }
  ASSERT_NE(restored.find_resting("s2"), nullptr);
  EXPECT_EQ(describe(*restored.find_resting("s2")), describe(*original.find_resting("s2")));
  EXPECT_EQ(restored.presence("m1"), order_presence::finished);

  // The same commands produce the same events on both.
  const std::vector<place_order> follow_up{
      market("m2", side::buy, qty("3")),
      buy_limit("b4", px("101.00"), qty("1")),
      market("m3", side::sell, qty("2.5")),
      sell_limit("s5", px("98.00"), qty("2")),
      limit("f1", side::buy, px("98.00"), qty("5"), time_in_force::fok),
      buy_limit("s1", px("1.00"), qty("1")),  // finished id: duplicate on both
  };
  for (const place_order& cmd : follow_up) {
    event_buffer original_events;
    event_buffer restored_events;
    place_order stamped = cmd;
    stamped.received_at = ++now;
    const command_result a = original.place(stamped, original_events);
    const command_result b = restored.place(stamped, restored_events);
    EXPECT_EQ(a.error, b.error) << cmd.id.view();
    EXPECT_EQ(a.sequence, b.sequence) << cmd.id.view();
    EXPECT_EQ(describe_all(restored_events), describe_all(original_events)) << cmd.id.view();
  }
  for (const char* id : {"b2", "m1", "s2", "b1"}) {
    event_buffer original_events;
    event_buffer restored_events;
    EXPECT_EQ(original.cancel(cancel_of(id), original_events).error,
              restored.cancel(cancel_of(id), restored_events).error)
        << id;
    EXPECT_EQ(describe_all(restored_events), describe_all(original_events)) << id;
  }
  EXPECT_EQ(restored.check_invariants(), "");
  EXPECT_EQ(original.check_invariants(), "");
}

TEST(recovery, restored_ids_count_as_duplicates) {
  matching_engine engine{{instrument::btc_usd()}, small_options()};
  order resting;
  resting.id = order_id::from("r1");
  resting.client = client_id::from("c");
  resting.order_side = side::buy;
  resting.price = px("100.00");
  resting.quantity = qty("1");
  resting.created_sequence = 5;
  resting.sequence = 5;
  ASSERT_EQ(engine.restore_resting(resting), errc::ok);
  EXPECT_EQ(engine.restore_resting(resting), errc::duplicate_order_id);
  engine.restore_finished_id("f1");
  engine.restore_counters(10, 4);

  event_buffer out;
  EXPECT_EQ(engine.place(buy_limit("r1", px("1.00"), qty("1")), out).error,
            errc::duplicate_order_id);
  EXPECT_EQ(engine.place(buy_limit("f1", px("1.00"), qty("1")), out).error,
            errc::duplicate_order_id);
  EXPECT_EQ(engine.cancel(cancel_of("f1"), out).error, errc::order_not_open);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(engine.last_sequence(), 10u) << "refused commands take no number";

  // The counter continues from the restored value: trade 11, r1 filled 12, m filled 13,
  // bid level delta 14.
  const command_result r = engine.place(market("m", side::sell, qty("1")), out);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.sequence, 14u);
  EXPECT_EQ(engine.last_sequence(), 14u);
  EXPECT_EQ(sequences_of(out), (std::vector<sequence_number>{11, 12, 13, 14}));
  const split_events e = split(out);
  ASSERT_EQ(e.trades.size(), 1u);
  EXPECT_EQ(e.trades[0].id, 5u);
  EXPECT_EQ(e.trades[0].sequence, 11u);
  EXPECT_EQ(e.trades[0].buy_order_id.view(), "r1");
  ASSERT_EQ(e.orders.size(), 2u);
  EXPECT_EQ(e.orders[0].id.view(), "r1");
  EXPECT_EQ(e.orders[0].sequence, 12u);
  EXPECT_EQ(e.orders[0].created_sequence, 5u) << "restored time priority is kept";
  EXPECT_EQ(e.orders[1].id.view(), "m");
  EXPECT_EQ(e.orders[1].created_sequence, 11u);
  EXPECT_EQ(e.orders[1].sequence, 13u);
  EXPECT_EQ(engine.presence("r1"), order_presence::finished);
  EXPECT_EQ(engine.check_invariants(), "");
}

TEST(recovery, restore_resting_rejects_an_unknown_instrument) {
  matching_engine engine{{instrument::btc_usd()}, small_options()};
  order resting;
  resting.id = order_id::from("r1");
  resting.instrument = 3;
  resting.price = px("100.00");
  resting.quantity = qty("1");
  EXPECT_EQ(engine.restore_resting(resting), errc::unknown_instrument);
  EXPECT_EQ(engine.presence("r1"), order_presence::unknown);
}

// --- error codes and names ---------------------------------------------------------------------

TEST(engine_names, error_codes_are_the_stable_api_codes) {
  EXPECT_EQ(to_code(errc::duplicate_order_id), "duplicate_order_id");
  EXPECT_EQ(to_code(errc::order_not_found), "order_not_found");
  EXPECT_EQ(to_code(errc::order_not_open), "order_not_open");
  EXPECT_EQ(to_code(errc::unknown_instrument), "unknown_instrument");
  EXPECT_EQ(to_code(errc::book_full), "book_full");
  const std::error_code ec = errc::order_not_found;
  EXPECT_EQ(&ec.category(), &engine_category());
  EXPECT_FALSE(ec.message().empty());
  EXPECT_TRUE(ec);
}

TEST(engine_names, enums_print_as_the_api_spells_them) {
  EXPECT_EQ(to_string(side::buy), "buy");
  EXPECT_EQ(to_string(side::sell), "sell");
  EXPECT_EQ(to_string(order_type::limit), "limit");
  EXPECT_EQ(to_string(order_type::market), "market");
  EXPECT_EQ(to_string(time_in_force::gtc), "gtc");
  EXPECT_EQ(to_string(time_in_force::ioc), "ioc");
  EXPECT_EQ(to_string(time_in_force::fok), "fok");
  EXPECT_EQ(to_string(order_status::open), "open");
  EXPECT_EQ(to_string(order_status::partially_filled), "partially_filled");
  EXPECT_EQ(to_string(order_status::filled), "filled");
  EXPECT_EQ(to_string(order_status::cancelled), "cancelled");
  EXPECT_EQ(to_string(order_status::rejected), "rejected");
}

// A command stamped earlier than one the engine already ran (two I/O threads' clocks, or the
// queueing between the stamp and the engine) runs at the latest time seen: event times never
// go back in sequence order, so trades by time and trades by trade_id agree.
TEST(engine_clock, event_times_never_go_back_in_sequence_order) {
  matching_engine engine{{instrument::btc_usd()}, small_options()};
  event_buffer out;
  place_order maker = sell_limit("m1", px("100.00"), qty("2"));
  maker.received_at = 5'000;
  ASSERT_TRUE(engine.place(maker, out).ok());
  place_order late = buy_limit("t1", px("100.00"), qty("1"));
  late.received_at = 4'000;  // stamped before the maker, run after it
  ASSERT_TRUE(engine.place(late, out).ok());
  place_order later = buy_limit("t2", px("100.00"), qty("1"));
  later.received_at = 6'000;
  ASSERT_TRUE(engine.place(later, out).ok());
  timestamp_us last = 0;
  for (const event& e : out) {
    const timestamp_us t = std::visit(
        [](const auto& v) -> timestamp_us {
          if constexpr (std::is_same_v<std::decay_t<decltype(v)>, trade>) {
            return v.executed_at;
          } else if constexpr (std::is_same_v<std::decay_t<decltype(v)>, order>) {
            return v.updated_at;
          } else {
            return 0;
          }
        },
        e);
    if (t == 0) continue;
    EXPECT_GE(t, last) << "event " << sequence_of(e);
    last = t;
  }
  const std::vector<trade> trades = split(out).trades;
  ASSERT_EQ(trades.size(), 2u);
  EXPECT_EQ(trades[0].executed_at, 5'000);  // the late taker ran at the maker's time
  EXPECT_EQ(trades[1].executed_at, 6'000);
}

}  // namespace
}  // namespace matchd::engine
