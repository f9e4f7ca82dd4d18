// The error table: every code the API can answer, its status, its place in the documented
// table of errors.h, and the body it is written in.

#include <gtest/gtest.h>
#include <matchd/codec/errors.h>
#include <matchd/engine/errc.h>

#include <cstddef>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace matchd::codec {
namespace {

std::vector<api_errc> every_errc() {
  std::vector<api_errc> all;
  for (std::size_t i = 0; i < kApiErrcCount; ++i) all.push_back(static_cast<api_errc>(i));
  return all;
}

TEST(ApiErrors, CodesAndStatuses) {
  const std::vector<std::tuple<api_errc, std::string_view, int>> table = {
      {api_errc::malformed_json, "malformed_json", 400},
      {api_errc::missing_field, "missing_field", 400},
      {api_errc::invalid_field_type, "invalid_field_type", 400},
      {api_errc::unknown_instrument, "unknown_instrument", 400},
      {api_errc::invalid_side, "invalid_side", 400},
      {api_errc::invalid_order_type, "invalid_order_type", 400},
      {api_errc::invalid_time_in_force, "invalid_time_in_force", 400},
      {api_errc::invalid_price, "invalid_price", 400},
      {api_errc::invalid_price_tick, "invalid_price_tick", 400},
      {api_errc::price_out_of_range, "price_out_of_range", 400},
      {api_errc::invalid_quantity, "invalid_quantity", 400},
      {api_errc::invalid_quantity_lot, "invalid_quantity_lot", 400},
      {api_errc::quantity_out_of_range, "quantity_out_of_range", 400},
      {api_errc::too_many_decimals, "too_many_decimals", 400},
      {api_errc::price_not_allowed, "price_not_allowed", 400},
      {api_errc::invalid_order_id, "invalid_order_id", 400},
      {api_errc::invalid_client_id, "invalid_client_id", 400},
      {api_errc::invalid_idempotency_key, "invalid_idempotency_key", 400},
      {api_errc::invalid_parameter, "invalid_parameter", 400},
      {api_errc::invalid_framing, "invalid_framing", 400},
      {api_errc::order_not_found, "order_not_found", 404},
      {api_errc::not_found, "not_found", 404},
      {api_errc::method_not_allowed, "method_not_allowed", 405},
      {api_errc::duplicate_order_id, "duplicate_order_id", 409},
      {api_errc::idempotency_key_reused, "idempotency_key_reused", 409},
      {api_errc::order_not_open, "order_not_open", 409},
      {api_errc::body_too_large, "body_too_large", 413},
      {api_errc::unsupported_media_type, "unsupported_media_type", 415},
      {api_errc::upgrade_required, "upgrade_required", 426},
      {api_errc::rate_limited, "rate_limited", 429},
      {api_errc::headers_too_large, "headers_too_large", 431},
      {api_errc::internal_error, "internal_error", 500},
      {api_errc::overloaded, "overloaded", 503},
      {api_errc::not_ready, "not_ready", 503},
      {api_errc::unauthorized, "unauthorized", 401},
      {api_errc::forbidden, "forbidden", 403},
      {api_errc::key_in_query, "key_in_query", 400},
      {api_errc::invalid_role, "invalid_role", 400},
      {api_errc::key_not_found, "key_not_found", 404},
      {api_errc::instrument_halted, "instrument_halted", 409},
      {api_errc::price_out_of_band, "price_out_of_band", 400},
      {api_errc::notional_too_large, "notional_too_large", 400},
      {api_errc::instrument_not_found, "instrument_not_found", 404},
      {api_errc::instrument_exists, "instrument_exists", 409},
      {api_errc::too_many_instruments, "too_many_instruments", 409},
      {api_errc::post_only_not_allowed, "post_only_not_allowed", 400},
      {api_errc::invalid_stp, "invalid_stp", 400},
      {api_errc::invalid_client_order_id, "invalid_client_order_id", 400},
      {api_errc::quantity_not_above_filled, "quantity_not_above_filled", 409},
      {api_errc::would_take, "would_take", 409},
      {api_errc::invalid_stop_price, "invalid_stop_price", 400},
      {api_errc::stop_price_not_allowed, "stop_price_not_allowed", 400},
      {api_errc::stop_not_triggered, "stop_not_triggered", 409},
      {api_errc::field_not_amendable, "field_not_amendable", 400},
      {api_errc::settlement_out_of_order, "settlement_out_of_order", 409},
      {api_errc::settlement_not_found, "settlement_not_found", 404},
      {api_errc::webhook_not_found, "webhook_not_found", 404},
      {api_errc::delivery_not_found, "delivery_not_found", 404},
      {api_errc::delivery_not_dead, "delivery_not_dead", 409},
      {api_errc::too_many_webhooks, "too_many_webhooks", 409},
  };
  ASSERT_EQ(table.size(), kApiErrcCount);
  for (const auto& [e, code, status] : table) {
    EXPECT_EQ(to_code(e), code);
    EXPECT_EQ(http_status(e), status) << code;
    const api_error made = make_error(e, "m");
    EXPECT_EQ(made.code, code);
    EXPECT_EQ(made.status, status);
  }
}

TEST(ApiErrors, EveryCodeIsUniqueAndAnErrorStatus) {
  std::set<std::string_view> seen;
  for (const api_errc e : every_errc()) {
    const std::string_view code = to_code(e);
    EXPECT_TRUE(seen.insert(code).second) << "code " << code << " appears twice";
    EXPECT_FALSE(code.empty());
    EXPECT_EQ(code.find_first_not_of("abcdefghijklmnopqrstuvwxyz_"), std::string_view::npos)
        << code;
    EXPECT_GE(http_status(e), 400) << code;
    EXPECT_LE(http_status(e), 599) << code;
  }
}

// The comment block of errors.h is the table clients read: each line "//   <status> <code>"
// names one code, and together they name every code with the status the server sends.
TEST(ApiErrors, EveryCodeIsDocumentedInErrorsHWithItsStatus) {
  const std::string path = std::string(MATCHD_SOURCE_DIR) + "/include/matchd/codec/errors.h";
  std::ifstream in(path);
  ASSERT_TRUE(in) << "cannot read " << path;
  std::map<std::string, int> documented;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("//   ") || line.size() < 9) continue;
    const std::string_view rest = std::string_view(line).substr(5);
    if (rest.find_first_not_of("0123456789") != 3 || rest[3] != ' ') continue;
    std::istringstream fields{std::string(rest)};
    int status = 0;
    std::string code;
    fields >> status >> code;
    EXPECT_TRUE(documented.emplace(code, status).second) << code << " documented twice";
  }
  std::map<std::string, int> served;
  for (const api_errc e : every_errc()) served.emplace(std::string(to_code(e)), http_status(e));
  EXPECT_EQ(documented, served) << "the table in " << path << " and kCodes disagree";
}

