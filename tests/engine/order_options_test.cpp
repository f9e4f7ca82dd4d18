// The order options of docs/api.md: post_only, self-trade prevention (stp) and amend
// (PATCH /orders/{id}), one rule per test, on a single BTC-USD book.

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

class order_options : public ::testing::Test {
 protected:
  command_result place(place_order cmd) {
    cmd.received_at = next_time();
    out.clear();
    return engine.place(cmd, out);
  }
  command_result amend(amend_order cmd) {
    cmd.received_at = next_time();
    out.clear();
    return engine.amend(cmd, out);
  }
  void given(const place_order& cmd) { ASSERT_TRUE(place(cmd).ok()) << cmd.id.view(); }
  timestamp_us next_time() { return now += 1000; }

  std::vector<trade> trades() const { return split(out).trades; }
  std::vector<level_delta> deltas() const { return split(out).deltas; }
  order state_of(std::string_view id) const {
    const std::vector<order> orders = split(out).orders;
    for (auto it = orders.rbegin(); it != orders.rend(); ++it) {
      if (it->id.view() == id) return *it;
    }
    ADD_FAILURE() << "no state emitted for " << id;
    return {};
  }
  std::vector<std::string> asks() const { return queue_of(engine.book(kBtc), side::sell); }
  std::vector<std::string> bids() const { return queue_of(engine.book(kBtc), side::buy); }

  void TearDown() override { EXPECT_EQ(engine.check_invariants(), ""); }

  matching_engine engine{{instrument::btc_usd()}};
  event_buffer out;
  timestamp_us now = 1'700'000'000'000'000;
};

// --- post_only ---

TEST_F(order_options, post_only_that_would_cross_is_created_rejected_without_trading) {
  given(sell_limit("s1", px("100.00"), qty("1")));
  ASSERT_TRUE(place(post_only(buy_limit("b1", px("100.00"), qty("1")))).ok());
  EXPECT_TRUE(trades().empty());
  const order b1 = state_of("b1");
  EXPECT_EQ(b1.status, order_status::rejected);
  EXPECT_EQ(b1.reason, end_reason::would_take);
  EXPECT_TRUE(deltas().empty());
  EXPECT_EQ(asks(), std::vector<std::string>{"s1"});
  EXPECT_EQ(engine.presence("b1"), order_presence::finished);
}

TEST_F(order_options, post_only_that_does_not_cross_rests) {
  given(sell_limit("s1", px("100.00"), qty("1")));
  ASSERT_TRUE(place(post_only(buy_limit("b1", px("99.99"), qty("1")))).ok());
  EXPECT_EQ(state_of("b1").status, order_status::open);
  EXPECT_TRUE(state_of("b1").post_only);
  EXPECT_EQ(bids(), std::vector<std::string>{"b1"});
}

// --- self-trade prevention ---

TEST_F(order_options, stp_is_cancel_taker_by_default_and_the_resting_order_stays) {
  given(of_client(sell_limit("s1", px("100.00"), qty("1")), "alice"));
  ASSERT_TRUE(place(of_client(buy_limit("b1", px("100.00"), qty("1")), "alice")).ok());
  EXPECT_TRUE(trades().empty());
  EXPECT_EQ(state_of("b1").status, order_status::cancelled);
  EXPECT_EQ(state_of("b1").reason, end_reason::self_trade_prevention);
  EXPECT_EQ(asks(), std::vector<std::string>{"s1"});
  EXPECT_TRUE(bids().empty());
}

TEST_F(order_options, cancel_taker_keeps_the_fills_before_its_own_order) {
  given(of_client(sell_limit("s1", px("100.00"), qty("1")), "bob"));
  given(of_client(sell_limit("s2", px("100.00"), qty("1")), "alice"));
  given(of_client(sell_limit("s3", px("100.00"), qty("1")), "bob"));
  ASSERT_TRUE(place(of_client(buy_limit("b1", px("100.00"), qty("3")), "alice")).ok());
  ASSERT_EQ(trades().size(), 1u);
  EXPECT_EQ(trades()[0].sell_order_id.view(), "s1");
  const order b1 = state_of("b1");
  EXPECT_EQ(b1.status, order_status::cancelled);
  EXPECT_EQ(b1.filled, qty("1"));
  EXPECT_EQ(b1.reason, end_reason::self_trade_prevention);
  EXPECT_EQ(asks(), (std::vector<std::string>{"s2", "s3"}));
}

TEST_F(order_options, cancel_maker_cancels_the_own_resting_order_and_goes_on) {
  given(of_client(sell_limit("s1", px("100.00"), qty("1")), "alice"));
  given(of_client(sell_limit("s2", px("100.00"), qty("1")), "bob"));
  ASSERT_TRUE(place(with_stp(of_client(buy_limit("b1", px("100.00"), qty("1")), "alice"),
                             stp_mode::cancel_maker))
                  .ok());
  ASSERT_EQ(trades().size(), 1u);
  EXPECT_EQ(trades()[0].sell_order_id.view(), "s2");
  EXPECT_EQ(state_of("s1").status, order_status::cancelled);
  EXPECT_EQ(state_of("s1").reason, end_reason::self_trade_prevention);
  EXPECT_EQ(state_of("b1").status, order_status::filled);
  EXPECT_EQ(state_of("b1").reason, end_reason::none);
  EXPECT_TRUE(asks().empty());
  EXPECT_EQ(engine.presence("s1"), order_presence::finished);
}

