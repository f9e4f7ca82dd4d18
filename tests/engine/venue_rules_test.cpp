// The venue's rules of docs/api.md ("Instruments", "Price bands"): halts, price bands around
// the reference price, the max notional of an order, and instruments added at runtime.

#include <gtest/gtest.h>
#include <matchd/engine/matching_engine.h>
#include <matchd/engine/venue_rules.h>

#include <limits>
#include <string>
#include <vector>

#include "builders.h"

namespace matchd::engine {
namespace {

using namespace test_support;

constexpr instrument_id kBtc = 0;

// BTC-USD with a 5% band (500 bps) and a max notional of 1,000,000.00 USD.
instrument banded_btc() {
  return *instrument::parse_spec("BTC-USD:0.01:0.00000001:band_bps=500:max_notional=1000000");
}

class venue_rules : public ::testing::Test {
 protected:
  command_result place(place_order cmd) {
    cmd.received_at = now += 1000;
    out.clear();
    return engine.place(cmd, out);
  }
  command_result cancel(cancel_order cmd) {
    cmd.received_at = now += 1000;
    out.clear();
    return engine.cancel(cmd, out);
  }
  void given(const place_order& cmd) { ASSERT_TRUE(place(cmd).ok()) << cmd.id.view(); }
  // A trade at `price` (1 lot), so the reference price is `price`.
  void trade_at(price_ticks price) {
    given(sell_limit("ref-s" + std::to_string(++refs), price, lots(1)));
    given(buy_limit("ref-b" + std::to_string(refs), price, lots(1)));
    ASSERT_EQ(engine.reference(kBtc), price);
  }
  order taker() const { return split(out).orders.back(); }

