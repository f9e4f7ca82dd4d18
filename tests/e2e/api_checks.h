#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http_client.h"

namespace matchd::e2e {

// The exact field sets of docs/api.md.
const std::vector<std::string>& order_fields();
const std::vector<std::string>& trade_fields();

// Sorted keys of a JSON object (empty for anything else).
std::vector<std::string> keys_of(const nlohmann::json& object);

// "2026-11-21T12:00:00.123456Z"
bool is_rfc3339_utc_micros(const nlohmann::json& value);
// 8-4-4-4-12 hex digits.
bool is_uuid(const nlohmann::json& value);
// A JSON string holding a decimal integer, e.g. "981".
bool is_integer_string(const nlohmann::json& value);
// A JSON string holding a decimal with exactly `decimals` fraction digits ("0.25000000").
bool is_canonical_decimal(const nlohmann::json& value, int decimals);

// Exact value of a decimal string in units of 10^-scale ("1.5", 8 -> 150000000); nullopt for
// anything that is not such a decimal or needs more than `scale` fraction digits.
std::optional<std::int64_t> parse_units(std::string_view text, int scale);
// parse_units of a JSON string; nullopt for any other JSON type.
std::optional<std::int64_t> decimal_units(const nlohmann::json& value, int scale);
// Formats units back to a canonical decimal string with `scale` fraction digits.
std::string format_units(std::int64_t units, int scale);

// Checks the response is `status` with exactly {"error": {"code": code, "message": <string>}}
// (any code when `code` is empty)
// (plus the listed extra top-level keys, for example "order" on 409 order_not_open).
::testing::AssertionResult is_error(const http_response& response, unsigned status,
                                    std::string_view code,
                                    const std::vector<std::string>& extra_keys = {});
// Checks an order object has exactly the docs/api.md fields with their formats (BTC-USD
// precision by default).
::testing::AssertionResult is_well_formed_order(const nlohmann::json& order, int price_decimals = 2,
                                                int quantity_decimals = 8);
::testing::AssertionResult is_well_formed_trade(const nlohmann::json& trade, int price_decimals = 2,
                                                int quantity_decimals = 8);

// Whether a stream message is an event of `channel` ({"channel": <channel>, ...}).
bool is_channel(const nlohmann::json& message, std::string_view channel);

// One sample of the Prometheus text format.
struct metric_sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};
std::vector<metric_sample> parse_prometheus(const std::string& text);
// Sum of the samples called `name` whose labels include all of `labels`; nullopt if none.
std::optional<double> metric_value(const std::vector<metric_sample>& samples, std::string_view name,
                                   const std::map<std::string, std::string>& labels = {});

// One price level of a book side in exact units (BTC-USD: price in cents, quantity in
// 1e-8), for comparing books built from different sources.
struct book_level {
  std::int64_t price = 0;
  std::int64_t quantity = 0;
  std::int64_t orders = 0;
  friend bool operator==(const book_level&, const book_level&) = default;
};
struct book_sides {
  std::vector<book_level> bids;  // best (highest) first
  std::vector<book_level> asks;  // best (lowest) first
  friend bool operator==(const book_sides&, const book_sides&) = default;
};
// The bids/asks of a GET /orderbook body (or a snapshot's data).
book_sides book_from_json(const nlohmann::json& book, int price_decimals = 2,
                          int quantity_decimals = 8);
std::string describe(const book_sides& book);
void PrintTo(const book_sides& book, std::ostream* os);

}  // namespace matchd::e2e
