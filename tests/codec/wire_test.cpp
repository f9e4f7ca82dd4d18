// Engine values -> API JSON: exact bytes of each writer, types after a round trip through
// a real JSON parser, and RFC 3339 timestamps.

#include <gtest/gtest.h>
#include <matchd/codec/json_writer.h>
#include <matchd/codec/timestamp.h>
#include <matchd/codec/wire.h>
#include <matchd/engine/instrument.h>
#include <matchd/engine/order.h>

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace matchd::codec {
namespace {

using engine::price_ticks;
using engine::quantity_lots;
using json = nlohmann::json;

// 2026-11-21T12:00:00.123456Z, by hand: 1970..2025 is 56 years with 14 leap days
// (1972..2024) = 20454 days; Jan..Oct 2026 = 304 days; +20 -> day 20778.
// 20778 * 86400 + 12 * 3600 = 1795262400 seconds.
constexpr engine::timestamp_us kNovember21 = 1'795'262'400'123'456;
constexpr const char* kNovember21Text = "2026-11-21T12:00:00.123456Z";

const engine::instrument& btc() {
  static const engine::instrument kBtc = engine::instrument::btc_usd();
  return kBtc;
}

engine::order open_limit_buy() {
  engine::order o;
  o.id = engine::order_id::from("order-1");
  o.client = engine::client_id::from("client-A");
  o.order_side = engine::side::buy;
  o.type = engine::order_type::limit;
  o.tif = engine::time_in_force::gtc;
  o.status = engine::order_status::open;
  o.price = price_ticks{7'015'050};
  o.quantity = quantity_lots{25'000'000};
  o.created_at = kNovember21;
  o.updated_at = kNovember21;
  o.created_sequence = 1000;
  o.sequence = 1042;
  return o;
}

// Fills of (price ticks, lots) applied the way the engine accounts them.
void fill(engine::order& o, std::int64_t price, std::int64_t lots) {
  o.filled += quantity_lots{lots};
  o.notional += static_cast<engine::int128>(price) * lots;
}

std::string order_json(const engine::order& o) {
  std::string out;
  append_order(out, o, btc());
  return out;
}

// --- timestamps -------------------------------------------------------------------------

TEST(Timestamp, KnownInstants) {
  EXPECT_EQ(format_timestamp(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(format_timestamp(1), "1970-01-01T00:00:00.000001Z");
  EXPECT_EQ(format_timestamp(kNovember21), kNovember21Text);
  EXPECT_EQ(format_timestamp(-1), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(format_timestamp(946'684'799'999'999), "1999-12-31T23:59:59.999999Z");
  EXPECT_EQ(format_timestamp(946'684'800'000'000), "2000-01-01T00:00:00.000000Z");
}

TEST(Timestamp, LeapDays) {
  EXPECT_EQ(format_timestamp(68'169'600'000'000), "1972-02-29T00:00:00.000000Z");
  EXPECT_EQ(format_timestamp(951'782'400'000'000), "2000-02-29T00:00:00.000000Z");
  EXPECT_EQ(format_timestamp(1'709'251'199'999'999), "2024-02-29T23:59:59.999999Z");
  // 2100 is not a leap year: the day after Feb 28 is Mar 1.
  EXPECT_EQ(format_timestamp(4'107'499'200'000'000), "2100-02-28T12:00:00.000000Z");
  EXPECT_EQ(format_timestamp(4'107'585'600'000'000), "2100-03-01T12:00:00.000000Z");
  EXPECT_EQ(format_timestamp(4'133'980'799'999'999), "2100-12-31T23:59:59.999999Z");
}

TEST(Timestamp, ClampedToFourDigitYears) {
  EXPECT_EQ(format_timestamp(std::numeric_limits<std::int64_t>::max()),
            "9999-12-31T23:59:59.999999Z");
  EXPECT_EQ(format_timestamp(std::numeric_limits<std::int64_t>::min()),
            "0000-01-01T00:00:00.000000Z");
  EXPECT_EQ(format_timestamp(253'402'300'799'999'999), "9999-12-31T23:59:59.999999Z");
}

TEST(Timestamp, BufferFormWritesExactlyTwentySevenChars) {
  char buf[kTimestampLength + 1];
  buf[kTimestampLength] = '#';
  EXPECT_EQ(format_timestamp(kNovember21, buf), kTimestampLength);
  EXPECT_EQ(std::string(buf, kTimestampLength), kNovember21Text);
  EXPECT_EQ(buf[kTimestampLength], '#');
}

// Every day from 1970 through 2100 against the C library, at a varying time of day.
TEST(Timestamp, EveryDay1970To2100MatchesGmtime) {
  constexpr std::int64_t kEndOf2100 = 4'133'980'800;  // 2101-01-01T00:00:00Z
  for (std::int64_t day = 0; day * 86'400 < kEndOf2100; ++day) {
    const std::int64_t seconds = day * 86'400 + (day * 7'919) % 86'400;
    const std::int64_t micros = (day * 104'729) % 1'000'000;
    const std::time_t tt = static_cast<std::time_t>(seconds);
    std::tm tm{};
    ASSERT_NE(gmtime_r(&tt, &tm), nullptr);
    char expected[64];
    std::snprintf(expected, sizeof expected, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
                  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(micros));
    ASSERT_EQ(format_timestamp(seconds * 1'000'000 + micros), expected) << "day " << day;
  }
}

// --- orders -----------------------------------------------------------------------------

TEST(WireOrder, OpenLimitOrder) {
  EXPECT_EQ(order_json(open_limit_buy()),
            R"({"order_id":"order-1","client_id":"client-A","client_order_id":null,"key_id":null,)"
            R"("instrument":"BTC-USD","side":"buy","type":"limit","time_in_force":"gtc",)"
            R"("post_only":false,"stp":"cancel_taker","price":"70150.50","stop_price":null,)"
            R"("triggered":null,)"
            R"("quantity":"0.25000000","filled_quantity":"0.00000000",)"
            R"("remaining_quantity":"0.25000000","average_fill_price":null,"status":"open",)"
            R"("reason":null,"created_at":"2026-11-21T12:00:00.123456Z",)"
            R"("updated_at":"2026-11-21T12:00:00.123456Z","sequence":1042})");
}

TEST(WireOrder, PartiallyFilledWithAveragePrice) {
  engine::order o = open_limit_buy();
  fill(o, 7'015'000, 10'000'000);  // 0.1 @ 70150.00
  o.status = engine::order_status::partially_filled;
  o.updated_at = kNovember21 + 1'500'000;
  o.sequence = 1043;
  EXPECT_EQ(order_json(o),
            R"({"order_id":"order-1","client_id":"client-A","client_order_id":null,"key_id":null,)"
            R"("instrument":"BTC-USD","side":"buy","type":"limit","time_in_force":"gtc",)"
            R"("post_only":false,"stp":"cancel_taker","price":"70150.50","stop_price":null,)"
            R"("triggered":null,)"
            R"("quantity":"0.25000000","filled_quantity":"0.10000000",)"
            R"("remaining_quantity":"0.15000000","average_fill_price":"70150.00",)"
            R"("status":"partially_filled","reason":null,)"
            R"("created_at":"2026-11-21T12:00:00.123456Z",)"
            R"("updated_at":"2026-11-21T12:00:01.623456Z","sequence":1043})");
}

TEST(WireOrder, AveragePriceIsVolumeWeightedAndRoundedToPricePrecision) {
  engine::order o = open_limit_buy();
  fill(o, 7'015'000, 10'000'000);  // 0.1  @ 70150.00
  fill(o, 7'015'100, 5'000'000);   // 0.05 @ 70151.00 -> 70150.333...
  const json j = json::parse(order_json(o));
  EXPECT_EQ(j["average_fill_price"], "70150.33");
  EXPECT_EQ(j["filled_quantity"], "0.15000000");
  EXPECT_EQ(j["remaining_quantity"], "0.10000000");
}

TEST(WireOrder, MarketOrderHasNullPrice) {
  engine::order o;
  o.id = engine::order_id::from("m-1");
  o.client = engine::client_id::from("client-B");
  o.order_side = engine::side::sell;
  o.type = engine::order_type::market;
  o.tif = engine::time_in_force::ioc;
  o.quantity = quantity_lots{100'000'000};  // 1 BTC
  fill(o, 7'015'100, 40'000'000);           // 0.4 @ 70151.00, rest cancelled
  o.status = engine::order_status::cancelled;
  o.created_at = 0;
  o.updated_at = 0;
  o.sequence = 7;
  EXPECT_EQ(order_json(o),
            R"({"order_id":"m-1","client_id":"client-B","client_order_id":null,)"
            R"("key_id":null,"instrument":"BTC-USD",)"
            R"("side":"sell","type":"market","time_in_force":"ioc",)"
            R"("post_only":false,"stp":"cancel_taker","price":null,"stop_price":null,)"
            R"("triggered":null,)"
            R"("quantity":"1.00000000","filled_quantity":"0.40000000",)"
            R"("remaining_quantity":"0.60000000","average_fill_price":"70151.00",)"
            R"("status":"cancelled","reason":null,"created_at":"1970-01-01T00:00:00.000000Z",)"
            R"("updated_at":"1970-01-01T00:00:00.000000Z","sequence":7})");
}

// client_order_id, post_only, stp and reason: the label and the reason are null when there
// is none, so every order object has the same fields.
TEST(WireOrder, OrderOptionsAndEndReason) {
  engine::order o = open_limit_buy();
  o.post_only = true;
  o.stp = engine::stp_mode::cancel_both;
  o.status = engine::order_status::cancelled;
  o.reason = engine::end_reason::self_trade_prevention;
  std::string text;
  append_order(text, o, engine::instrument::btc_usd(), "my-label_1");
  json j = json::parse(text);
  EXPECT_EQ(j["client_order_id"], "my-label_1");
  EXPECT_EQ(j["post_only"], true);
  EXPECT_EQ(j["stp"], "cancel_both");
  EXPECT_EQ(j["reason"], "self_trade_prevention");
  o.reason = engine::end_reason::would_take;
  EXPECT_EQ(json::parse(order_json(o))["reason"], "would_take");
}

TEST(WireOrder, CancelledOrderShowsWhatWasLeft) {
  engine::order o = open_limit_buy();
  o.status = engine::order_status::cancelled;
  const json j = json::parse(order_json(o));
  EXPECT_EQ(j["status"], "cancelled");
  EXPECT_EQ(j["remaining_quantity"], "0.25000000");
  EXPECT_TRUE(j["average_fill_price"].is_null());
}

// A stop order: its API type, its stop price at the instrument's precision, and whether it
// triggered.
TEST(WireOrder, AStopOrderHasItsTypeStopPriceAndTrigger) {
  engine::order o = open_limit_buy();
  o.stop_price = engine::price_ticks{7'020'000};
  json j = json::parse(order_json(o));
  EXPECT_EQ(j["type"], "stop_limit");
  EXPECT_EQ(j["price"], "70150.50");
  EXPECT_EQ(j["stop_price"], "70200.00");
  EXPECT_EQ(j["triggered"], false);
  o.type = engine::order_type::market;
  o.price = engine::price_ticks{0};
  o.triggered = true;
  j = json::parse(order_json(o));
  EXPECT_EQ(j["type"], "stop_market");
  EXPECT_TRUE(j["price"].is_null());
  EXPECT_EQ(j["triggered"], true);
}

TEST(WireOrder, FieldsAndTypes) {
  engine::order o = open_limit_buy();
  fill(o, 7'015'000, 10'000'000);
  const json j = json::parse(order_json(o));
  const std::vector<std::string> string_fields = {"order_id",
                                                  "client_id",
                                                  "instrument",
                                                  "side",
                                                  "type",
                                                  "time_in_force",
                                                  "price",
                                                  "quantity",
                                                  "filled_quantity",
                                                  "remaining_quantity",
                                                  "average_fill_price",
                                                  "status",
                                                  "created_at",
                                                  "updated_at",
                                                  "stp"};
  EXPECT_EQ(j.size(), string_fields.size() + 7);
  EXPECT_TRUE(j.at("key_id").is_null());
  EXPECT_TRUE(j.at("stop_price").is_null());
  EXPECT_TRUE(j.at("triggered").is_null());
  EXPECT_TRUE(j.at("client_order_id").is_null());
  EXPECT_TRUE(j.at("reason").is_null());
  EXPECT_TRUE(j.at("post_only").is_boolean());
  for (const std::string& name : string_fields) {
    EXPECT_TRUE(j.at(name).is_string()) << name;
  }
  EXPECT_TRUE(j.at("sequence").is_number_unsigned());
  EXPECT_EQ(j["sequence"].get<std::uint64_t>(), 1042U);
}

// The placing key's public id (engine/key_id.h): 16 lowercase hex digits, leading zeros
// kept, right after client_order_id; null when no key placed the order (--auth none).
TEST(WireOrder, KeyIdIsSixteenHexDigitsOrNull) {
  engine::order o = open_limit_buy();
  EXPECT_NE(order_json(o).find(R"("client_order_id":null,"key_id":null,"instrument")"),
            std::string::npos)
      << order_json(o);
  o.key = 0x00ab'cdef'0123'4567ULL;
  EXPECT_NE(order_json(o).find(R"("client_order_id":null,"key_id":"00abcdef01234567",)"),
            std::string::npos)
      << order_json(o);
  o.key = ~0ULL;
  EXPECT_EQ(json::parse(order_json(o))["key_id"], "ffffffffffffffff");
  o.key = 1;
  EXPECT_EQ(json::parse(order_json(o))["key_id"], "0000000000000001");
  EXPECT_EQ(engine::parse_key_id("0000000000000001"), std::optional<engine::key_id>(1));
}

TEST(WireOrder, AppendsWithoutTouchingWhatIsThere) {
  std::string out = "prefix:";
  append_order(out, open_limit_buy(), btc());
  EXPECT_EQ(out.rfind("prefix:{\"order_id\":", 0), 0U);
  EXPECT_EQ(out.back(), '}');
}

// --- trades, deltas, books ----------------------------------------------------------------

engine::trade sample_trade() {
  engine::trade t;
  t.id = 981;
  t.price = price_ticks{7'015'050};
  t.quantity = quantity_lots{10'000'000};
  t.aggressor = engine::side::sell;
  t.buy_order_id = engine::order_id::from("order-1");
  t.sell_order_id = engine::order_id::from("order-2");
  t.executed_at = kNovember21;
  t.sequence = 1042;
  t.maker_fee = 140;  // 1.40
  t.taker_fee = 5;    // 0.05
  return t;
}

TEST(WireTrade, ExactJson) {
  std::string out;
  append_trade(out, sample_trade(), btc());
  EXPECT_EQ(out, R"({"trade_id":"981","instrument":"BTC-USD","buy_order_id":"order-1",)"
                 R"("sell_order_id":"order-2","price":"70150.50","quantity":"0.10000000",)"
                 R"("aggressor_side":"sell","timestamp":"2026-11-21T12:00:00.123456Z",)"
                 R"("sequence":1042,"maker_fee":"1.40","taker_fee":"0.05"})");
}

TEST(WireTrade, TypesAndLargeIds) {
  engine::trade t = sample_trade();
  t.id = std::numeric_limits<std::uint64_t>::max();
  std::string out;
  append_trade(out, t, btc());
  const json j = json::parse(out);
  EXPECT_EQ(j.size(), 11U);
  EXPECT_EQ(j["trade_id"], "18446744073709551615");
  for (const char* name : {"trade_id", "instrument", "buy_order_id", "sell_order_id", "price",
                           "quantity", "aggressor_side", "timestamp", "maker_fee", "taker_fee"}) {
    EXPECT_TRUE(j.at(name).is_string()) << name;
  }
  EXPECT_TRUE(j.at("sequence").is_number_unsigned());
  EXPECT_FALSE(j.contains("buy_client"));
  EXPECT_FALSE(j.contains("buy_client_id"));
}

TEST(WireLevelDelta, ExactJsonAndRemovedLevel) {
  engine::level_delta d;
  d.level_side = engine::side::buy;
  d.price = price_ticks{7'015'050};
  d.quantity = quantity_lots{110'000'000};
  d.orders = 2;
  d.sequence = 1042;
  std::string out;
  append_level_delta(out, d, btc());
  EXPECT_EQ(out, R"({"side":"buy","price":"70150.50","quantity":"1.10000000","orders":2})");

  d.level_side = engine::side::sell;
  d.price = price_ticks{7'015'100};
  d.quantity = quantity_lots{0};
  d.orders = 0;
  out.clear();
  append_level_delta(out, d, btc());
  EXPECT_EQ(out, R"({"side":"sell","price":"70151.00","quantity":"0.00000000","orders":0})");
  const json j = json::parse(out);
  EXPECT_TRUE(j["quantity"].is_string());
  EXPECT_TRUE(j["orders"].is_number_unsigned());
}

TEST(WireOrderbook, CumulativeQuantities) {
  const std::vector<book_level> bids = {
      {price_ticks{7'015'050}, quantity_lots{120'000'000}, 3},
      {price_ticks{7'015'000}, quantity_lots{30'000'000}, 1},
      {price_ticks{7'014'000}, quantity_lots{1}, 1},
  };
  const std::vector<book_level> asks = {
      {price_ticks{7'015'100}, quantity_lots{50'000'000}, 1},
  };
  std::string out;
  append_orderbook(out, btc(), 1042, kNovember21, bids, asks);
  EXPECT_EQ(out, R"({"instrument":"BTC-USD","sequence":1042,)"
                 R"("timestamp":"2026-11-21T12:00:00.123456Z","bids":[)"
                 R"({"price":"70150.50","quantity":"1.20000000","orders":3,)"
                 R"("cumulative_quantity":"1.20000000"},)"
                 R"({"price":"70150.00","quantity":"0.30000000","orders":1,)"
                 R"("cumulative_quantity":"1.50000000"},)"
                 R"({"price":"70140.00","quantity":"0.00000001","orders":1,)"
                 R"("cumulative_quantity":"1.50000001"}],"asks":[)"
                 R"({"price":"70151.00","quantity":"0.50000000","orders":1,)"
                 R"("cumulative_quantity":"0.50000000"}]})");

  const json j = json::parse(out);
  EXPECT_TRUE(j["instrument"].is_string());
  EXPECT_TRUE(j["sequence"].is_number_unsigned());
  EXPECT_TRUE(j["timestamp"].is_string());
  ASSERT_TRUE(j["bids"].is_array());
  ASSERT_TRUE(j["asks"].is_array());
  for (const json& level : j["bids"]) {
    EXPECT_TRUE(level["price"].is_string());
    EXPECT_TRUE(level["quantity"].is_string());
    EXPECT_TRUE(level["orders"].is_number_unsigned());
    EXPECT_TRUE(level["cumulative_quantity"].is_string());
  }
}

TEST(WireOrderbook, EmptyBook) {
  std::string out;
  append_orderbook(out, btc(), 0, 0, {}, {});
  EXPECT_EQ(out, R"({"instrument":"BTC-USD","sequence":0,)"
                 R"("timestamp":"1970-01-01T00:00:00.000000Z","bids":[],"asks":[]})");
}

TEST(WireOrderbook, OtherPrecisions) {
  const engine::instrument eth = *engine::instrument::parse_spec("ETH-USD:0.05:0.001");
  const std::vector<book_level> asks = {{price_ticks{40'001}, quantity_lots{1'500}, 2}};
  std::string out;
  append_orderbook(out, eth, 5, 0, {}, asks);
  const json j = json::parse(out);
  EXPECT_EQ(j["asks"][0]["price"], "2000.05");
  EXPECT_EQ(j["asks"][0]["quantity"], "1.500");
}

// --- composition ------------------------------------------------------------------------

TEST(WireCompose, OrderResponseWithTrades) {
  std::string out;
  json_writer w(out);
  w.begin_object();
  w.key("order");
  append_order(w, open_limit_buy(), btc());
  w.key("trades");
  w.begin_array();
  append_trade(w, sample_trade(), btc());
  append_trade(w, sample_trade(), btc());
  w.end_array();
  w.end_object();
  EXPECT_EQ(w.depth(), 0);
  const json j = json::parse(out);
  EXPECT_EQ(j["order"]["order_id"], "order-1");
  ASSERT_EQ(j["trades"].size(), 2U);
  EXPECT_EQ(j["trades"][1]["trade_id"], "981");
}

TEST(WireCompose, StreamEnvelope) {
  std::string out;
  json_writer w(out);
  w.begin_object();
  w.key("channel");
  w.string_value("trades");
  w.key("instrument");
  w.string_value("BTC-USD");
  w.key("sequence");
  w.uint_value(1042);
  w.key("data");
  append_trade(w, sample_trade(), btc());
  w.end_object();
  EXPECT_EQ(out.rfind(R"({"channel":"trades","instrument":"BTC-USD","sequence":1042,"data":{)", 0),
            0U);
  EXPECT_TRUE(json::accept(out));
}

}  // namespace
}  // namespace matchd::codec
