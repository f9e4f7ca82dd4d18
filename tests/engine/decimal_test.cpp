// Exact decimal text <-> fixed-point integers, and the instrument rules built on them.

#include <gtest/gtest.h>
#include <matchd/engine/decimal.h>
#include <matchd/engine/instrument.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include "builders.h"

namespace matchd::engine {
namespace {

constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kInt64Min = std::numeric_limits<std::int64_t>::min();

std::int64_t units(std::string_view text, int scale) {
  const decimal_parse_result r = parse_decimal(text, scale);
  EXPECT_EQ(r.error, decimal_errc::ok) << "parsing \"" << text << "\" at scale " << scale;
  return r.units;
}

decimal_errc error_of(std::string_view text, int scale) {
  return parse_decimal(text, scale).error;
}

// --- parse_decimal: accepted forms ---------------------------------------------------

TEST(parse_decimal, plain_numbers_are_exact) {
  EXPECT_EQ(units("70150.5", 2), 7015050);
  EXPECT_EQ(units("70150.50", 2), 7015050);
  EXPECT_EQ(units("0.25", 8), 25000000);
  EXPECT_EQ(units("0.00000001", 8), 1);
  EXPECT_EQ(units("1", 0), 1);
  EXPECT_EQ(units("0", 8), 0);
  EXPECT_EQ(units("0.0", 2), 0);
  EXPECT_EQ(units("123456789", 2), 12345678900);
}

TEST(parse_decimal, numbers_that_binary_floating_point_cannot_hold_stay_exact) {
  EXPECT_EQ(units("0.1", 18), 100000000000000000);
  EXPECT_EQ(units("0.3", 8), 30000000);
  EXPECT_EQ(units("1.13", 2), 113);
  EXPECT_EQ(units("9007199254740993", 0), 9007199254740993);  // 2^53 + 1
}

TEST(parse_decimal, exponents_are_applied_exactly) {
  EXPECT_EQ(units("1e-3", 8), 100000);
  EXPECT_EQ(units("2.5E+2", 0), 250);
  EXPECT_EQ(units("2.5e2", 2), 25000);
  EXPECT_EQ(units("1E2", 0), 100);
  EXPECT_EQ(units("100e-2", 2), 100);
  EXPECT_EQ(units("0.001e3", 0), 1);
  EXPECT_EQ(units("1.5e-1", 2), 15);
  EXPECT_EQ(units("1e0", 0), 1);
  EXPECT_EQ(units("1e-8", 8), 1);
  EXPECT_EQ(units("1e02", 0), 100);  // the JSON grammar allows leading zeros in exponents
}

TEST(parse_decimal, trailing_zeros_beyond_the_scale_are_accepted) {
  EXPECT_EQ(units("1.000", 2), 100);
  EXPECT_EQ(units("70150.50000000", 2), 7015050);
  EXPECT_EQ(units("0.25000000000000000", 8), 25000000);
  EXPECT_EQ(units("5.0", 0), 5);
  EXPECT_EQ(units("1.10e-1", 2), 11);
}

TEST(parse_decimal, the_full_signed_64_bit_range_fits) {
  EXPECT_EQ(units("9223372036854775807", 0), kInt64Max);
  EXPECT_EQ(units("92233720368.54775807", 8), kInt64Max);
  EXPECT_EQ(units("9.223372036854775807", 18), kInt64Max);
}

TEST(parse_decimal, all_scales_from_zero_to_eighteen_work) {
  for (int scale = 0; scale <= kMaxDecimalScale; ++scale) {
    EXPECT_EQ(units("1", scale), pow10(scale)) << "scale " << scale;
  }
}

// --- parse_decimal: rejections ---------------------------------------------------------

TEST(parse_decimal, empty_text_is_empty) {
  EXPECT_EQ(error_of("", 2), decimal_errc::empty);
}

TEST(parse_decimal, text_outside_the_json_number_grammar_is_malformed) {
  for (const char* text :
       {".",   "1.",   ".5",    "+1",   "1e",    "1e+", "1E-",   "e5",  "abc", " 1", "1 ",
        "1,5", "1..2", "1.2.3", "0x10", "1e2.5", "--1", "1_000", "inf", "nan", "1f", "１"}) {
    EXPECT_EQ(error_of(text, 2), decimal_errc::malformed) << '"' << text << '"';
  }
}

TEST(parse_decimal, leading_zeros_are_malformed_as_in_json) {
  EXPECT_EQ(error_of("01", 2), decimal_errc::malformed);
  EXPECT_EQ(error_of("00.5", 2), decimal_errc::malformed);
  EXPECT_EQ(error_of("007", 0), decimal_errc::malformed);
  EXPECT_EQ(units("0.5", 2), 50);  // a single zero before the point is the JSON form
}

TEST(parse_decimal, a_leading_minus_is_negative) {
  EXPECT_EQ(error_of("-1", 2), decimal_errc::negative);
  EXPECT_EQ(error_of("-0.25", 8), decimal_errc::negative);
  EXPECT_EQ(error_of("-1e3", 0), decimal_errc::negative);
}

TEST(parse_decimal, nonzero_digits_beyond_the_scale_are_not_representable) {
  EXPECT_EQ(error_of("1.005", 2), decimal_errc::not_representable);
  EXPECT_EQ(error_of("0.000000001", 8), decimal_errc::not_representable);
  EXPECT_EQ(error_of("0.5", 0), decimal_errc::not_representable);
  EXPECT_EQ(error_of("1e-3", 2), decimal_errc::not_representable);
  EXPECT_EQ(error_of("12345e-2", 0), decimal_errc::not_representable);
  EXPECT_EQ(error_of("1.0000001", 2), decimal_errc::not_representable);
}

TEST(parse_decimal, more_than_eighteen_fractional_digits_are_too_many_decimals) {
  EXPECT_EQ(error_of("0.1234567890123456789", 8), decimal_errc::too_many_decimals);
  EXPECT_EQ(error_of("1.0000000000000000001", 18), decimal_errc::too_many_decimals);
  EXPECT_EQ(units("0.123456789012345678", 18), 123456789012345678);  // exactly 18 is fine
}

TEST(parse_decimal, values_beyond_signed_64_bits_are_out_of_range) {
  EXPECT_EQ(error_of("9223372036854775808", 0), decimal_errc::out_of_range);
  EXPECT_EQ(error_of("92233720368.54775808", 8), decimal_errc::out_of_range);
  EXPECT_EQ(error_of("10", 18), decimal_errc::out_of_range);
  EXPECT_EQ(error_of("99999999999999999999999999999999", 0), decimal_errc::out_of_range);
  EXPECT_EQ(error_of("1e19", 0), decimal_errc::out_of_range);
  EXPECT_EQ(error_of("1e400", 2), decimal_errc::out_of_range);
  EXPECT_EQ(error_of("1e99999999999999999999", 2), decimal_errc::out_of_range);
}

// --- format_decimal ---------------------------------------------------------------------

TEST(format_decimal, writes_exactly_scale_fractional_digits) {
  EXPECT_EQ(format_decimal(7015050, 2), "70150.50");
  EXPECT_EQ(format_decimal(25000000, 8), "0.25000000");
  EXPECT_EQ(format_decimal(1, 8), "0.00000001");
  EXPECT_EQ(format_decimal(0, 8), "0.00000000");
  EXPECT_EQ(format_decimal(0, 0), "0");
  EXPECT_EQ(format_decimal(42, 0), "42");
  EXPECT_EQ(format_decimal(100, 2), "1.00");
}

TEST(format_decimal, negatives_get_a_leading_minus) {
  EXPECT_EQ(format_decimal(-5, 2), "-0.05");
  EXPECT_EQ(format_decimal(-7015050, 2), "-70150.50");
  EXPECT_EQ(format_decimal(-3, 0), "-3");
}

TEST(format_decimal, extremes_of_the_64_bit_range) {
  EXPECT_EQ(format_decimal(kInt64Max, 0), "9223372036854775807");
  EXPECT_EQ(format_decimal(kInt64Min, 0), "-9223372036854775808");
  EXPECT_EQ(format_decimal(kInt64Max, 18), "9.223372036854775807");
  EXPECT_EQ(format_decimal(kInt64Min, 18), "-9.223372036854775808");
  EXPECT_EQ(format_decimal(kInt64Min, 8), "-92233720368.54775808");
}

TEST(format_decimal, buffer_form_matches_string_form) {
  char buffer[kMaxFormattedDecimal];
  const std::size_t n = format_decimal(kInt64Min, 18, buffer);
  ASSERT_LE(n, kMaxFormattedDecimal);
  EXPECT_EQ(std::string(buffer, n), "-9.223372036854775808");
  EXPECT_EQ(std::string(buffer, format_decimal(7015050, 2, buffer)), "70150.50");
}

TEST(format_decimal, round_trips_through_parse_decimal) {
  for (int scale : {0, 1, 2, 8, 18}) {
    for (std::int64_t v : {std::int64_t{0}, std::int64_t{1}, std::int64_t{9}, std::int64_t{10},
                           std::int64_t{7015050}, std::int64_t{123456789}, kInt64Max}) {
      EXPECT_EQ(units(format_decimal(v, scale), scale), v) << v << " at scale " << scale;
    }
  }
}

TEST(format_decimal, negative_round_trip_keeps_the_magnitude) {
  for (std::int64_t v : {std::int64_t{-1}, std::int64_t{-7015050}, kInt64Min + 1}) {
    const std::string text = format_decimal(v, 2);
    ASSERT_EQ(text.front(), '-');
    EXPECT_EQ(parse_decimal(text, 2).error, decimal_errc::negative);
    EXPECT_EQ(units(text.substr(1), 2), -v);
  }
}

// Every notation of the same value parses to the same units: plain, with trailing
// zeros, and as an integer significand with a negative exponent.
TEST(parse_decimal, random_values_round_trip_in_every_notation) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 20'000; ++i) {
    const int scale = static_cast<int>(rng() % (kMaxDecimalScale + 1));
    const int magnitude_digits = static_cast<int>(rng() % 19) + 1;
    const std::int64_t v =
        static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(pow10(magnitude_digits - 1)));
    const std::string plain = format_decimal(v, scale);
    std::string significand = plain;
    std::erase(significand, '.');
    significand.erase(0, std::min(significand.find_first_not_of('0'), significand.size() - 1));
    const std::string exponent_form = significand + "e-" + std::to_string(scale);
    const std::string padded = scale > 0 ? plain + "000" : plain + ".000";