TEST_F(order_options, cancel_both_cancels_the_resting_order_and_the_taker) {
  given(of_client(sell_limit("s1", px("100.00"), qty("1")), "alice"));
  given(of_client(sell_limit("s2", px("100.00"), qty("1")), "bob"));
  ASSERT_TRUE(place(with_stp(of_client(buy_limit("b1", px("100.00"), qty("1")), "alice"),
                             stp_mode::cancel_both))
                  .ok());
  EXPECT_TRUE(trades().empty());
  EXPECT_EQ(state_of("s1").reason, end_reason::self_trade_prevention);
  EXPECT_EQ(state_of("b1").status, order_status::cancelled);
  EXPECT_EQ(state_of("b1").reason, end_reason::self_trade_prevention);
  EXPECT_EQ(asks(), std::vector<std::string>{"s2"});
  ASSERT_EQ(deltas().size(), 1u);
  EXPECT_EQ(deltas()[0].quantity, qty("1"));
  EXPECT_EQ(deltas()[0].orders, 1u);
}

TEST_F(order_options, stp_none_lets_a_client_trade_with_itself) {
  given(of_client(sell_limit("s1", px("100.00"), qty("1")), "alice"));
  ASSERT_TRUE(
      place(with_stp(of_client(buy_limit("b1", px("100.00"), qty("1")), "alice"), stp_mode::none))
          .ok());
  EXPECT_EQ(trades().size(), 1u);
  EXPECT_EQ(state_of("b1").status, order_status::filled);
}

TEST_F(order_options, a_fok_that_could_fill_only_against_its_own_client_is_rejected) {
  given(of_client(sell_limit("s1", px("100.00"), qty("1")), "alice"));
  place_order fok = of_client(buy_limit("b1", px("100.00"), qty("1")), "alice");
  fok.tif = time_in_force::fok;
  ASSERT_TRUE(place(with_stp(fok, stp_mode::cancel_maker)).ok());
  EXPECT_EQ(state_of("b1").status, order_status::rejected);
  EXPECT_TRUE(trades().empty());
  EXPECT_EQ(asks(), std::vector<std::string>{"s1"});  // nothing cancelled either
}

// --- amend ---

TEST_F(order_options, a_lower_quantity_keeps_the_place_in_the_level) {
  given(sell_limit("s1", px("100.00"), qty("2")));
  given(sell_limit("s2", px("100.00"), qty("1")));
  ASSERT_TRUE(amend(amend_of("s1", price_ticks{}, qty("1"))).ok());
  const order s1 = state_of("s1");
  EXPECT_EQ(s1.quantity, qty("1"));
  EXPECT_TRUE(s1.amended);
  EXPECT_EQ(asks(), (std::vector<std::string>{"s1", "s2"}));
  ASSERT_EQ(deltas().size(), 1u);
  EXPECT_EQ(deltas()[0].quantity, qty("2"));
  ASSERT_TRUE(place(buy_limit("b1", px("100.00"), qty("1"))).ok());
  ASSERT_EQ(trades().size(), 1u);
  EXPECT_EQ(trades()[0].sell_order_id.view(), "s1");
}

TEST_F(order_options, a_higher_quantity_goes_to_the_back_of_the_level) {
  given(sell_limit("s1", px("100.00"), qty("1")));
  given(sell_limit("s2", px("100.00"), qty("1")));
  const sequence_number before = engine.last_sequence();
  ASSERT_TRUE(amend(amend_of("s1", price_ticks{}, qty("3"))).ok());
  EXPECT_EQ(state_of("s1").created_sequence, before + 1);
  EXPECT_EQ(asks(), (std::vector<std::string>{"s2", "s1"}));
  ASSERT_EQ(deltas().size(), 1u);
  EXPECT_EQ(deltas()[0].quantity, qty("4"));
  EXPECT_EQ(deltas()[0].orders, 2u);
}

TEST_F(order_options, a_new_price_moves_the_order_to_the_back_of_the_new_level) {
  given(sell_limit("s1", px("100.00"), qty("1")));
  given(sell_limit("s2", px("101.00"), qty("1")));
  ASSERT_TRUE(amend(amend_of("s1", px("101.00"), quantity_lots{})).ok());
  EXPECT_EQ(asks(), (std::vector<std::string>{"s2", "s1"}));
  ASSERT_EQ(deltas().size(), 2u);  // the old level emptied, the new one grew
  EXPECT_EQ(deltas()[0].price, px("100.00"));
  EXPECT_EQ(deltas()[0].quantity, lots(0));
  EXPECT_EQ(deltas()[1].price, px("101.00"));
  EXPECT_EQ(deltas()[1].orders, 2u);
}

