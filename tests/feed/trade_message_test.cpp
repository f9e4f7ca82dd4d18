// parse_feed_message / parse_trade_message: Binance <symbol>@trade messages, raw and
// combined-stream wrapped, and everything that must be refused.

#include <gtest/gtest.h>
#include <matchd/feed/trade_message.h>

#include <string>

namespace matchd::feed {
namespace {

// The documented shape, with Binance's own key order and 8-decimal strings.
constexpr const char* kTrade =
    R"({"e":"trade","E":1717243200185,"s":"BTCUSDT","t":3601234567,"p":"70012.68000000",)"
    R"("q":"0.00063300","T":1717243200184,"m":true,"M":true})";

std::string with(const std::string& key, const std::string& raw_value) {
  std::string s = kTrade;
  const std::string needle = "\"" + key + "\":";
  const auto at = s.find(needle);
  const auto value_begin = at + needle.size();
  const auto value_end = s.find_first_of(",}", value_begin);
  return s.replace(value_begin, value_end - value_begin, raw_value);
}

std::string without(const std::string& key) {
  std::string s = kTrade;
  const std::string needle = "\"" + key + "\":";
  const auto at = s.find(needle);
  auto end = s.find_first_of(",}", at + needle.size());
  if (s[end] == ',') ++end;
  s.erase(at, end - at);
  if (s[s.size() - 2] == ',') s.erase(s.size() - 2, 1);
  return s;
}

parse_errc error_of(const std::string& text) {
  const feed_message m = parse_feed_message(text);
  EXPECT_EQ(m.kind, message_kind::malformed) << text;
  return m.error;
}

TEST(parse_trade_message, reads_every_field_of_a_raw_trade) {
  const auto t = parse_trade_message(kTrade);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->symbol, "BTCUSDT");
  EXPECT_EQ(t->trade_id, 3601234567u);
  EXPECT_EQ(t->price, "70012.68000000");
  EXPECT_EQ(t->quantity, "0.00063300");
  EXPECT_EQ(t->event_time_ms, 1717243200185);
  EXPECT_EQ(t->trade_time_ms, 1717243200184);
  EXPECT_TRUE(t->buyer_is_maker);
}

TEST(parse_trade_message, buyer_maker_means_the_taker_sold) {
  const auto maker_buyer = parse_trade_message(with("m", "true"));
  const auto maker_seller = parse_trade_message(with("m", "false"));
  ASSERT_TRUE(maker_buyer && maker_seller);
  EXPECT_EQ(maker_buyer->taker_side(), engine::side::sell);
  EXPECT_EQ(maker_seller->taker_side(), engine::side::buy);
}

TEST(parse_trade_message, unwraps_a_combined_stream_event) {
  const std::string wrapped = std::string(R"({"stream":"btcusdt@trade","data":)") + kTrade + "}";
  const auto t = parse_trade_message(wrapped);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->trade_id, 3601234567u);
  EXPECT_EQ(t->quantity, "0.00063300");
}

TEST(parse_trade_message, ignores_unknown_extra_fields_and_key_order) {
  // Older streams also carried buyer/seller order ids "b" and "a".
  const auto t = parse_trade_message(
      R"({"M":true,"m":false,"T":5,"b":88,"a":50,"q":"1","p":"2.5","t":7,"s":"ETHUSDT","E":6,"e":"trade"})");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->symbol, "ETHUSDT");
  EXPECT_EQ(t->trade_id, 7u);
  EXPECT_FALSE(t->buyer_is_maker);
}

TEST(parse_feed_message, rejects_text_that_is_not_json) {
  EXPECT_EQ(error_of("{\"e\":\"trade\",\"E\":1,"), parse_errc::bad_json);
  EXPECT_EQ(error_of(""), parse_errc::bad_json);
  EXPECT_EQ(error_of("trade"), parse_errc::bad_json);
  EXPECT_FALSE(parse_trade_message("{nope").has_value());
}