    for (const std::string& text : {plain, exponent_form, padded}) {
      const decimal_parse_result r = parse_decimal(text, scale);
      ASSERT_EQ(r.error, decimal_errc::ok) << text << " at scale " << scale;
      ASSERT_EQ(r.units, v) << text << " at scale " << scale;
    }
  }
}

TEST(pow10, powers_of_ten) {
  EXPECT_EQ(pow10(0), 1);
  EXPECT_EQ(pow10(2), 100);
  EXPECT_EQ(pow10(8), 100000000);
  EXPECT_EQ(pow10(18), 1000000000000000000);
}

// --- instrument ---------------------------------------------------------------------------

TEST(instrument, parse_spec_reads_symbol_tick_and_lot) {
  const auto ins = instrument::parse_spec("BTC-USD:0.01:0.00000001");
  ASSERT_TRUE(ins.has_value());
  EXPECT_EQ(ins->symbol, "BTC-USD");
  EXPECT_EQ(ins->price_scale, 2);
  EXPECT_EQ(ins->tick_units, 1);
  EXPECT_EQ(ins->quantity_scale, 8);
  EXPECT_EQ(ins->lot_units, 1);
  EXPECT_EQ(ins->tick_size(), "0.01");
  EXPECT_EQ(ins->lot_size(), "0.00000001");
}

