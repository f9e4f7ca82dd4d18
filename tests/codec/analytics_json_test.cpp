// Query times (RFC 3339 or epoch milliseconds) and the analytics bodies: candles and range
// statistics, read back with a real JSON parser.

#include <gtest/gtest.h>
#include <matchd/codec/analytics_json.h>
#include <matchd/codec/timestamp.h>

#include <nlohmann/json.hpp>

namespace matchd::codec {
namespace {

// 2026-12-06T00:00:00Z
constexpr engine::timestamp_us kMidnight = 1'796'515'200'000'000;

TEST(query_time, reads_rfc3339_in_utc_and_with_offsets) {
  EXPECT_EQ(parse_query_time("2026-12-06T00:00:00Z"), kMidnight);
  EXPECT_EQ(parse_query_time("2026-12-06t00:00:00z"), kMidnight);
  EXPECT_EQ(parse_query_time("2026-12-06T00:00:00.5Z"), kMidnight + 500'000);
  EXPECT_EQ(parse_query_time("2026-12-06T00:00:00.123456Z"), kMidnight + 123'456);
  EXPECT_EQ(parse_query_time("2026-12-06T00:00:00.123456000Z"), kMidnight + 123'456);
  EXPECT_EQ(parse_query_time("2026-12-06T01:30:00+01:30"), kMidnight);
  EXPECT_EQ(parse_query_time("2026-12-05T19:00:00-05:00"), kMidnight);
  EXPECT_EQ(parse_query_time("2024-02-29T00:00:00Z"), 1'709'164'800'000'000);
  EXPECT_EQ(parse_query_time("1970-01-01T00:00:00Z"), 0);
}

TEST(query_time, reads_epoch_milliseconds) {
  EXPECT_EQ(parse_query_time("1796515200000"), kMidnight);
  EXPECT_EQ(parse_query_time("1796515200001"), kMidnight + 1000);
  EXPECT_EQ(parse_query_time("0"), 0);
}

TEST(query_time, refuses_what_names_no_instant) {
  for (std::string_view bad : {"",
                               "yesterday",
                               "2026-12-06",
                               "2026-12-06T00:00:00",
                               "2026-12-06 00:00:00Z",
                               "2026-13-01T00:00:00Z",
                               "2026-02-29T00:00:00Z",
                               "2026-04-31T00:00:00Z",
                               "2026-12-06T24:00:00Z",
                               "2026-12-06T23:60:00Z",
                               "2026-12-06T23:59:60Z",
                               "2026-12-06T00:00:00.Z",
                               "2026-12-06T00:00:00.1234567Z",
                               "2026-12-06T00:00:00+0100",
                               "2026-12-06T00:00:00Zjunk",
                               "-1",
                               "1.5",
                               "1e3",
                               "99999999999999999",
                               "2026-12-06T00:00:00.0000000001Z"}) {
    EXPECT_FALSE(parse_query_time(bad).has_value()) << bad;
  }
}

engine::instrument btc() {
  return engine::instrument::btc_usd();  // tick 0.01, lot 0.00000001
}

TEST(analytics_json, a_candle_has_every_field_as_a_decimal_string) {
  analytics::candle c;
  c.open_time = kMidnight;
  c.summary.add(engine::price_ticks(7'015'050), engine::quantity_lots(25'000'000), 1);
  c.summary.add(engine::price_ticks(7'015'100), engine::quantity_lots(75'000'000), 2);
  const auto body = nlohmann::json::parse(
      candles_body(btc(), analytics::interval::m1, std::span(&c, 1), kMidnight + 59'999'999));
  EXPECT_EQ(body["instrument"], "BTC-USD");
  EXPECT_EQ(body["interval"], "1m");
  ASSERT_EQ(body["candles"].size(), 1u);
  const auto& k = body["candles"][0];
  EXPECT_EQ(k["open_time"], "2026-12-06T00:00:00.000000Z");
  EXPECT_EQ(k["close_time"], "2026-12-06T00:01:00.000000Z");
  EXPECT_EQ(k["open"], "70150.50");
  EXPECT_EQ(k["high"], "70151.00");
  EXPECT_EQ(k["low"], "70150.50");
  EXPECT_EQ(k["close"], "70151.00");
  EXPECT_EQ(k["volume"], "1.00000000");
  // 70150.50 x 0.25 + 70151.00 x 0.75: exact, at 2 + 8 decimals.
  EXPECT_EQ(k["quote_volume"], "70150.8750000000");
  EXPECT_EQ(k["vwap"], "70150.875000");
  EXPECT_EQ(k["trades"], 2);
  EXPECT_EQ(k["closed"], false);
  const auto later = nlohmann::json::parse(
      candles_body(btc(), analytics::interval::m1, std::span(&c, 1), kMidnight + 60'000'000));
  EXPECT_EQ(later["candles"][0]["closed"], true);
}

TEST(analytics_json, stats_without_trades_have_null_prices_and_zero_amounts) {
  const auto body = nlohmann::json::parse(stats_body(btc(), kMidnight, kMidnight + 1000, {}));
  EXPECT_EQ(body["trades"], 0);
  EXPECT_EQ(body["volume"], "0.00000000");
  EXPECT_EQ(body["quote_volume"], "0.0000000000");
  for (const char* f : {"vwap", "average_price", "open", "high", "low", "close"}) {
    EXPECT_TRUE(body[f].is_null()) << f;
  }
  EXPECT_EQ(body["start_time"], "2026-12-06T00:00:00.000000Z");
  EXPECT_EQ(body["end_time"], "2026-12-06T00:00:00.001000Z");
}

TEST(analytics_json, stats_give_vwap_and_average_price_at_four_more_decimals) {
  analytics::trade_summary s;
  s.add(engine::price_ticks(100), engine::quantity_lots(100'000'000), 1);  // 1.00 x 1
  s.add(engine::price_ticks(101), engine::quantity_lots(100'000'000), 2);  // 1.01 x 1
  s.add(engine::price_ticks(101), engine::quantity_lots(100'000'000), 3);  // 1.01 x 1
  const auto body = nlohmann::json::parse(stats_body(btc(), kMidnight, kMidnight + 1, s));
  EXPECT_EQ(body["trades"], 3);
  EXPECT_EQ(body["vwap"], "1.006667");           // 3.02 / 3
  EXPECT_EQ(body["average_price"], "1.006667");  // (1.00 + 1.01 + 1.01) / 3
  EXPECT_EQ(body["open"], "1.00");
  EXPECT_EQ(body["close"], "1.01");
  EXPECT_EQ(body["volume"], "3.00000000");
  EXPECT_EQ(body["quote_volume"], "3.0200000000");
}

}  // namespace
}  // namespace matchd::codec
