// to_market_order and trade_mapping: side, exact quantity scaling, rounding down to the
// lot, the price guard, and what is skipped.

#include <gtest/gtest.h>
#include <matchd/feed/order_mapping.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace matchd::feed {
namespace {

using engine::instrument;

instrument spec(const char* s) {
  return *instrument::parse_spec(s);
}

std::vector<instrument> instruments() {
  return {spec("BTC-USD:0.01:0.00000001"), spec("ETH-USD:0.05:0.001"), spec("DOGE-USD:0.0001:1")};
}

trade_mapping mapping(std::string scale = "1", std::optional<std::string> guard = std::nullopt) {
  feed_options o;
  o.symbol_map = {{"BTCUSDT", "BTC-USD"}, {"ethusdt", "ETH-USD"}, {"DOGEUSDT", "DOGE-USD"}};
  o.client_id = "binance-feed";
  o.quantity_scale = std::move(scale);
  o.price_guard_bps = std::move(guard);
  return trade_mapping::make(o, instruments());
}

parsed_trade trade(std::string quantity, bool buyer_is_maker = false,
                   std::string symbol = "BTCUSDT", std::string price = "70012.68000000") {
  parsed_trade t;
  t.symbol = std::move(symbol);
  t.trade_id = 3601234567;
  t.price = std::move(price);
  t.quantity = std::move(quantity);
  t.event_time_ms = 1717243200185;
  t.trade_time_ms = 1717243200184;
  t.buyer_is_maker = buyer_is_maker;
  return t;
}

mapping_errc error_of(const parsed_trade& t, const trade_mapping& m) {
  mapping_errc e = mapping_errc::ok;
  EXPECT_FALSE(to_market_order(t, m, 0, &e).has_value());
  return e;
}

std::int64_t lots(const parsed_trade& t, const trade_mapping& m) {
  mapping_errc e = mapping_errc::ok;
  const auto o = to_market_order(t, m, 0, &e);
  EXPECT_TRUE(o.has_value()) << "q=" << t.quantity << " error " << to_string(e);
  return o ? o->quantity.value : -1;
}

TEST(to_market_order, a_buyer_maker_trade_becomes_a_market_sell) {
  const auto o = to_market_order(trade("0.00063300", true), mapping(), 1'717'243'200'999'000);
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->id.view(), "feed-BTCUSDT-3601234567");
  EXPECT_EQ(o->client.view(), "binance-feed");
  EXPECT_EQ(o->instrument, 0u);
  EXPECT_EQ(o->order_side, engine::side::sell);
  EXPECT_EQ(o->type, engine::order_type::market);
  EXPECT_EQ(o->tif, engine::time_in_force::ioc);
  EXPECT_EQ(o->price.value, 0);
  EXPECT_EQ(o->quantity.value, 63'300);
  EXPECT_EQ(o->received_at, 1'717'243'200'999'000);
}

TEST(to_market_order, a_seller_maker_trade_becomes_a_market_buy) {
  const auto o = to_market_order(trade("0.5", false), mapping(), 0);
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->order_side, engine::side::buy);
  EXPECT_EQ(o->quantity.value, 50'000'000);
}

TEST(to_market_order, routes_by_symbol_case_insensitively_to_the_mapped_instrument) {
  const auto o = to_market_order(trade("1.5", false, "ETHUSDT", "3500.05"), mapping(), 0);
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->instrument, 1u);
  EXPECT_EQ(o->quantity.value, 1'500);  // lot 0.001
  EXPECT_EQ(o->id.view(), "feed-ETHUSDT-3601234567");
  EXPECT_TRUE(to_market_order(trade("1", false, "btcusdt"), mapping(), 0).has_value());
}

TEST(to_market_order, rounds_the_quantity_down_to_the_lot) {
  const trade_mapping m = mapping();
  EXPECT_EQ(lots(trade("1.2345", false, "ETHUSDT"), m), 1'234);
  EXPECT_EQ(lots(trade("1.2349999", false, "ETHUSDT"), m), 1'234);
  EXPECT_EQ(lots(trade("0.001", false, "ETHUSDT"), m), 1);
  EXPECT_EQ(lots(trade("41.99999999", false, "DOGEUSDT", "0.1234"), m), 41);
  // Trailing zeros and exponents are exact too.
  EXPECT_EQ(lots(trade("0.00100000", false, "ETHUSDT"), m), 1);
  EXPECT_EQ(lots(trade("2.5E-2", false, "ETHUSDT"), m), 25);
}

TEST(to_market_order, skips_a_quantity_that_rounds_to_zero_lots) {
  EXPECT_EQ(error_of(trade("0.0009", false, "ETHUSDT"), mapping()), mapping_errc::below_lot);
  EXPECT_EQ(error_of(trade("0.99999999", false, "DOGEUSDT", "0.1"), mapping()),
            mapping_errc::below_lot);
  EXPECT_EQ(error_of(trade("0", false), mapping()), mapping_errc::below_lot);
  EXPECT_EQ(error_of(trade("0.00000000", false), mapping()), mapping_errc::below_lot);
  EXPECT_FALSE(is_malformed(mapping_errc::below_lot));
}

TEST(to_market_order, applies_the_scale_factor_exactly) {
  // 0.1 has no exact binary representation; 0.3 * 0.1 in doubles is 0.030000000000000002.
  EXPECT_EQ(lots(trade("0.3"), mapping("0.1")), 3'000'000);
  // 0.00000003 * 0.5 = 0.000000015 -> 1 lot (down), never 2.
  EXPECT_EQ(lots(trade("0.00000003"), mapping("0.5")), 1);
  EXPECT_EQ(error_of(trade("0.00000001"), mapping("0.5")), mapping_errc::below_lot);
  EXPECT_EQ(lots(trade("0.12345678"), mapping("0.001")), 12'345);  // 0.00012345678
  EXPECT_EQ(lots(trade("0.00063300"), mapping("10")), 633'000);
  EXPECT_EQ(lots(trade("1.1"), mapping("1.1")), 121'000'000);
  // A scale with many decimals and a quantity with many decimals: 36-digit intermediate.
  EXPECT_EQ(lots(trade("9.99999999"), mapping("0.333333333333333333")), 333'333'332);
  EXPECT_EQ(lots(trade("1.2349999", false, "ETHUSDT"), mapping("1.000")), 1'234);
}

TEST(to_market_order, skips_a_quantity_above_the_instrument_maximum) {
  // BTC-USD allows 10,000 BTC per order.
  EXPECT_EQ(lots(trade("10000"), mapping()), 1'000'000'000'000);
  EXPECT_EQ(error_of(trade("10000.00000001"), mapping()), mapping_errc::above_max);
  EXPECT_EQ(error_of(trade("9000000000"), mapping("1000000000")), mapping_errc::above_max);
}

TEST(to_market_order, refuses_unknown_symbols_and_bad_decimals) {
  EXPECT_EQ(error_of(trade("1", false, "XYZUSDT"), mapping()), mapping_errc::unknown_symbol);
  EXPECT_EQ(error_of(trade("1", false, ""), mapping()), mapping_errc::unknown_symbol);
  EXPECT_EQ(error_of(trade("1,5"), mapping()), mapping_errc::bad_quantity);
  EXPECT_EQ(error_of(trade("-1"), mapping()), mapping_errc::bad_quantity);
  EXPECT_EQ(error_of(trade("1", false, "BTCUSDT", "0"), mapping()), mapping_errc::bad_price);
  EXPECT_EQ(error_of(trade("1", false, "BTCUSDT", "abc"), mapping()), mapping_errc::bad_price);
  EXPECT_TRUE(is_malformed(mapping_errc::unknown_symbol));
  EXPECT_TRUE(is_malformed(mapping_errc::bad_quantity));
  EXPECT_TRUE(is_malformed(mapping_errc::bad_price));
  EXPECT_FALSE(to_market_order(trade("1", false, "XYZUSDT"), mapping(), 0).has_value());
}

TEST(to_market_order, with_a_price_guard_places_a_limit_ioc_against_the_taker) {
  const trade_mapping m = mapping("1", "50");  // 0.5 %
  // buy: 70012.68 * 1.005 = 70362.7434 -> down to the tick 70362.74
  const auto buy = to_market_order(trade("0.1", false), m, 0);
  ASSERT_TRUE(buy.has_value());
  EXPECT_EQ(buy->type, engine::order_type::limit);
  EXPECT_EQ(buy->tif, engine::time_in_force::ioc);
  EXPECT_EQ(buy->price.value, 7'036'274);
  // sell: 70012.68 * 0.995 = 69662.6166 -> up to the tick 69662.62
  const auto sell = to_market_order(trade("0.1", true), m, 0);
  ASSERT_TRUE(sell.has_value());
  EXPECT_EQ(sell->price.value, 6'966'262);
  // Ticks of 0.05: 3500.05 * 1.001 = 3503.55005 -> 3503.55 = 70071 ticks.
  const auto eth = to_market_order(trade("1", false, "ETHUSDT", "3500.05"), mapping("1", "10"), 0);
  ASSERT_TRUE(eth.has_value());
  EXPECT_EQ(eth->price.value, 70'071);
  // A zero guard is the trade price itself.
  const auto flat = to_market_order(trade("1", true), mapping("1", "0"), 0);
  ASSERT_TRUE(flat.has_value());
  EXPECT_EQ(flat->price.value, 7'001'268);
  // Fractional basis points are exact: 100 * (1 - 0.00125) = 99.875 -> up: 99.88.
  const auto frac = to_market_order(trade("1", true, "BTCUSDT", "100"), mapping("1", "12.5"), 0);
  ASSERT_TRUE(frac.has_value());
  EXPECT_EQ(frac->price.value, 9'988);
}

TEST(to_market_order, skips_a_guarded_price_outside_the_instrument_range) {
  // Below one tick after the guard.
  EXPECT_EQ(error_of(trade("1", false, "BTCUSDT", "0.001"), mapping("1", "1")),
            mapping_errc::price_out_of_range);
  EXPECT_EQ(error_of(trade("1", false, "BTCUSDT", "1000000000"), mapping("1", "100")),
            mapping_errc::price_out_of_range);
}

TEST(trade_mapping, refuses_bad_options_at_start_up) {
  const auto make = [](auto change) {
    feed_options o;
    change(o);
    return trade_mapping::make(o, instruments());
  };
  EXPECT_NO_THROW(make([](feed_options&) {}));
  EXPECT_THROW(make([](feed_options& o) {
                 o.symbol_map = {{"BTCUSDT", "BTC-EUR"}};
               }),
               std::invalid_argument);
  EXPECT_THROW(make([](feed_options& o) {
                 o.symbol_map = {{"BTC-USDT", "BTC-USD"}};
               }),
               std::invalid_argument);
  EXPECT_THROW(make([](feed_options& o) { o.symbol_map = {}; }), std::invalid_argument);
  EXPECT_THROW(make([](feed_options& o) {
                 o.symbol_map = {{"BTCUSDT", "BTC-USD"}, {"btcusdt", "ETH-USD"}};
               }),
               std::invalid_argument);
  EXPECT_THROW(make([](feed_options& o) { o.client_id = ""; }), std::invalid_argument);
  EXPECT_THROW(make([](feed_options& o) { o.client_id = "has space"; }), std::invalid_argument);
  EXPECT_THROW(make([](feed_options& o) { o.client_id = std::string(65, 'a'); }),
               std::invalid_argument);
  for (const char* bad : {"0", "-1", "abc", "", "0.0000000000000000001"}) {
    EXPECT_THROW(make([&](feed_options& o) { o.quantity_scale = bad; }), std::invalid_argument)
        << bad;
  }
  for (const char* bad : {"10000", "-1", "x", "1.123456789"}) {
    EXPECT_THROW(make([&](feed_options& o) { o.price_guard_bps = bad; }), std::invalid_argument)
        << bad;
  }
  EXPECT_NO_THROW(make([](feed_options& o) { o.price_guard_bps = "9999.99"; }));
}

TEST(feed_order_id, is_deterministic_per_symbol_and_trade) {
  EXPECT_EQ(feed_order_id("BTCUSDT", 3601234567), "feed-BTCUSDT-3601234567");
  EXPECT_EQ(feed_order_id("btcusdt", 0), "feed-BTCUSDT-0");
  EXPECT_EQ(feed_order_id("BTCUSDT", 18'446'744'073'709'551'615ULL),
            "feed-BTCUSDT-18446744073709551615");
}

TEST(parse_exact_decimal, keeps_the_smallest_exact_scale) {
  const auto d = parse_exact_decimal("0.00150000");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->units, 15);
  EXPECT_EQ(d->scale, 4);
  EXPECT_EQ(parse_exact_decimal("70012.68000000")->units, 7'001'268);
  EXPECT_EQ(parse_exact_decimal("1e3")->units, 1000);
  EXPECT_EQ(parse_exact_decimal("1e3")->scale, 0);
  EXPECT_FALSE(parse_exact_decimal("1e-19").has_value());
  EXPECT_FALSE(parse_exact_decimal("99999999999999999999").has_value());
}

}  // namespace
}  // namespace matchd::feed