TEST(instrument, parse_spec_with_ticks_that_are_not_a_power_of_ten) {
  const auto ins = instrument::parse_spec("ETH-USD:0.05:0.001");
  ASSERT_TRUE(ins.has_value());
  EXPECT_EQ(ins->symbol, "ETH-USD");
  EXPECT_EQ(ins->price_scale, 2);
  EXPECT_EQ(ins->tick_units, 5);
  EXPECT_EQ(ins->quantity_scale, 3);
  EXPECT_EQ(ins->lot_units, 1);
  EXPECT_EQ(ins->tick_size(), "0.05");
}

TEST(instrument, parse_spec_with_whole_number_increments) {
  const auto ins = instrument::parse_spec("IDX:1:1");
  ASSERT_TRUE(ins.has_value());
  EXPECT_EQ(ins->price_scale, 0);
  EXPECT_EQ(ins->tick_units, 1);
  EXPECT_EQ(ins->quantity_scale, 0);
  EXPECT_EQ(ins->lot_units, 1);
}

TEST(instrument, parse_spec_rejects_bad_specs) {
  for (const char* spec :
       {"", "BTC-USD", "BTC-USD:0.01", ":0.01:0.00000001", "BTC-USD::0.00000001",
        "BTC-USD:0.01:", "BTC-USD:0:0.00000001", "BTC-USD:0.01:0", "BTC-USD:-0.01:0.00000001",
        "BTC-USD:abc:0.00000001", "BTC-USD:0.01:abc", "BTC-USD:0.01:0.00000001:extra"}) {
    EXPECT_FALSE(instrument::parse_spec(spec).has_value()) << '"' << spec << '"';
  }
}

