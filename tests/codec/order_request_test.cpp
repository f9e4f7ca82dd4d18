// POST /orders bodies -> validated place_order commands, every error code the parser
// produces, validation order, fingerprints; the parser's error bodies. The code table
// itself: errors_test.cpp.

#include <gtest/gtest.h>
#include <matchd/codec/errors.h>
#include <matchd/codec/order_request.h>
#include <matchd/engine/instrument.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "test_instruments.h"

namespace matchd::codec {
namespace {

using engine::order_type;
using engine::side;
using engine::time_in_force;

order_request parse_ok(std::string_view body, std::string_view header_key = {}) {
  order_request r;
  const auto error = parse_order_request(body, header_key, test_instruments(), r);
  EXPECT_FALSE(error.has_value()) << body << "\n -> " << (error ? error->code : "") << ": "
                                  << (error ? error->message : "");
  return r;
}

api_error parse_error(std::string_view body, std::string_view header_key = {}) {
  order_request r;
  auto error = parse_order_request(body, header_key, test_instruments(), r);
  EXPECT_TRUE(error.has_value()) << body << " was accepted";
  return error.value_or(api_error{0, "accepted", ""});
}

std::string_view code_of(std::string_view body, std::string_view header_key = {}) {
  return parse_error(body, header_key).code;
}

// A valid limit order with one field replaced (raw JSON value) or removed (nullopt).
std::string limit_with(std::string_view name, std::optional<std::string_view> raw) {
  const std::vector<std::pair<std::string_view, std::string_view>> fields = {
      {"client_id", "\"client-A\""}, {"instrument", "\"BTC-USD\""}, {"side", "\"buy\""},
      {"type", "\"limit\""},         {"quantity", "\"0.25\""},      {"price", "\"70150.5\""},
  };
  std::string body = "{";
  bool replaced = false;
  for (const auto& [key, value] : fields) {
    std::string_view v = value;
    if (key == name) {
      replaced = true;
      if (!raw) continue;
      v = *raw;
    }
    if (body.size() > 1) body += ",";
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
// GCC 12 at -O3 reports a bogus -Wrestrict inside libstdc++'s `"literal" + std::string&&`
// (GCC bug 105651; Debian 12 ships GCC 12.2).
#pragma GCC diagnostic ignored "-Wrestrict"
#endif
    body += "\"" + std::string(key) + "\":" + std::string(v);
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
  }
  if (!replaced && raw) body += ",\"" + std::string(name) + "\":" + std::string(*raw);
  return body + "}";
}

std::string market_with(std::string_view name, std::string_view raw) {
  std::string body =
      R"({"client_id":"c","instrument":"BTC-USD","side":"sell","type":"market","quantity":1)";
  return body + ",\"" + std::string(name) + "\":" + std::string(raw) + "}";
}

// --- accepted requests ----------------------------------------------------------------

TEST(OrderRequest, FullLimitOrderMapsEveryField) {
  const order_request r = parse_ok(
      R"({"idempotency_key": "abc-123", "order_id": "order-1", "client_id": "client-A",
          "instrument": "BTC-USD", "side": "buy", "type": "limit", "price": 70150.5,
          "quantity": 0.25, "time_in_force": "fok"})");
  EXPECT_EQ(r.command.id.view(), "order-1");
  EXPECT_TRUE(r.has_order_id);
  EXPECT_EQ(r.command.client.view(), "client-A");
  EXPECT_EQ(r.command.instrument, 0U);
  EXPECT_EQ(r.command.order_side, side::buy);
  EXPECT_EQ(r.command.type, order_type::limit);
  EXPECT_EQ(r.command.tif, time_in_force::fok);
  EXPECT_EQ(r.command.price.value, 7'015'050);
  EXPECT_EQ(r.command.quantity.value, 25'000'000);
  EXPECT_EQ(r.command.received_at, 0);
  EXPECT_EQ(r.idempotency.view(), "abc-123");
  EXPECT_NE(r.fingerprint, 0U);
}

TEST(OrderRequest, DefaultsWhenOptionalFieldsAreAbsent) {
  const order_request r = parse_ok(limit_with("", std::nullopt));
  EXPECT_FALSE(r.has_order_id);
  EXPECT_TRUE(r.command.id.empty());
  EXPECT_EQ(r.command.tif, time_in_force::gtc);
  EXPECT_TRUE(r.idempotency.empty());
}

TEST(OrderRequest, NullOptionalFieldsCountAsAbsent) {
  const order_request r = parse_ok(
      R"({"client_id":"c","instrument":"BTC-USD","side":"sell","type":"limit","quantity":1,
          "price":1,"time_in_force":null,"order_id":null,"idempotency_key":null})");
  EXPECT_EQ(r.command.order_side, side::sell);
  EXPECT_EQ(r.command.tif, time_in_force::gtc);
  EXPECT_FALSE(r.has_order_id);
  EXPECT_TRUE(r.idempotency.empty());
}

