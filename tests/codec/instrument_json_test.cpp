// The instrument object of GET /instruments and the body of POST /admin/instruments
// (docs/api.md, Instruments): written and read back exactly.

#include <gtest/gtest.h>
#include <matchd/codec/instrument_json.h>

#include <nlohmann/json.hpp>
#include <string>

namespace matchd::codec {
namespace {

using nlohmann::json;

TEST(instrument_json, writes_every_rule_as_the_api_lists_it) {
  const engine::instrument ins =
      *engine::instrument::parse_spec("BTC-USD:0.01:0.00000001:band_bps=500:max_notional=1000000");
  std::string out;
  append_instrument(out, ins, true);
  EXPECT_EQ(out,
            R"({"symbol":"BTC-USD","status":"halted","tick_size":"0.01","lot_size":"0.00000001",)"
            R"("min_price":"0.01","max_price":"1000000000.00","min_quantity":"0.00000001",)"
            R"("max_quantity":"10000.00000000","band_bps":500,"max_notional":"1000000.00"})");
  std::string plain;
  append_instrument(plain, *engine::instrument::parse_spec("ETH-USD:0.1:1"), false);
  const json j = json::parse(plain);
  EXPECT_EQ(j["status"], "trading");
  EXPECT_TRUE(j["band_bps"].is_null());
  EXPECT_TRUE(j["max_notional"].is_null());
}

TEST(instrument_json, a_written_instrument_reads_back_the_same) {
  engine::instrument ins =
      *engine::instrument::parse_spec("SOL-USD:0.001:0.1:band_bps=250:max_notional=12345.678");
  ins.max_quantity = engine::quantity_lots{5000};
  ins.max_price = engine::price_ticks{9'000'000};
  std::string out;
  append_instrument(out, ins, false);
  engine::instrument back;
  ASSERT_FALSE(parse_instrument_request(out, back).has_value()) << out;
  EXPECT_TRUE(back == ins) << out;
}

TEST(instrument_json, reads_numbers_exactly_and_defaults_what_is_absent) {
  engine::instrument ins;
  ASSERT_FALSE(parse_instrument_request(
                   R"({"symbol":"ETH-USD","tick_size":0.01,"lot_size":0.0001,"band_bps":300,)"
                   R"("max_notional":250000,"unknown":{"x":[1]}})",
                   ins)
                   .has_value());
  EXPECT_TRUE(ins == [] {
    engine::instrument e =
        *engine::instrument::parse_spec("ETH-USD:0.01:0.0001:band_bps=300:max_notional=250000");
    return e;
  }());
  ASSERT_FALSE(parse_instrument_request(
                   R"({"symbol":"X","tick_size":"1","lot_size":"1","band_bps":null})", ins)
                   .has_value());
  EXPECT_EQ(ins.band_bps, 0u);
}

TEST(instrument_json, refuses_what_the_api_refuses) {
  const auto code = [](std::string_view body) {
    engine::instrument ins;
    const auto e = parse_instrument_request(body, ins);
    return e ? std::string(e->code) : std::string("ok");
  };
  EXPECT_EQ(code(""), "malformed_json");
  EXPECT_EQ(code("[1]"), "malformed_json");
  EXPECT_EQ(code(R"({"symbol":"X","symbol":"Y","tick_size":"1","lot_size":"1"})"),
            "malformed_json");
  EXPECT_EQ(code(R"({"symbol":"X","tick_size":"1"})"), "missing_field");
  EXPECT_EQ(code(R"({"symbol":null,"tick_size":"1","lot_size":"1"})"), "missing_field");
  EXPECT_EQ(code(R"({"symbol":7,"tick_size":"1","lot_size":"1"})"), "invalid_field_type");
  EXPECT_EQ(code(R"({"symbol":"X","tick_size":true,"lot_size":"1"})"), "invalid_field_type");
  EXPECT_EQ(code(R"({"symbol":"X:Y","tick_size":"1","lot_size":"1"})"), "invalid_parameter");
  EXPECT_EQ(code(R"({"symbol":"X","tick_size":"0","lot_size":"1"})"), "invalid_parameter");
  EXPECT_EQ(code(R"({"symbol":"X","tick_size":"1","lot_size":"1","band_bps":1.5})"),
            "invalid_parameter");
  EXPECT_EQ(code(R"({"symbol":"X","tick_size":"1","lot_size":"0.5","max_quantity":"0.25"})"),
            "invalid_parameter");
  EXPECT_EQ(code(R"({"symbol":"X","tick_size":"1","lot_size":"1"})"), "ok");
}

}  // namespace
}  // namespace matchd::codec