// The limits must be writable as text and read back, or an API client could be shown
// a maximum it cannot send.
TEST(instrument, limits_round_trip_through_decimal_text) {
  for (const char* spec :
       {"BTC-USD:0.01:0.00000001", "ETH-USD:0.05:0.001", "IDX:1:1", "BIG:100:1000",
        "FINE:0.000000000000000001:1", "ODD:0.0000000099:0.001", "MEME:0.00000001:10000000"}) {
    const auto ins = instrument::parse_spec(spec);
    ASSERT_TRUE(ins.has_value()) << spec;
    const std::string max_price = format_price(*ins, ins->max_price);
    const price_parse_result p = parse_price(*ins, max_price);
    EXPECT_EQ(p.error, amount_errc::ok) << spec << " max price " << max_price;
    EXPECT_EQ(p.value, ins->max_price) << spec << " max price " << max_price;
    const std::string max_quantity = format_quantity(*ins, ins->max_quantity);
    const quantity_parse_result q = parse_quantity(*ins, max_quantity);
    EXPECT_EQ(q.error, amount_errc::ok) << spec << " max quantity " << max_quantity;
    EXPECT_EQ(q.value, ins->max_quantity) << spec << " max quantity " << max_quantity;
  }
}

TEST(instrument, btc_usd_is_the_documented_spec) {
  const instrument ins = instrument::btc_usd();
  EXPECT_EQ(ins.symbol, "BTC-USD");
  EXPECT_EQ(ins.tick_size(), "0.01");
  EXPECT_EQ(ins.lot_size(), "0.00000001");
  EXPECT_EQ(ins.price_scale, 2);
  EXPECT_EQ(ins.quantity_scale, 8);
}

// --- parse_price / parse_quantity --------------------------------------------------------

using test_support::btc_usd;