TEST(ApiErrors, OutOfRangeValueFallsBackToAValidEntry) {
  const auto bogus = static_cast<api_errc>(kApiErrcCount + 3);
  EXPECT_FALSE(to_code(bogus).empty());
  EXPECT_GE(http_status(bogus), 400);
}

TEST(ApiErrors, EngineRejections) {
  const api_error dup = engine_error(engine::errc::duplicate_order_id, "order-1");
  EXPECT_EQ(dup.status, 409);
  EXPECT_EQ(dup.code, "duplicate_order_id");
  EXPECT_EQ(dup.message, "order_id order-1 already exists");
  EXPECT_EQ(engine_error(engine::errc::order_not_found, "x").status, 404);
  EXPECT_EQ(engine_error(engine::errc::order_not_found, "x").code, "order_not_found");
  EXPECT_EQ(engine_error(engine::errc::order_not_open, "x").status, 409);
  EXPECT_EQ(engine_error(engine::errc::order_not_open, "x").code, "order_not_open");
  EXPECT_EQ(engine_error(engine::errc::unknown_instrument, "x").status, 400);
  EXPECT_EQ(engine_error(engine::errc::book_full, "x").status, 503);
  EXPECT_EQ(engine_error(engine::errc::book_full, "x").code, "overloaded");
}

TEST(ApiErrors, ErrorBodyShape) {
  EXPECT_EQ(
      error_body(
          make_error(api_errc::invalid_price_tick, "price 1.005 is not a multiple of tick 0.01")),
      R"({"error":{"code":"invalid_price_tick","message":"price 1.005 is not a multiple of tick 0.01"}})");
  EXPECT_EQ(error_body(make_error(api_errc::headers_too_large, "too large")),
            R"({"error":{"code":"headers_too_large","message":"too large"}})");
}

TEST(ApiErrors, ErrorBodyEscapesTheMessage) {
  const std::string body =
      error_body(make_error(api_errc::invalid_side, std::string("got \"a\\b\"\n\t\x01 \xff end")));
  EXPECT_EQ(body,
            R"({"error":{"code":"invalid_side","message":"got \"a\\b\"\n\t\u0001 \ufffd end"}})");
  const auto parsed = nlohmann::json::parse(body);
  EXPECT_EQ(parsed["error"]["message"], "got \"a\\b\"\n\t\x01 \xef\xbf\xbd end");
}

// The venue's engine rejections (docs/api.md, Instruments and Price bands) keep their codes.
TEST(ApiErrors, VenueRejectionsOfTheEngineHaveTheirOwnCodes) {
  const std::vector<std::tuple<engine::errc, std::string_view, int>> expected = {
      {engine::errc::instrument_halted, "instrument_halted", 409},
      {engine::errc::price_out_of_band, "price_out_of_band", 400},
      {engine::errc::notional_too_large, "notional_too_large", 400},
      {engine::errc::instrument_exists, "instrument_exists", 409},
      {engine::errc::too_many_instruments, "too_many_instruments", 409},
  };
  for (const auto& [e, code, status] : expected) {
    const api_error made = engine_error(e, "o1");
    EXPECT_EQ(made.code, code);
    EXPECT_EQ(made.status, status) << code;
  }
}

}  // namespace
}  // namespace matchd::codec