TEST(OrderRequest, PricesAreExactTicks) {
  // Number and string forms, integer and exponent forms, trailing zeros.
  EXPECT_EQ(parse_ok(limit_with("price", "70150.5")).command.price.value, 7'015'050);
  EXPECT_EQ(parse_ok(limit_with("price", "\"70150.50\"")).command.price.value, 7'015'050);
  EXPECT_EQ(parse_ok(limit_with("price", "70150")).command.price.value, 7'015'000);
  EXPECT_EQ(parse_ok(limit_with("price", "7.01505e4")).command.price.value, 7'015'050);
  EXPECT_EQ(parse_ok(limit_with("price", "0.1")).command.price.value, 10);
  EXPECT_EQ(parse_ok(limit_with("price", "0.29")).command.price.value,
            29);  // 0.29 is inexact in binary
  EXPECT_EQ(parse_ok(limit_with("price", "1000000000.00")).command.price.value, 100'000'000'000);
}

TEST(OrderRequest, TicksAreUnitsDividedByTickUnits) {
  // ETH-USD tick 0.05: 2000.05 is 200005 price units = 40001 ticks.
  const order_request r = parse_ok(
      R"({"client_id":"c","instrument":"ETH-USD","side":"buy","type":"limit",
          "price":2000.05,"quantity":"1.5"})");
  EXPECT_EQ(r.command.instrument, 1U);
  EXPECT_EQ(r.command.price.value, 40'001);
  EXPECT_EQ(r.command.quantity.value, 1'500);
}

TEST(OrderRequest, QuantitiesAreExactLots) {
  EXPECT_EQ(parse_ok(limit_with("quantity", "1e-3")).command.quantity.value, 100'000);
  EXPECT_EQ(parse_ok(limit_with("quantity", "\"1e-3\"")).command.quantity.value, 100'000);
  EXPECT_EQ(parse_ok(limit_with("quantity", "1E+2")).command.quantity.value, 10'000'000'000);
  EXPECT_EQ(parse_ok(limit_with("quantity", "0.00000001")).command.quantity.value, 1);
  EXPECT_EQ(parse_ok(limit_with("quantity", "3")).command.quantity.value, 300'000'000);
  EXPECT_EQ(parse_ok(limit_with("quantity", "0.1")).command.quantity.value, 10'000'000);
  EXPECT_EQ(parse_ok(limit_with("quantity", "10000")).command.quantity.value, 1'000'000'000'000);
}

TEST(OrderRequest, MarketOrderHasNoPriceAndIsIoc) {
  const order_request r = parse_ok(
      R"({"client_id":"c","instrument":"BTC-USD","side":"sell","type":"market","quantity":1})");
  EXPECT_EQ(r.command.type, order_type::market);
  EXPECT_EQ(r.command.tif, time_in_force::ioc);
  EXPECT_EQ(r.command.price.value, 0);
  EXPECT_EQ(parse_ok(market_with("price", "null")).command.price.value, 0);
  EXPECT_EQ(parse_ok(market_with("time_in_force", "\"ioc\"")).command.tif, time_in_force::ioc);
}

TEST(OrderRequest, TimeInForceValues) {
  EXPECT_EQ(parse_ok(limit_with("time_in_force", "\"gtc\"")).command.tif, time_in_force::gtc);
  EXPECT_EQ(parse_ok(limit_with("time_in_force", "\"ioc\"")).command.tif, time_in_force::ioc);
  EXPECT_EQ(parse_ok(limit_with("time_in_force", "\"fok\"")).command.tif, time_in_force::fok);
}

TEST(OrderRequest, UnknownFieldsAreIgnoredWhateverTheirValue) {
  const order_request r = parse_ok(
      R"({"note":{"a":[1,{"price":"x"}],"b":null},"tags":[[]],"extra":-1.5e300,
          "client_id":"c","instrument":"BTC-USD","side":"buy","type":"limit",
          "price":"1","quantity":"1","flag":true})");
  EXPECT_EQ(r.command.price.value, 100);
}

TEST(OrderRequest, NestedKnownNamesDoNotCount) {
  // "price" inside an unknown object is not the order's price.
  EXPECT_EQ(code_of(R"({"client_id":"c","instrument":"BTC-USD","side":"buy","type":"limit",
                        "quantity":"1","x":{"price":"1"}})"),
            "missing_field");
}

TEST(OrderRequest, WhitespaceAndUnicodeEscapesAreJson) {
  const order_request r = parse_ok(
      "\t{ \"client_id\" : \"\\u0063\" ,\n\"instrument\":\"BTC-USD\",\"side\":\"buy\","
      "\"type\":\"limit\",\"price\":1,\"quantity\":1 }\r\n");
  EXPECT_EQ(r.command.client.view(), "c");
}

TEST(OrderRequest, IdempotencyKeyFromHeaderOrBody) {
  EXPECT_EQ(parse_ok(limit_with("", std::nullopt), "hdr-1").idempotency.view(), "hdr-1");
  EXPECT_EQ(parse_ok(limit_with("idempotency_key", "\"k:1\"")).idempotency.view(), "k:1");
  EXPECT_EQ(parse_ok(limit_with("idempotency_key", "\"same\""), "same").idempotency.view(), "same");
}

TEST(OrderRequest, IdsAcceptTheFullCharsetAndLength) {
  const std::string id64(64, 'a');
  EXPECT_EQ(parse_ok(limit_with("order_id", "\"" + id64 + "\"")).command.id.view(), id64);
  EXPECT_EQ(parse_ok(limit_with("client_id", "\"AZaz09._:-\"")).command.client.view(),
            "AZaz09._:-");
}

// --- structural errors ------------------------------------------------------------------

TEST(OrderRequestErrors, MalformedJson) {
  EXPECT_EQ(code_of(""), "malformed_json");
  EXPECT_EQ(code_of("   "), "malformed_json");
  EXPECT_EQ(code_of("{"), "malformed_json");
  EXPECT_EQ(code_of(R"({"client_id":"c",})"), "malformed_json");
  EXPECT_EQ(code_of(R"({"client_id":'c'})"), "malformed_json");
  EXPECT_EQ(code_of(limit_with("", std::nullopt) + "{}"), "malformed_json");
  EXPECT_EQ(code_of(limit_with("", std::nullopt) + " x"), "malformed_json");
  EXPECT_EQ(code_of(limit_with("price", "01")), "malformed_json");  // not JSON number grammar
  EXPECT_EQ(code_of(limit_with("price", "NaN")), "malformed_json");
  EXPECT_EQ(code_of(limit_with("price", "1.")), "malformed_json");
  EXPECT_EQ(code_of(limit_with("client_id", "\"\xff\"")), "malformed_json");  // bad UTF-8
  EXPECT_EQ(code_of("{\"client_id\":\"a\nb\"}"), "malformed_json");           // raw control char
  EXPECT_EQ(code_of(limit_with("", std::nullopt) + "/* c */"), "malformed_json");
  EXPECT_EQ(code_of(limit_with("note", "1e400")), "malformed_json");  // beyond double
}

TEST(OrderRequestErrors, MalformedJsonMessageLocatesTheProblem) {
  const api_error e = parse_error(R"({"client_id":"c",})");
  EXPECT_EQ(e.status, 400);
  EXPECT_NE(e.message.find("malformed JSON"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("column"), std::string::npos) << e.message;
  EXPECT_EQ(e.message.find("[json.exception"), std::string::npos) << e.message;
}

TEST(OrderRequestErrors, TopLevelMustBeAnObject) {
  for (const char* body : {"[]", "[{}]", "\"order\"", "1", "1.5", "null", "true"}) {
    const api_error e = parse_error(body);
    EXPECT_EQ(e.code, "malformed_json") << body;
    EXPECT_NE(e.message.find("must be a JSON object"), std::string::npos) << e.message;
  }
}

TEST(OrderRequestErrors, DuplicateKnownFieldIsRejected) {
  const api_error e = parse_error(limit_with("", std::nullopt).insert(1, R"("price":"1",)"));
  EXPECT_EQ(e.code, "malformed_json");
  EXPECT_EQ(e.message, "duplicate field \"price\"");
  // Also when the first occurrence is null, and for optional fields.
  EXPECT_EQ(code_of(limit_with("order_id", "\"a\"").insert(1, R"("order_id":null,)")),
            "malformed_json");
  // Unknown fields may repeat.
  parse_ok(limit_with("note", "1").insert(1, R"("note":2,)"));
}

TEST(OrderRequestErrors, StructureIsCheckedBeforeFields) {
  EXPECT_EQ(code_of(R"({"client_id":"bad id", "price":)"), "malformed_json");
  EXPECT_EQ(code_of(R"({"client_id":"c","client_id":"c","side":"up"})"), "malformed_json");
}

// --- missing and mistyped fields ------------------------------------------------------

TEST(OrderRequestErrors, MissingRequiredFields) {
  for (const char* name : {"client_id", "instrument", "side", "type", "quantity", "price"}) {
    const api_error e = parse_error(limit_with(name, std::nullopt));
    EXPECT_EQ(e.code, "missing_field") << name;
    EXPECT_NE(e.message.find(name), std::string::npos) << e.message;
    EXPECT_EQ(code_of(limit_with(name, "null")), "missing_field") << name << " null";
  }
  EXPECT_EQ(parse_error(limit_with("price", std::nullopt)).message,
            "price is required for limit orders");
  EXPECT_EQ(parse_error("{}").message, "client_id is required");
}

TEST(OrderRequestErrors, WrongJsonTypes) {
  const std::vector<std::pair<std::string_view, std::string_view>> cases = {
      {"client_id", "42"},
      {"client_id", "true"},
      {"instrument", "[\"BTC-USD\"]"},
      {"side", "{\"v\":\"buy\"}"},
      {"type", "1"},
      {"quantity", "true"},
      {"quantity", "[1]"},
      {"quantity", "{}"},
      {"price", "false"},
      {"price", "{\"v\":1}"},
      {"price", "[]"},
      {"time_in_force", "1"},
      {"order_id", "7"},
      {"idempotency_key", "[\"k\"]"},
  };
  for (const auto& [name, raw] : cases) {
    const api_error e = parse_error(limit_with(name, raw));
    EXPECT_EQ(e.code, "invalid_field_type") << name << "=" << raw;
    EXPECT_EQ(e.message.rfind(name, 0), 0U) << e.message;
  }
  EXPECT_EQ(parse_error(limit_with("client_id", "{}")).message,
            "client_id must be a string, got an object");
  EXPECT_EQ(parse_error(limit_with("quantity", "true")).message,
            "quantity must be a number or a decimal string, got a boolean");
}

// --- field values ---------------------------------------------------------------------

TEST(OrderRequestErrors, InvalidClientId) {
  for (const char* raw : {"\"\"", "\"a b\"", "\"a/b\"", "\"\\u00e9\"", "\"a\\u0000\""}) {
    EXPECT_EQ(code_of(limit_with("client_id", raw)), "invalid_client_id") << raw;
  }
  EXPECT_EQ(code_of(limit_with("client_id", "\"" + std::string(65, 'a') + "\"")),
            "invalid_client_id");
  EXPECT_EQ(parse_error(limit_with("client_id", "\"a b\"")).message,
            "client_id may only contain [A-Za-z0-9._:-], got \"a b\"");
}

TEST(OrderRequestErrors, UnknownInstrument) {
  const api_error e = parse_error(limit_with("instrument", "\"ETH-XYZ\""));
  EXPECT_EQ(e.code, "unknown_instrument");
  EXPECT_EQ(e.message, "unknown instrument ETH-XYZ");
  EXPECT_EQ(code_of(limit_with("instrument", "\"btc-usd\"")), "unknown_instrument");
  EXPECT_EQ(code_of(limit_with("instrument", "\"\"")), "unknown_instrument");
}

TEST(OrderRequestErrors, InvalidSideTypeAndTimeInForce) {
  EXPECT_EQ(code_of(limit_with("side", "\"BUY\"")), "invalid_side");
  EXPECT_EQ(code_of(limit_with("side", "\"bid\"")), "invalid_side");
  EXPECT_EQ(parse_error(limit_with("side", "\"bid\"")).message,
            "side must be \"buy\" or \"sell\", got \"bid\"");
  EXPECT_EQ(code_of(limit_with("type", "\"stop\"")), "invalid_order_type");
  EXPECT_EQ(code_of(limit_with("type", "\"Limit\"")), "invalid_order_type");
  EXPECT_EQ(code_of(limit_with("time_in_force", "\"day\"")), "invalid_time_in_force");
  EXPECT_EQ(code_of(limit_with("time_in_force", "\"GTC\"")), "invalid_time_in_force");
  EXPECT_EQ(code_of(limit_with("time_in_force", "\"\"")), "invalid_time_in_force");
  EXPECT_EQ(code_of(market_with("time_in_force", "\"gtc\"")), "invalid_time_in_force");
  EXPECT_EQ(code_of(market_with("time_in_force", "\"fok\"")), "invalid_time_in_force");
}

TEST(OrderRequestErrors, InvalidPrice) {
  for (const char* raw : {"0", "0.0", "\"0\"", "-1", "\"-1\"", "-0", "\"abc\"", "\"\"", "\" 1\"",
                          "\"1,5\"", "\"0x10\"", "\"+1\"", "\"1.\""}) {
    EXPECT_EQ(code_of(limit_with("price", raw)), "invalid_price") << raw;
  }
  EXPECT_EQ(parse_error(limit_with("price", "-1")).message, "price must be positive, got -1");
  EXPECT_EQ(parse_error(limit_with("price", "\"abc\"")).message,
            "price must be a positive decimal number, got \"abc\"");
}

TEST(OrderRequestErrors, InvalidPriceTick) {
  const api_error e = parse_error(limit_with("price", "1.005"));
  EXPECT_EQ(e.code, "invalid_price_tick");
  EXPECT_EQ(e.message, "price 1.005 is not a multiple of tick 0.01");
  EXPECT_EQ(code_of(limit_with("price", "\"70150.505\"")), "invalid_price_tick");
  const api_error eth = parse_error(
      R"({"client_id":"c","instrument":"ETH-USD","side":"buy","type":"limit",
          "price":2000.03,"quantity":1})");
  EXPECT_EQ(eth.code, "invalid_price_tick");
  EXPECT_EQ(eth.message, "price 2000.03 is not a multiple of tick 0.05");
}

TEST(OrderRequestErrors, PriceOutOfRange) {
  EXPECT_EQ(parse_ok(limit_with("price", "1e9")).command.price.value, 100'000'000'000);
  const api_error e = parse_error(limit_with("price", "1000000000.01"));
  EXPECT_EQ(e.code, "price_out_of_range");
  EXPECT_EQ(e.message, "price 1000000000.01 is out of range (max 1000000000.00)");
  EXPECT_EQ(code_of(limit_with("price", "99999999999999999999999")), "price_out_of_range");
  EXPECT_EQ(code_of(limit_with("price", "\"1e30\"")), "price_out_of_range");
  EXPECT_EQ(code_of(limit_with("price", "1e400")), "price_out_of_range");  // beyond double
}

TEST(OrderRequestErrors, InvalidQuantity) {
  for (const char* raw : {"0", "\"0.000\"", "-1", "-0.5", "\"abc\"", "\"\"", "\"1 \""}) {
    EXPECT_EQ(code_of(limit_with("quantity", raw)), "invalid_quantity") << raw;
  }
  EXPECT_EQ(parse_error(limit_with("quantity", "0")).message, "quantity must be positive, got 0");
}

TEST(OrderRequestErrors, InvalidQuantityLot) {
  const api_error e = parse_error(limit_with("quantity", "0.000000001"));
  EXPECT_EQ(e.code, "invalid_quantity_lot");
  EXPECT_EQ(e.message, "quantity 0.000000001 is not a multiple of lot 0.00000001");
  EXPECT_EQ(code_of(limit_with("quantity", "1e-9")), "invalid_quantity_lot");
  const api_error eth = parse_error(
      R"({"client_id":"c","instrument":"ETH-USD","side":"buy","type":"limit",
          "price":2000,"quantity":"0.0015"})");
  EXPECT_EQ(eth.code, "invalid_quantity_lot");
  EXPECT_EQ(eth.message, "quantity 0.0015 is not a multiple of lot 0.001");
}

TEST(OrderRequestErrors, QuantityOutOfRange) {
  const api_error e = parse_error(limit_with("quantity", "10000.00000001"));
  EXPECT_EQ(e.code, "quantity_out_of_range");
  EXPECT_EQ(e.message,
            "quantity 10000.00000001 is out of range (min 0.00000001, max 10000.00000000)");
  EXPECT_EQ(code_of(limit_with("quantity", "1e20")), "quantity_out_of_range");
  EXPECT_EQ(code_of(limit_with("quantity", "1e400")), "quantity_out_of_range");
  EXPECT_EQ(code_of(limit_with("quantity", "-1e400")), "invalid_quantity");
}

TEST(OrderRequestErrors, TooManyDecimals) {
  const api_error e = parse_error(limit_with("price", "\"0.0000000000000000001\""));
  EXPECT_EQ(e.code, "too_many_decimals");
  EXPECT_EQ(e.message, "price 0.0000000000000000001 has more than 18 decimal places");
  EXPECT_EQ(code_of(limit_with("quantity", "1e-19")), "too_many_decimals");
  EXPECT_EQ(code_of(limit_with("quantity", "1e-400")), "too_many_decimals");  // underflows a double
}

TEST(OrderRequestErrors, MarketOrderWithPrice) {
  for (const char* raw : {"100", "\"100\"", "0", "\"abc\"", "{}", "false"}) {
    const api_error e = parse_error(market_with("price", raw));
    EXPECT_EQ(e.code, "price_not_allowed") << raw;
    EXPECT_EQ(e.message, "market orders must not have a price");
  }
}

TEST(OrderRequestErrors, InvalidOrderId) {
  for (const char* raw : {"\"\"", "\"a b\"", "\"a/b\"", "\"\\\"\"", "\"ü\""}) {
    EXPECT_EQ(code_of(limit_with("order_id", raw)), "invalid_order_id") << raw;
  }
  const api_error e = parse_error(limit_with("order_id", "\"" + std::string(65, 'x') + "\""));
  EXPECT_EQ(e.code, "invalid_order_id");
  EXPECT_EQ(e.message, "order_id is longer than 64 characters");
  EXPECT_EQ(parse_error(limit_with("order_id", "\"\"")).message, "order_id must not be empty");
}

TEST(OrderRequestErrors, InvalidIdempotencyKey) {
  EXPECT_EQ(code_of(limit_with("idempotency_key", "\"\"")), "invalid_idempotency_key");
  EXPECT_EQ(code_of(limit_with("idempotency_key", "\"k k\"")), "invalid_idempotency_key");
  EXPECT_EQ(code_of(limit_with("", std::nullopt), "bad key"), "invalid_idempotency_key");
  EXPECT_EQ(code_of(limit_with("", std::nullopt), std::string(65, 'k')), "invalid_idempotency_key");
  const api_error e = parse_error(limit_with("idempotency_key", "\"k1\""), "k2");
  EXPECT_EQ(e.code, "invalid_idempotency_key");
  EXPECT_EQ(e.message, "idempotency_key in the body differs from the Idempotency-Key header");
}

// Each row breaks two rules; the first one in the documented order wins.
TEST(OrderRequestErrors, FieldsAreValidatedInTheDocumentedOrder) {
  EXPECT_EQ(code_of(R"({"client_id":"a b","instrument":"X","side":"up"})"), "invalid_client_id");
  EXPECT_EQ(code_of(R"({"client_id":"c","side":"up","type":"stop"})"), "missing_field");
  EXPECT_EQ(code_of(R"({"client_id":"c","instrument":"X","side":"up"})"), "unknown_instrument");
  EXPECT_EQ(code_of(R"({"type":"stop","client_id":"c","instrument":"BTC-USD","side":"up"})"),
            "invalid_side");
  EXPECT_EQ(code_of(R"({"client_id":"c","instrument":"BTC-USD","side":"buy","type":"stop",
                        "quantity":0})"),
            "invalid_order_type");
  EXPECT_EQ(code_of(R"({"client_id":"c","instrument":"BTC-USD","side":"buy","type":"limit",
                        "quantity":0,"price":0})"),
            "invalid_quantity");
  EXPECT_EQ(code_of(R"({"client_id":"c","instrument":"BTC-USD","side":"buy","type":"limit",
                        "quantity":1,"price":0,"time_in_force":"day"})"),
            "invalid_price");
  EXPECT_EQ(code_of(R"({"client_id":"c","instrument":"BTC-USD","side":"buy","type":"limit",
                        "quantity":1,"price":1,"time_in_force":"day","order_id":""})"),
            "invalid_time_in_force");
  EXPECT_EQ(code_of(R"({"client_id":"c","instrument":"BTC-USD","side":"buy","type":"limit",
                        "quantity":1,"price":1,"order_id":"","idempotency_key":""})"),
            "invalid_order_id");
  EXPECT_EQ(code_of(R"({"client_id":"c","instrument":"BTC-USD","side":"buy","type":"market",
                        "quantity":1,"price":1,"time_in_force":"gtc"})"),
            "price_not_allowed");
}