TEST(parse_price, converts_to_ticks) {
  const price_parse_result r = parse_price(btc_usd(), "70150.5");
  EXPECT_EQ(r.error, amount_errc::ok);
  EXPECT_EQ(r.value, price_ticks{7015050});
  EXPECT_EQ(parse_price(btc_usd(), "0.01").value, price_ticks{1});
  EXPECT_EQ(parse_price(btc_usd(), "7.015050e4").value, price_ticks{7015050});
}

TEST(parse_price, counts_ticks_of_a_non_decimal_tick_size) {
  const auto eth = instrument::parse_spec("ETH-USD:0.05:0.001");
  ASSERT_TRUE(eth.has_value());
  EXPECT_EQ(parse_price(*eth, "1.05").value, price_ticks{21});
  EXPECT_EQ(parse_price(*eth, "1.05").error, amount_errc::ok);
  EXPECT_EQ(parse_price(*eth, "1.01").error, amount_errc::not_on_increment);
  EXPECT_EQ(parse_price(*eth, "1.051").error, amount_errc::not_on_increment);
}

TEST(parse_price, maps_decimal_errors_to_amount_errors) {
  EXPECT_EQ(parse_price(btc_usd(), "0").error, amount_errc::not_positive);
  EXPECT_EQ(parse_price(btc_usd(), "0.00").error, amount_errc::not_positive);
  EXPECT_EQ(parse_price(btc_usd(), "-1").error, amount_errc::not_positive);
  EXPECT_EQ(parse_price(btc_usd(), "1.005").error, amount_errc::not_on_increment);
  EXPECT_EQ(parse_price(btc_usd(), "abc").error, amount_errc::malformed);
  EXPECT_EQ(parse_price(btc_usd(), "").error, amount_errc::malformed);
  EXPECT_EQ(parse_price(btc_usd(), "1.").error, amount_errc::malformed);
  EXPECT_EQ(parse_price(btc_usd(), "0.1234567890123456789").error, amount_errc::too_many_decimals);
  EXPECT_EQ(parse_price(btc_usd(), "1e30").error, amount_errc::out_of_range);
}

TEST(parse_price, enforces_the_maximum_price) {
  const instrument& ins = btc_usd();
  const price_parse_result at_max = parse_price(ins, format_price(ins, ins.max_price));
  EXPECT_EQ(at_max.error, amount_errc::ok);
  EXPECT_EQ(at_max.value, ins.max_price);
  const std::string one_tick_more = format_price(ins, ins.max_price + price_ticks{1});
  EXPECT_EQ(parse_price(ins, one_tick_more).error, amount_errc::out_of_range) << one_tick_more;
  EXPECT_EQ(parse_price(ins, "92233720368547758.07").error, amount_errc::out_of_range);
}

TEST(parse_quantity, converts_to_lots) {
  const quantity_parse_result r = parse_quantity(btc_usd(), "0.25");
  EXPECT_EQ(r.error, amount_errc::ok);
  EXPECT_EQ(r.value, quantity_lots{25000000});
  EXPECT_EQ(parse_quantity(btc_usd(), "0.00000001").value, quantity_lots{1});
  EXPECT_EQ(parse_quantity(btc_usd(), "1").value, quantity_lots{100000000});
}

TEST(parse_quantity, maps_decimal_errors_to_amount_errors) {
  EXPECT_EQ(parse_quantity(btc_usd(), "0").error, amount_errc::not_positive);
  EXPECT_EQ(parse_quantity(btc_usd(), "-0.5").error, amount_errc::not_positive);
  EXPECT_EQ(parse_quantity(btc_usd(), "0.000000001").error, amount_errc::not_on_increment);
  EXPECT_EQ(parse_quantity(btc_usd(), "1.5.").error, amount_errc::malformed);
  EXPECT_EQ(parse_quantity(btc_usd(), "1.0000000000000000001").error,
            amount_errc::too_many_decimals);
}

