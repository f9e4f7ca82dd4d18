// The retention horizon in the engine (engine_options::retention_us): a finished order's id
// is refused as a duplicate within the horizon, forgotten after it (expire_finished), and
// then unknown; open orders are never forgotten.
#include <matchd/engine/matching_engine.h>

#include <vector>

#include "builders.h"

namespace matchd::engine {
namespace {

using namespace test_support;

constexpr timestamp_us kHorizon = 1'000'000;

class retention : public ::testing::Test {
 protected:
  matching_engine engine_{{btc_usd()}, options()};
  event_buffer out_;

  static engine_options options() {
    engine_options o;
    o.expected_orders_per_book = 64;
    o.retention_us = kHorizon;
    return o;
  }
  command_result place_at(place_order cmd, timestamp_us at) {
    cmd.received_at = at;
    return engine_.place(cmd, out_);
  }
  command_result cancel_at(std::string_view id, timestamp_us at) {
    cancel_order cmd = cancel_of(id);
    cmd.received_at = at;
    return engine_.cancel(cmd, out_);
  }
  std::vector<std::string> expire(timestamp_us now, std::size_t budget = 100) {
    std::vector<std::string> ids;
    engine_.expire_finished(now, budget, [&](const order_id& id) { ids.emplace_back(id.view()); });
    return ids;
  }
};

TEST_F(retention, a_finished_id_is_a_duplicate_within_the_horizon_and_free_after_it) {
  ASSERT_TRUE(place_at(sell_limit("s", px("100.00"), qty("1")), 0).ok());
  ASSERT_TRUE(place_at(buy_limit("b", px("100.00"), qty("1")), 10).ok());  // both filled at 10
  EXPECT_TRUE(expire(10 + kHorizon - 1).empty());
  EXPECT_EQ(place_at(sell_limit("s", px("100.00"), qty("1")), 20).error, errc::duplicate_order_id);
  EXPECT_EQ(engine_.presence("b"), order_presence::finished);

  EXPECT_EQ(expire(10 + kHorizon), (std::vector<std::string>{"s", "b"}));
  EXPECT_EQ(engine_.presence("s"), order_presence::unknown);
  EXPECT_EQ(cancel_at("b", 10 + kHorizon).error, errc::order_not_found);
  // The id is free again: a new order takes it.
  EXPECT_TRUE(place_at(sell_limit("s", px("101.00"), qty("1")), 10 + kHorizon).ok());
  EXPECT_EQ(engine_.presence("s"), order_presence::resting);
  EXPECT_EQ(engine_.check_invariants(), "");
}

TEST_F(retention, open_orders_are_never_forgotten_and_a_cancel_starts_the_horizon) {
  ASSERT_TRUE(place_at(sell_limit("rest", px("100.00"), qty("1")), 0).ok());
  EXPECT_TRUE(expire(100 * kHorizon).empty());
  EXPECT_EQ(engine_.presence("rest"), order_presence::resting);
  ASSERT_TRUE(cancel_at("rest", 100 * kHorizon).ok());
  EXPECT_TRUE(expire(101 * kHorizon - 1).empty());
  EXPECT_EQ(expire(101 * kHorizon), std::vector<std::string>{"rest"});
  EXPECT_EQ(engine_.finished_retained(), 0U);
}

TEST_F(retention, expiry_is_bounded_by_its_budget) {
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(place_at(market("m" + std::to_string(i), side::buy, qty("1")), i).ok());
  }
  EXPECT_EQ(expire(kHorizon + 100, 3).size(), 3U);
  EXPECT_EQ(engine_.finished_retained(), 7U);
  EXPECT_EQ(expire(kHorizon + 100).size(), 7U);
}

TEST_F(retention, restored_finished_ids_expire_from_their_last_update) {
  engine_.restore_finished_id("old", 5);
  EXPECT_EQ(place_at(sell_limit("old", px("100.00"), qty("1")), 6).error, errc::duplicate_order_id);
  EXPECT_EQ(expire(5 + kHorizon), std::vector<std::string>{"old"});
  EXPECT_TRUE(place_at(sell_limit("old", px("100.00"), qty("1")), 5 + kHorizon).ok());
}

TEST(retention_off, without_a_horizon_ids_are_kept_for_ever) {
  matching_engine engine({test_support::btc_usd()});
  event_buffer out;
  place_order cmd = test_support::market("m", side::buy, test_support::qty("1"));
  ASSERT_TRUE(engine.place(cmd, out).ok());
  std::size_t forgotten = 0;
  engine.expire_finished(1'000'000'000'000, 100, [&](const order_id&) { ++forgotten; });
  EXPECT_EQ(forgotten, 0U);
  EXPECT_EQ(engine.place(cmd, out).error, errc::duplicate_order_id);
}

}  // namespace
}  // namespace matchd::engine