TEST(OrderRequestErrors, LongValuesAreCutInMessages) {
  const std::string side(1000, 'x');
  const api_error e = parse_error(limit_with("side", "\"" + side + "\""));
  EXPECT_EQ(e.code, "invalid_side");
  EXPECT_LT(e.message.size(), 120U);
  // Cut on a character boundary: the error body must still be valid UTF-8 JSON.
  std::string euro = "\"aa";
  for (int i = 0; i < 40; ++i) euro += "\xe2\x82\xac";
  euro += "\"";
  const api_error cut = parse_error(limit_with("instrument", euro));
  EXPECT_TRUE(nlohmann::json::accept(error_body(cut)));
  EXPECT_EQ(error_body(cut).find("\\ufffd"), std::string::npos) << error_body(cut);
}

// --- fingerprints -----------------------------------------------------------------------

std::uint64_t fingerprint(std::string_view body, std::string_view header_key = {}) {
  return parse_ok(body, header_key).fingerprint;
}

TEST(OrderRequestFingerprint, SameOrderSameFingerprint) {
  const std::uint64_t base = fingerprint(
      R"({"client_id":"client-A","instrument":"BTC-USD","side":"buy","type":"limit",
          "price":70150.5,"quantity":0.25})");
  // Whitespace, field order, number vs string, trailing zeros and exponents.
  EXPECT_EQ(base,
            fingerprint(
                R"({ "quantity" : "0.25", "price" : "70150.50", "type" : "limit", "side" : "buy",
           "instrument" : "BTC-USD", "client_id" : "client-A" })"));
  EXPECT_EQ(base, fingerprint(
                      R"({"client_id":"client-A","instrument":"BTC-USD","side":"buy","type":"limit",
          "price":7.01505e4,"quantity":25e-2,"time_in_force":"gtc","note":"ignored"})"));
  // The idempotency key identifies the request; it is not part of its content.
  EXPECT_EQ(base, fingerprint(
                      R"({"client_id":"client-A","instrument":"BTC-USD","side":"buy","type":"limit",
          "price":70150.5,"quantity":0.25,"idempotency_key":"k"})",
                      "k"));
}