TEST(parse_quantity, enforces_the_maximum_quantity) {
  const instrument& ins = btc_usd();
  const quantity_parse_result at_max = parse_quantity(ins, format_quantity(ins, ins.max_quantity));
  EXPECT_EQ(at_max.error, amount_errc::ok);
  EXPECT_EQ(at_max.value, ins.max_quantity);
  const std::string one_lot_more = format_quantity(ins, ins.max_quantity + quantity_lots{1});
  EXPECT_EQ(parse_quantity(ins, one_lot_more).error, amount_errc::out_of_range) << one_lot_more;
  EXPECT_EQ(parse_quantity(ins, "1e20").error, amount_errc::out_of_range);
}

TEST(format_price_and_quantity, use_the_canonical_precision) {
  EXPECT_EQ(format_price(btc_usd(), price_ticks{7015050}), "70150.50");
  EXPECT_EQ(format_quantity(btc_usd(), quantity_lots{25000000}), "0.25000000");
  const auto eth = instrument::parse_spec("ETH-USD:0.05:0.001");
  ASSERT_TRUE(eth.has_value());
  EXPECT_EQ(format_price(*eth, price_ticks{21}), "1.05");
  EXPECT_EQ(format_quantity(*eth, quantity_lots{1500}), "1.500");
  char buffer[kMaxFormattedDecimal];
  EXPECT_EQ(std::string(buffer, format_price(*eth, price_ticks{21}, buffer)), "1.05");
  EXPECT_EQ(std::string(buffer, format_quantity(*eth, quantity_lots{1500}, buffer)), "1.500");
}

// --- average_price_units -------------------------------------------------------------------

TEST(average_price_units, single_price_is_that_price) {
  EXPECT_EQ(average_price_units(btc_usd(), int128{7015050} * 3, quantity_lots{3}), 7015050);
}

TEST(average_price_units, rounds_to_nearest_price_unit) {
  // 1 lot at 100.00 and 2 lots at 100.01: 100.00666... -> 100.01
  EXPECT_EQ(average_price_units(btc_usd(), 10000 + 2 * 10001, quantity_lots{3}), 10001);
  // 2 lots at 100.00 and 1 lot at 100.01: 100.00333... -> 100.00
  EXPECT_EQ(average_price_units(btc_usd(), 2 * 10000 + 10001, quantity_lots{3}), 10000);
}

TEST(average_price_units, rounds_half_away_from_zero) {
  // 1 lot at 100.00 and 1 lot at 100.01: exactly 100.005 -> 100.01
  EXPECT_EQ(average_price_units(btc_usd(), 10000 + 10001, quantity_lots{2}), 10001);
  // 1 lot at 0.01 and 1 lot at 0.02: exactly 0.015 -> 0.02
  EXPECT_EQ(average_price_units(btc_usd(), 1 + 2, quantity_lots{2}), 2);
}

TEST(average_price_units, rounds_to_the_price_precision_not_to_the_tick) {
  const auto eth = instrument::parse_spec("ETH-USD:0.05:0.001");
  ASSERT_TRUE(eth.has_value());
  // 1 lot at 1.00 (20 ticks) and 1 lot at 1.05 (21 ticks): 1.025 -> 1.03, not a tick
  EXPECT_EQ(average_price_units(*eth, 20 + 21, quantity_lots{2}), 103);
  // 2 lots at 1.00 and 1 lot at 1.05: 1.01666... -> 1.02
  EXPECT_EQ(average_price_units(*eth, 2 * 20 + 21, quantity_lots{3}), 102);
}

TEST(average_price_units, large_notionals_do_not_overflow) {
  const instrument& ins = btc_usd();
  const int128 notional = int128{ins.max_price.value} * ins.max_quantity.value;
  EXPECT_EQ(average_price_units(ins, notional, ins.max_quantity), ins.max_price.value);
  // max quantity at max price, plus one lot at one tick
  const int128 mixed = notional + 1;
  const quantity_lots filled = ins.max_quantity + quantity_lots{1};
  EXPECT_EQ(average_price_units(ins, mixed, filled), ins.max_price.value);
}

}  // namespace
}  // namespace matchd::engine