TEST_F(order_options, an_amend_that_crosses_trades_at_once_as_a_taker_and_keeps_its_fills) {
  given(buy_limit("b1", px("99.00"), qty("1")));
  given(sell_limit("s1", px("100.00"), qty("3")));
  ASSERT_TRUE(place(buy_limit("b2", px("100.00"), qty("1"))).ok());  // s1 filled 1
  ASSERT_TRUE(amend(amend_of("s1", px("99.00"), quantity_lots{})).ok());
  ASSERT_EQ(trades().size(), 1u);
  EXPECT_EQ(trades()[0].buy_order_id.view(), "b1");
  EXPECT_EQ(trades()[0].aggressor, side::sell);
  EXPECT_EQ(trades()[0].price, px("99.00"));
  const order s1 = state_of("s1");
  EXPECT_EQ(s1.filled, qty("2"));
  EXPECT_EQ(s1.status, order_status::partially_filled);
  EXPECT_EQ(s1.price, px("99.00"));
  EXPECT_EQ(asks(), std::vector<std::string>{"s1"});
}

TEST_F(order_options, an_amend_that_fills_completely_finishes_the_order) {
  given(buy_limit("b1", px("99.00"), qty("1")));
  given(sell_limit("s1", px("100.00"), qty("1")));
  ASSERT_TRUE(amend(amend_of("s1", px("99.00"), quantity_lots{})).ok());
  EXPECT_EQ(state_of("s1").status, order_status::filled);
  EXPECT_EQ(engine.presence("s1"), order_presence::finished);
  EXPECT_EQ(engine.amend(amend_of("s1", px("98.00"), quantity_lots{}), out).error,
            errc::order_not_open);
}

TEST_F(order_options, an_amend_that_meets_its_own_client_applies_its_stp) {
  given(of_client(buy_limit("b1", px("99.00"), qty("1")), "alice"));
  given(of_client(sell_limit("s1", px("100.00"), qty("1")), "alice"));
  ASSERT_TRUE(amend(amend_of("s1", px("99.00"), quantity_lots{})).ok());
  EXPECT_TRUE(trades().empty());
  EXPECT_EQ(state_of("s1").status, order_status::cancelled);
  EXPECT_EQ(state_of("s1").reason, end_reason::self_trade_prevention);
  EXPECT_EQ(bids(), std::vector<std::string>{"b1"});
  EXPECT_EQ(engine.presence("s1"), order_presence::finished);
}

TEST_F(order_options, a_quantity_not_above_what_filled_is_refused) {
  given(sell_limit("s1", px("100.00"), qty("3")));
  given(buy_limit("b1", px("100.00"), qty("2")));
  EXPECT_EQ(amend(amend_of("s1", price_ticks{}, qty("2"))).error, errc::quantity_not_above_filled);
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(amend(amend_of("s1", price_ticks{}, qty("2.5"))).ok());
  EXPECT_EQ(state_of("s1").remaining(), qty("0.5"));
}

TEST_F(order_options, a_post_only_order_amended_to_a_crossing_price_is_refused_unchanged) {
  given(buy_limit("b1", px("99.00"), qty("1")));
  given(post_only(sell_limit("s1", px("100.00"), qty("1"))));
  const sequence_number before = engine.last_sequence();
  EXPECT_EQ(amend(amend_of("s1", px("99.00"), quantity_lots{})).error, errc::would_take);
  EXPECT_EQ(engine.last_sequence(), before);
  EXPECT_EQ(asks(), std::vector<std::string>{"s1"});
}

TEST_F(order_options, an_amend_outside_the_scope_or_of_another_instrument_is_not_found) {
  given(of_client(sell_limit("s1", px("100.00"), qty("1")), "alice"));
  amend_order foreign = amend_of("s1", price_ticks{}, qty("0.5"));
  foreign.scope = scope_of({"bob"});
  EXPECT_EQ(amend(foreign).error, errc::order_not_found);
  amend_order elsewhere = amend_of("s1", price_ticks{}, qty("0.5"));
  elsewhere.instrument = 1;
  EXPECT_EQ(amend(elsewhere).error, errc::order_not_found);
  EXPECT_EQ(amend(amend_of("nope", price_ticks{}, qty("0.5"))).error, errc::order_not_found);
}

TEST_F(order_options, a_restore_in_created_sequence_order_keeps_the_lost_priority) {
  given(sell_limit("s1", px("100.00"), qty("1")));
  given(sell_limit("s2", px("100.00"), qty("1")));
  ASSERT_TRUE(amend(amend_of("s1", price_ticks{}, qty("2"))).ok());
  std::vector<order> resting;
  engine.book(kBtc).for_each_order(side::sell, [&](const order& o) { resting.push_back(o); });
  std::sort(resting.begin(), resting.end(),
            [](const order& a, const order& b) { return a.created_sequence < b.created_sequence; });
  matching_engine copy({instrument::btc_usd()});
  for (const order& o : resting) ASSERT_EQ(copy.restore_resting(o), errc::ok);
  EXPECT_EQ(queue_of(copy.book(kBtc), side::sell), (std::vector<std::string>{"s2", "s1"}));
}

}  // namespace
}  // namespace matchd::engine