TEST(OrderRequestFingerprint, MarketTimeInForceIsNormalized) {
  EXPECT_EQ(fingerprint(market_with("time_in_force", "\"ioc\"")),
            fingerprint(market_with("price", "null")));
}

TEST(OrderRequestFingerprint, EverySemanticDifferenceChangesIt) {
  const std::uint64_t base = fingerprint(limit_with("", std::nullopt));
  const std::vector<std::string> variants = {
      limit_with("price", "70150.51"),        limit_with("quantity", "0.25000001"),
      limit_with("side", "\"sell\""),         limit_with("client_id", "\"client-B\""),
      limit_with("time_in_force", "\"ioc\""), limit_with("time_in_force", "\"fok\""),
      limit_with("order_id", "\"order-1\""),  limit_with("instrument", "\"ETH-USD\""),
  };
  std::vector<std::uint64_t> seen = {base};
  for (const std::string& body : variants) {
    const std::uint64_t f = fingerprint(body);
    for (const std::uint64_t other : seen) EXPECT_NE(f, other) << body;
    seen.push_back(f);
  }
  // Market vs limit (the market order drops the price).
  EXPECT_NE(fingerprint(market_with("time_in_force", "\"ioc\"")),
            fingerprint(R"({"client_id":"c","instrument":"BTC-USD","side":"sell",
                            "type":"limit","time_in_force":"ioc","quantity":1,"price":1})"));
  EXPECT_NE(fingerprint(limit_with("order_id", "\"a\"")),
            fingerprint(limit_with("order_id", "\"b\"")));
}