  matching_engine engine{std::vector{banded_btc()}};
  event_buffer out;
  timestamp_us now = 1'000'000;
  int refs = 0;
};

TEST(instrument_spec, parses_band_and_max_notional) {
  const instrument ins = banded_btc();
  EXPECT_EQ(ins.band_bps, 500u);
  EXPECT_EQ(ins.max_notional_units, 100'000'000);  // 1,000,000.00 at price scale 2
  const instrument plain = *instrument::parse_spec("ETH-USD:0.01:0.0001");
  EXPECT_EQ(plain.band_bps, 0u);
  EXPECT_EQ(plain.max_notional_units, 0);
  EXPECT_EQ(instrument::parse_spec("ETH-USD:0.01:0.0001:max_notional=5.5")->max_notional_units,
            550);
}

TEST(instrument_spec, refuses_bad_rules) {
  for (const char* spec :
       {"ETH-USD:0.01:0.0001:", "ETH-USD:0.01:0.0001:band_bps", "ETH-USD:0.01:0.0001:band_bps=0",
        "ETH-USD:0.01:0.0001:band_bps=-5", "ETH-USD:0.01:0.0001:band_bps=100001",
        "ETH-USD:0.01:0.0001:band_bps=5x", "ETH-USD:0.01:0.0001:max_notional=0",
        "ETH-USD:0.01:0.0001:max_notional=1.001", "ETH-USD:0.01:0.0001:colour=red",
        "ETH-USD:0.01:0.0001:band_bps=5:band_bps=6"}) {
    EXPECT_FALSE(instrument::parse_spec(spec).has_value()) << spec;
  }
}

TEST_F(venue_rules, without_a_reference_price_no_band_applies) {
  EXPECT_FALSE(engine.reference(kBtc).has_value());
  EXPECT_TRUE(place(sell_limit("far", px("1.00"), lots(1))).ok());
}

TEST_F(venue_rules, a_limit_price_beyond_the_band_is_refused) {
  trade_at(px("100.00"));
  EXPECT_EQ(place(buy_limit("b-high", px("105.01"), lots(1))).error, errc::price_out_of_band);
  EXPECT_EQ(place(sell_limit("s-low", px("94.99"), lots(1))).error, errc::price_out_of_band);
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(place(buy_limit("b-edge", px("105.00"), lots(1))).ok());
  EXPECT_TRUE(place(sell_limit("s-edge", px("95.00"), lots(1))).ok());
  // The band is two-sided: a passive buy far below is refused too.
  EXPECT_EQ(place(buy_limit("b-low", px("94.99"), lots(1))).error, errc::price_out_of_band);
}

TEST_F(venue_rules, the_reference_follows_the_last_trade) {
  trade_at(px("100.00"));
  trade_at(px("104.00"));
  EXPECT_TRUE(place(buy_limit("b", px("109.20"), lots(1))).ok());
}

TEST_F(venue_rules, a_market_order_stops_at_the_band) {
  trade_at(px("100.00"));
  given(sell_limit("a1", px("101.00"), lots(2)));
  given(sell_limit("a2", px("105.00"), lots(2)));
  // An ask beyond the band (rested when the reference was elsewhere: set here directly).
  engine.restore_last_trade(kBtc, px("110.00"));
  given(sell_limit("a3", px("110.00"), lots(2)));
  engine.restore_last_trade(kBtc, px("100.00"));

  ASSERT_TRUE(place(market("m", side::buy, lots(6))).ok());
  const split_events e = split(out);
  ASSERT_EQ(e.trades.size(), 2u);
  EXPECT_EQ(e.trades[1].price, px("105.00"));
  EXPECT_EQ(taker().status, order_status::cancelled);
  EXPECT_EQ(taker().filled, lots(4));
  EXPECT_EQ(levels_of(engine.book(kBtc), side::sell).front().price, px("110.00").value);
}

TEST_F(venue_rules, a_limit_order_above_the_max_notional_is_refused) {
  // 1,000,000.00 USD: 10 BTC at 100,000.00 is exactly it, one lot more is not.
  EXPECT_EQ(place(buy_limit("big", px("100000.00"), qty("10.00000001"))).error,
            errc::notional_too_large);
  EXPECT_TRUE(place(buy_limit("max", px("100000.00"), qty("10"))).ok());
}

TEST_F(venue_rules, a_market_order_stops_before_a_fill_beyond_the_max_notional) {
  given(sell_limit("a1", px("100000.00"), qty("6")));
  given(sell_limit("a2", px("100000.00"), qty("6")));
  ASSERT_TRUE(place(market("m", side::buy, qty("12"))).ok());
  EXPECT_EQ(split(out).trades.size(), 1u);
  EXPECT_EQ(taker().filled, qty("6"));
  EXPECT_EQ(taker().status, order_status::cancelled);
  EXPECT_EQ(queue_of(engine.book(kBtc), side::sell), std::vector<std::string>{"a2"});
}

TEST_F(venue_rules, a_halt_refuses_placements_and_keeps_cancels) {
  given(sell_limit("rest", px("100.00"), lots(1)));
  const sequence_number before = engine.last_sequence();
  const command_result halt = engine.set_halted(kBtc, true);
  ASSERT_TRUE(halt.ok());
  EXPECT_EQ(halt.sequence, before + 1);
  EXPECT_EQ(place(buy_limit("b", px("100.00"), lots(1))).error, errc::instrument_halted);
  EXPECT_EQ(place(market("m", side::buy, lots(1))).error, errc::instrument_halted);
  EXPECT_TRUE(cancel(cancel_of("rest")).ok());
  EXPECT_EQ(engine.set_halted(kBtc, true).sequence, 0u) << "no change, no number";
  ASSERT_TRUE(engine.set_halted(kBtc, false).ok());
  EXPECT_TRUE(place(buy_limit("b", px("100.00"), lots(1))).ok());
  EXPECT_EQ(engine.set_halted(7, true).error, errc::unknown_instrument);
}

TEST_F(venue_rules, an_instrument_added_at_runtime_trades) {
  const instrument eth = *instrument::parse_spec("ETH-USD:0.01:0.0001");
  const command_result r = engine.add_instrument(eth);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.sequence, engine.last_sequence());
  EXPECT_EQ(engine.find_instrument("ETH-USD"), instrument_id{1});
  EXPECT_EQ(engine.add_instrument(eth).error, errc::instrument_exists);
  place_order s = sell_limit("e1", price_ticks{300000}, lots(5));
  s.instrument = 1;
  place_order b = buy_limit("e2", price_ticks{300000}, lots(5));
  b.instrument = 1;
  given(s);
  ASSERT_TRUE(place(b).ok());
  EXPECT_EQ(split(out).trades.size(), 1u);
  EXPECT_EQ(engine.check_invariants(), "");
}

TEST(venue_rules_limits, too_many_instruments_is_refused) {
  engine_options options;
  options.expected_orders_per_book = 16;
  options.max_instruments = 2;
  matching_engine engine(std::vector{instrument::btc_usd()}, options);
  EXPECT_TRUE(engine.add_instrument(*instrument::parse_spec("A:1:1")).ok());
  EXPECT_EQ(engine.add_instrument(*instrument::parse_spec("B:1:1")).error,
            errc::too_many_instruments);
}

TEST(band_edges, are_inclusive_and_rounded_inwards) {
  EXPECT_EQ(band_ceiling(price_ticks{10'000}, 500), price_ticks{10'500});
  EXPECT_EQ(band_floor(price_ticks{10'000}, 500), price_ticks{9'500});
  EXPECT_EQ(band_ceiling(price_ticks{333}, 100), price_ticks{336});  // 336.33
  EXPECT_EQ(band_floor(price_ticks{333}, 100), price_ticks{330});    // 329.67
  EXPECT_EQ(band_floor(price_ticks{333}, 10'000), price_ticks{1});
}

TEST(band_edges, a_ceiling_past_the_largest_price_is_the_largest_price) {
  // 9e17 ticks with a 1000% band is 9.9e18, past int64: the ceiling must not wrap negative.
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(band_ceiling(price_ticks{900'000'000'000'000'000}, 100'000), price_ticks{kMax});
}

}  // namespace
}  // namespace matchd::engine