TEST(parse_feed_message, rejects_json_that_is_not_an_object) {
  EXPECT_EQ(error_of("[1,2]"), parse_errc::not_an_object);
  EXPECT_EQ(error_of("42"), parse_errc::not_an_object);
  EXPECT_EQ(error_of(R"({"stream":"btcusdt@trade","data":[1]})"), parse_errc::not_an_object);
}

TEST(parse_feed_message, requires_every_trade_field) {
  for (const char* key : {"s", "t", "p", "q", "E", "T", "m"}) {
    EXPECT_EQ(error_of(without(key)), parse_errc::missing_field) << "without " << key;
  }
  EXPECT_EQ(error_of(without("e")), parse_errc::missing_field);
  // "M" is documented as "ignore".
  EXPECT_TRUE(parse_trade_message(without("M")).has_value());
}

TEST(parse_feed_message, rejects_fields_of_the_wrong_type) {
  EXPECT_EQ(error_of(with("s", "1")), parse_errc::bad_field);
  EXPECT_EQ(error_of(with("s", "\"\"")), parse_errc::bad_field);
  EXPECT_EQ(error_of(with("t", "\"3601234567\"")), parse_errc::bad_field);
  EXPECT_EQ(error_of(with("t", "-1")), parse_errc::bad_field);
  EXPECT_EQ(error_of(with("t", "1.5")), parse_errc::bad_field);
  EXPECT_EQ(error_of(with("T", "\"1717243200184\"")), parse_errc::bad_field);
  EXPECT_EQ(error_of(with("T", "-5")), parse_errc::bad_field);
  EXPECT_EQ(error_of(with("E", "1.5e12")), parse_errc::bad_field);
  EXPECT_EQ(error_of(with("m", "1")), parse_errc::bad_field);
  EXPECT_EQ(error_of(with("m", "\"true\"")), parse_errc::bad_field);
  EXPECT_EQ(error_of(with("e", "7")), parse_errc::bad_field);
  // Numbers for p/q went through a double somewhere: refused, never rounded.
  EXPECT_EQ(error_of(with("p", "70012.68")), parse_errc::bad_field);
  EXPECT_EQ(error_of(with("q", "0.000633")), parse_errc::bad_field);
}

TEST(parse_feed_message, rejects_bad_decimals) {
  for (const char* bad : {R"("70,012.68")", R"("")", R"("-1.0")", R"("1.2.3")", R"("NaN")",
                          R"(" 1.0")", R"("1e")", R"("0x10")", R"("0.0000000000000000001")"}) {
    EXPECT_EQ(error_of(with("p", bad)), parse_errc::bad_decimal) << "p=" << bad;
    EXPECT_EQ(error_of(with("q", bad)), parse_errc::bad_decimal) << "q=" << bad;
  }
  EXPECT_TRUE(parse_trade_message(with("q", R"("1E-3")")).has_value());
}

TEST(parse_feed_message, classifies_other_events_and_request_replies_as_ignored) {
  EXPECT_EQ(parse_feed_message(
                R"({"e":"aggTrade","E":1,"s":"BTCUSDT","a":1,"p":"1","q":"1","T":1,"m":true})")
                .kind,
            message_kind::ignored);
  EXPECT_EQ(parse_feed_message(R"({"result":null,"id":1})").kind, message_kind::ignored);
  EXPECT_FALSE(parse_trade_message(R"({"result":null,"id":1})").has_value());
}

TEST(parse_feed_message, recognizes_the_server_shutdown_notice) {
  EXPECT_EQ(parse_feed_message(R"({"e":"serverShutdown","E":1770123456789})").kind,
            message_kind::server_shutdown);
  EXPECT_EQ(parse_feed_message(R"({"event":{"e":"serverShutdown","E":1770123456789}})").kind,
            message_kind::server_shutdown);
}

TEST(parse_feed_message, error_names_are_stable) {
  EXPECT_EQ(to_string(parse_errc::bad_json), "bad_json");
  EXPECT_EQ(to_string(parse_errc::missing_field), "missing_field");
  EXPECT_EQ(to_string(parse_errc::bad_decimal), "bad_decimal");
}

}  // namespace
}  // namespace matchd::feed