// Fingerprints are persisted with idempotency keys: this value must never change. It was
// cross-checked against an independent implementation of the documented encoding.
TEST(OrderRequestFingerprint, AlgorithmIsFrozen) {
  EXPECT_EQ(fingerprint(limit_with("", std::nullopt)), 0x5d45013ec379bc1aULL)
      << std::hex << fingerprint(limit_with("", std::nullopt));
}

// --- path ids and query parameters ------------------------------------------------------

TEST(ValidId, Rules) {
  EXPECT_TRUE(valid_id("order-1"));
  EXPECT_TRUE(valid_id("a.b_c:d-E9"));
  EXPECT_TRUE(valid_id(std::string(64, 'z')));
  EXPECT_TRUE(valid_id("123e4567-e89b-12d3-a456-426614174000"));
  EXPECT_FALSE(valid_id(""));
  EXPECT_FALSE(valid_id(std::string(65, 'z')));
  EXPECT_FALSE(valid_id("a/b"));
  EXPECT_FALSE(valid_id("a%2Fb"));
  EXPECT_FALSE(valid_id("a b"));
  EXPECT_FALSE(valid_id(std::string_view("a\0b", 3)));
}

TEST(CountParameter, DefaultRangeAndErrors) {
  std::uint32_t v = 0;
  EXPECT_FALSE(parse_count_parameter("levels", std::nullopt, 20, 1000, v));
  EXPECT_EQ(v, 20U);
  EXPECT_FALSE(parse_count_parameter("levels", "1000", 20, 1000, v));
  EXPECT_EQ(v, 1000U);
  EXPECT_FALSE(parse_count_parameter("levels", "1", 20, 1000, v));
  EXPECT_EQ(v, 1U);
  for (const char* bad : {"", "0", "1001", "-1", "+5", "5x", " 5", "1.0", "99999999999"}) {
    const auto e = parse_count_parameter("levels", bad, 20, 1000, v);
    ASSERT_TRUE(e.has_value()) << bad;
    EXPECT_EQ(e->code, "invalid_parameter");
    EXPECT_EQ(e->status, 400);
  }
  EXPECT_EQ(parse_count_parameter("limit", "0", 50, 1000, v)->message,
            "limit must be an integer from 1 to 1000, got \"0\"");
}

// --- error bodies of the parser ---------------------------------------------------------

TEST(ApiErrors, EveryParserErrorBodyIsValidJson) {
  for (const char* body : {"{", "[", "{\"client_id\":\"\\u0000\"}", "{\"a\":\"\xc3\"}"}) {
    order_request r;
    const auto e = parse_order_request(body, {}, test_instruments(), r);
    ASSERT_TRUE(e.has_value());
    const auto parsed = nlohmann::json::parse(error_body(*e));
    EXPECT_TRUE(parsed["error"]["code"].is_string());
    EXPECT_TRUE(parsed["error"]["message"].is_string());
  }
}

}  // namespace
}  // namespace matchd::codec
