// Maker and taker fees (docs/api.md, "Fees"): each side pays its rate on the trade's notional,
// in quote at the price precision, rounded half up, fixed on the trade when it happens.

#include <gtest/gtest.h>
#include <matchd/engine/fees.h>
#include <matchd/engine/matching_engine.h>

#include <limits>
#include <vector>

#include "builders.h"

namespace matchd::engine {
namespace {

using namespace test_support;

TEST(fee_schedule, parses_two_whole_basis_point_rates) {
  EXPECT_EQ(fee_schedule::parse("0,0"), (fee_schedule{0, 0}));
  EXPECT_EQ(fee_schedule::parse("2,5"), (fee_schedule{2, 5}));
  EXPECT_EQ(fee_schedule::parse("1000,0"), (fee_schedule{1000, 0}));
  EXPECT_FALSE(fee_schedule::parse("0,0")->charges());
  EXPECT_TRUE(fee_schedule::parse("0,1")->charges());
  for (const char* bad :
       {"", "5", "5,", ",5", "1001,0", "-1,5", "1.5,2", "2,5,7", " 2,5", "2,5x"}) {
    EXPECT_FALSE(fee_schedule::parse(bad).has_value()) << bad;
  }
}

// BTC-USD: tick 0.01, lot 0.00000001; a fee is in cents.
TEST(fee_calculator, charges_the_rate_on_the_notional_rounded_half_up_to_the_cent) {
  const fee_calculator fees(btc_usd(), fee_schedule{10, 25});
  // 2 BTC at 100.00: notional 200.00; 10 bps = 0.20, 25 bps = 0.50.
  const int128 notional = static_cast<int128>(px("100.00").value) * qty("2").value;
  EXPECT_EQ(fees.maker_fee(notional), 20);
  EXPECT_EQ(fees.taker_fee(notional), 50);
  // 0.00000001 BTC at 0.01: far below a cent, rounds to nothing.
  EXPECT_EQ(fees.taker_fee(1), 0);
  // Exactly half a cent rounds up: 2.00 of notional at 25 bps is 0.005.
  const int128 half_cent = static_cast<int128>(px("2.00").value) * qty("1").value;
  EXPECT_EQ(fees.taker_fee(half_cent), 1);
  // Just below half a cent rounds down.
  EXPECT_EQ(fees.taker_fee(half_cent - 1), 0);
  // Large notionals stay exact: 10,000 BTC at 1,000,000,000.00, 10% = 1e12 quote.
  const fee_calculator tenth(btc_usd(), fee_schedule{0, kMaxFeeBps});
  const int128 huge = static_cast<int128>(px("1000000000.00").value) * qty("10000").value;
  EXPECT_EQ(tenth.taker_fee(huge), 100'000'000'000'000);
  EXPECT_EQ(fee_calculator().taker_fee(huge), 0) << "no schedule: no fee";
  // A lot of 1 at the default limits: the largest trade's fee passes 64 bits. It is held at
  // the largest value, never wrapped to a negative fee.
  const fee_calculator whole(*instrument::parse_spec("X:0.01:1"), fee_schedule{0, kMaxFeeBps});
  const int128 largest = static_cast<int128>(100'000'000'000) * 1'000'000'000'000;
  EXPECT_EQ(whole.taker_fee(largest), std::numeric_limits<std::int64_t>::max());
  EXPECT_GT(whole.taker_fee(largest / 1'000'000'000), 0);
}

TEST(fee_calculator, follows_the_instruments_increments) {
  // Tick 0.05 and lot 0.1: notional in ticks x lots is 0.005 quote a unit.
  const instrument coarse = *instrument::parse_spec("X-Y:0.05:0.1");
  const fee_calculator fees(coarse, fee_schedule{100, 100});
  // 3.0 at 20.00: 400 ticks x 30 lots = 60.00 quote; 1% = 0.60.
  EXPECT_EQ(fees.taker_fee(static_cast<int128>(400) * 30), 60);
}

class trade_fees : public ::testing::Test {
 protected:
  command_result place(place_order cmd) {
    cmd.received_at = now += 1000;
    out.clear();
    return engine.place(cmd, out);
  }

  matching_engine engine{std::vector{btc_usd()}, [] {
                           engine_options o;
                           o.fees = fee_schedule{2, 7};
                           return o;
                         }()};
  event_buffer out;
  timestamp_us now = 1'000'000;
};

TEST_F(trade_fees, each_fill_charges_the_resting_side_the_maker_rate_and_the_taker_the_taker_rate) {
  ASSERT_TRUE(place(sell_limit("a1", px("100.00"), qty("1"))).ok());
  ASSERT_TRUE(place(sell_limit("a2", px("101.00"), qty("3"))).ok());
  ASSERT_TRUE(place(buy_limit("b", px("101.00"), qty("2"))).ok());
  const auto trades = split(out).trades;
  ASSERT_EQ(trades.size(), 2u);
  // 100.00 x 1: 2 bps = 0.02, 7 bps = 0.07. 101.00 x 1: 0.0202 -> 0.02, 0.0707 -> 0.07.
  EXPECT_EQ(trades[0].maker_fee, 2);
  EXPECT_EQ(trades[0].taker_fee, 7);
  EXPECT_EQ(trades[1].maker_fee, 2);
  EXPECT_EQ(trades[1].taker_fee, 7);

  // A sell taker pays the taker rate too: 100.50 x 2 = 201.00 -> 0.0402 and 0.1407.
  ASSERT_TRUE(place(buy_limit("b2", px("100.50"), qty("2"))).ok());
  ASSERT_TRUE(place(market("s", side::sell, qty("2"))).ok());
  const auto sell = split(out).trades;
  ASSERT_EQ(sell.size(), 1u);
  EXPECT_EQ(sell[0].aggressor, side::sell);
  EXPECT_EQ(sell[0].maker_fee, 4);
  EXPECT_EQ(sell[0].taker_fee, 14);
}

TEST_F(trade_fees, an_instrument_added_at_runtime_charges_the_same_rates) {
  instrument eth = *instrument::parse_spec("ETH-USD:0.01:0.0001");
  ASSERT_TRUE(engine.add_instrument(eth).ok());
  const auto id = *engine.find_instrument("ETH-USD");
  place_order ask = sell_limit("e-a", ticks(500'000), quantity_lots{100'000});  // 10 at 5,000
  ask.instrument = id;
  place_order bid = buy_limit("e-b", ticks(500'000), quantity_lots{100'000});
  bid.instrument = id;
  ASSERT_TRUE(place(ask).ok());
  ASSERT_TRUE(place(bid).ok());
  const auto trades = split(out).trades;
  ASSERT_EQ(trades.size(), 1u);
  // 50,000.00 of notional: 2 bps = 10.00, 7 bps = 35.00.
  EXPECT_EQ(trades[0].maker_fee, 1'000);
  EXPECT_EQ(trades[0].taker_fee, 3'500);
}

}  // namespace
}  // namespace matchd::engine
