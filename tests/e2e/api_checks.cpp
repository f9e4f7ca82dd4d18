#include "api_checks.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <regex>
#include <sstream>

namespace matchd::e2e {

const std::vector<std::string>& order_fields() {
  static const std::vector<std::string> fields = [] {
    std::vector<std::string> f = {"order_id",
                                  "client_id",
                                  "client_order_id",
                                  "post_only",
                                  "stp",
                                  "stop_price",
                                  "triggered",
                                  "reason",
                                  "key_id",
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
                                  "sequence"};
    std::sort(f.begin(), f.end());
    return f;
  }();
  return fields;
}

const std::vector<std::string>& trade_fields() {
  static const std::vector<std::string> fields = [] {
    std::vector<std::string> f = {"trade_id", "instrument", "buy_order_id",   "sell_order_id",
                                  "price",    "quantity",   "aggressor_side", "timestamp",
                                  "sequence", "maker_fee",  "taker_fee"};
    std::sort(f.begin(), f.end());
    return f;
  }();
  return fields;
}

std::vector<std::string> keys_of(const nlohmann::json& object) {
  std::vector<std::string> keys;
  if (!object.is_object()) return keys;
  for (const auto& item : object.items()) keys.push_back(item.key());
  std::sort(keys.begin(), keys.end());
  return keys;
}

bool is_rfc3339_utc_micros(const nlohmann::json& value) {
  static const std::regex pattern(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$)");
  return value.is_string() && std::regex_match(value.get<std::string>(), pattern);
}

bool is_uuid(const nlohmann::json& value) {
  static const std::regex pattern(
      R"(^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$)");
  return value.is_string() && std::regex_match(value.get<std::string>(), pattern);
}

bool is_integer_string(const nlohmann::json& value) {
  static const std::regex pattern(R"(^(0|[1-9][0-9]*)$)");
  return value.is_string() && std::regex_match(value.get<std::string>(), pattern);
}

bool is_canonical_decimal(const nlohmann::json& value, int decimals) {
  if (!value.is_string()) return false;
  const std::string pattern_text =
      decimals == 0 ? std::string(R"(^(0|[1-9][0-9]*)$)")
                    : R"(^(0|[1-9][0-9]*)\.[0-9]{)" + std::to_string(decimals) + "}$";
  return std::regex_match(value.get<std::string>(), std::regex(pattern_text));
}

std::optional<std::int64_t> parse_units(std::string_view text, int scale) {
  bool negative = false;
  std::size_t i = 0;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) {
    negative = text[i] == '-';
    ++i;
  }
  std::int64_t integer = 0;
  std::size_t int_digits = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, ++int_digits) {
    if (integer > (INT64_MAX - 9) / 10) return std::nullopt;
    integer = integer * 10 + (text[i] - '0');
  }
  std::int64_t fraction = 0;
  int frac_digits = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      if (frac_digits >= scale) {
        if (text[i] != '0') return std::nullopt;
        continue;
      }
      fraction = fraction * 10 + (text[i] - '0');
      ++frac_digits;
    }
  }
  if (i != text.size() || int_digits == 0) return std::nullopt;
  for (int d = frac_digits; d < scale; ++d) fraction *= 10;
  std::int64_t factor = 1;
  for (int d = 0; d < scale; ++d) factor *= 10;
  if (integer > (INT64_MAX - fraction) / factor) return std::nullopt;
  const std::int64_t units = integer * factor + fraction;
  return negative ? -units : units;
}

std::optional<std::int64_t> decimal_units(const nlohmann::json& value, int scale) {
  if (!value.is_string()) return std::nullopt;
  return parse_units(value.get<std::string>(), scale);
}

std::string format_units(std::int64_t units, int scale) {
  const bool negative = units < 0;
  std::string digits = std::to_string(negative ? -units : units);
  if (scale > 0) {
    if (digits.size() <= static_cast<std::size_t>(scale)) {
      digits.insert(0, static_cast<std::size_t>(scale) + 1 - digits.size(), '0');
    }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
// GCC 12 at -O3 reports a bogus -Wrestrict inside libstdc++'s std::string::insert
// (GCC bug 105651; Debian 12 ships GCC 12.2).
#pragma GCC diagnostic ignored "-Wrestrict"
#endif
    digits.insert(digits.size() - static_cast<std::size_t>(scale), ".");
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
  }
  return negative ? "-" + digits : digits;
}

bool is_channel(const nlohmann::json& message, std::string_view channel) {
  return message.is_object() && message.contains("channel") && message["channel"] == channel;
}

::testing::AssertionResult is_error(const http_response& response, unsigned status,
                                    std::string_view code,
                                    const std::vector<std::string>& extra_keys) {
  if (response.status != status) {
    return ::testing::AssertionFailure()
           << "expected HTTP " << status << " " << code << ", got " << response.describe();
  }
  if (response.header("Content-Type").rfind("application/json", 0) != 0) {
    return ::testing::AssertionFailure()
           << "error Content-Type must be application/json, got \""
           << response.header("Content-Type") << "\": " << response.describe();
  }
  const nlohmann::json body = response.json();
  if (body.is_discarded()) {
    return ::testing::AssertionFailure() << "error body is not JSON: " << response.describe();
  }
  std::vector<std::string> expected_keys = extra_keys;
  expected_keys.push_back("error");
  std::sort(expected_keys.begin(), expected_keys.end());
  if (keys_of(body) != expected_keys) {
    return ::testing::AssertionFailure()
           << "error body must have exactly the keys " << nlohmann::json(expected_keys).dump()
           << ", got " << response.describe();
  }
  const nlohmann::json& error = body["error"];
  if (!error.is_object() || !error.contains("code") || !error["code"].is_string() ||
      !error.contains("message") || !error["message"].is_string()) {
    return ::testing::AssertionFailure()
           << "error must be {\"code\": <string>, \"message\": <string>}, got "
           << response.describe();
  }
  if (!code.empty() && error["code"] != code) {
    return ::testing::AssertionFailure()
           << "expected error code " << code << ", got " << response.describe();
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult is_well_formed_order(const nlohmann::json& order, int price_decimals,
                                                int quantity_decimals) {
  if (keys_of(order) != order_fields()) {
    return ::testing::AssertionFailure()
           << "order must have exactly the fields " << nlohmann::json(order_fields()).dump()
           << ", got " << order.dump();
  }
  auto fail = [&](std::string_view what) {
    return ::testing::AssertionFailure()
           << "order field " << what << " is malformed in " << order.dump();
  };
  for (const char* f :
       {"order_id", "client_id", "instrument", "side", "type", "time_in_force", "status"}) {
    if (!order[f].is_string()) return fail(f);
  }
  // The placing key's id: 16 lowercase hex digits, or null when no key placed it.
  if (!order["key_id"].is_null() &&
      !(order["key_id"].is_string() && order["key_id"].get<std::string>().size() == 16 &&
        order["key_id"].get<std::string>().find_first_not_of("0123456789abcdef") ==
            std::string::npos)) {
    return fail("key_id");
  }
  if (order["side"] != "buy" && order["side"] != "sell") return fail("side");
  static const std::vector<std::string> types = {"limit", "market", "stop_limit", "stop_market"};
  if (std::find(types.begin(), types.end(), order["type"].get<std::string>()) == types.end()) {
    return fail("type");
  }
  const bool stop = order["type"] == "stop_limit" || order["type"] == "stop_market";
  if (stop ? !is_canonical_decimal(order["stop_price"], price_decimals)
           : !order["stop_price"].is_null()) {
    return fail("stop_price");
  }
  if (stop ? !order["triggered"].is_boolean() : !order["triggered"].is_null()) {
    return fail("triggered");
  }
  static const std::vector<std::string> statuses = {"open", "partially_filled", "filled",
                                                    "cancelled", "rejected"};
  if (std::find(statuses.begin(), statuses.end(), order["status"].get<std::string>()) ==
      statuses.end()) {
    return fail("status");
  }
  const bool limit = order["type"] == "limit" || order["type"] == "stop_limit";
  if (limit && !is_canonical_decimal(order["price"], price_decimals)) return fail("price");
  if (!limit && !order["price"].is_null()) return fail("price (market)");
  for (const char* f : {"quantity", "filled_quantity", "remaining_quantity"}) {
    if (!is_canonical_decimal(order[f], quantity_decimals)) return fail(f);
  }
  if (!order["average_fill_price"].is_null() &&
      !is_canonical_decimal(order["average_fill_price"], price_decimals)) {
    return fail("average_fill_price");
  }
  const bool has_fills = decimal_units(order["filled_quantity"], quantity_decimals).value_or(0) > 0;
  if (has_fills == order["average_fill_price"].is_null()) {
    return fail("average_fill_price (null exactly when nothing filled)");
  }
  if (!is_rfc3339_utc_micros(order["created_at"])) return fail("created_at");
  if (!is_rfc3339_utc_micros(order["updated_at"])) return fail("updated_at");
  if (!order["sequence"].is_number_integer() || order["sequence"].get<std::int64_t>() <= 0) {
    return fail("sequence");
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult is_well_formed_trade(const nlohmann::json& trade, int price_decimals,
                                                int quantity_decimals) {
  if (keys_of(trade) != trade_fields()) {
    return ::testing::AssertionFailure()
           << "trade must have exactly the fields " << nlohmann::json(trade_fields()).dump()
           << ", got " << trade.dump();
  }
  auto fail = [&](std::string_view what) {
    return ::testing::AssertionFailure()
           << "trade field " << what << " is malformed in " << trade.dump();
  };
  if (!is_integer_string(trade["trade_id"])) return fail("trade_id");
  if (!trade["instrument"].is_string()) return fail("instrument");
  if (!trade["buy_order_id"].is_string()) return fail("buy_order_id");
  if (!trade["sell_order_id"].is_string()) return fail("sell_order_id");
  if (!is_canonical_decimal(trade["price"], price_decimals)) return fail("price");
  if (!is_canonical_decimal(trade["quantity"], quantity_decimals)) return fail("quantity");
  // Fees are quote at the price's precision.
  if (!is_canonical_decimal(trade["maker_fee"], price_decimals)) return fail("maker_fee");
  if (!is_canonical_decimal(trade["taker_fee"], price_decimals)) return fail("taker_fee");
  if (trade["aggressor_side"] != "buy" && trade["aggressor_side"] != "sell") {
    return fail("aggressor_side");
  }
  if (!is_rfc3339_utc_micros(trade["timestamp"])) return fail("timestamp");
  if (!trade["sequence"].is_number_integer() || trade["sequence"].get<std::int64_t>() <= 0) {
    return fail("sequence");
  }
  return ::testing::AssertionSuccess();
}

std::vector<metric_sample> parse_prometheus(const std::string& text) {
  std::vector<metric_sample> samples;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    metric_sample sample;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    sample.name = line.substr(0, i);
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        const std::size_t eq = line.find('=', i);
        if (eq == std::string::npos || eq + 1 >= line.size() || line[eq + 1] != '"') break;
        std::string key = line.substr(i, eq - i);
        std::string value;
        std::size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\' && j + 1 < line.size()) {
            ++j;
            value += line[j] == 'n' ? '\n' : line[j];
          } else {
            value += line[j];
          }
        }
        sample.labels[key] = value;
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i < line.size() && line[i] == '}') ++i;
    }
    while (i < line.size() && line[i] == ' ') ++i;
    const std::size_t end = line.find(' ', i);
    const std::string value_text = line.substr(i, end == std::string::npos ? end : end - i);
    if (value_text == "+Inf") {
      sample.value = HUGE_VAL;
    } else if (value_text == "-Inf") {
      sample.value = -HUGE_VAL;
    } else {
      char* parse_end = nullptr;
      sample.value = std::strtod(value_text.c_str(), &parse_end);
      if (parse_end == value_text.c_str()) continue;
    }
    samples.push_back(std::move(sample));
  }
  return samples;
}

std::optional<double> metric_value(const std::vector<metric_sample>& samples, std::string_view name,
                                   const std::map<std::string, std::string>& labels) {
  std::optional<double> total;
  for (const metric_sample& s : samples) {
    if (s.name != name) continue;
    const bool match = std::all_of(labels.begin(), labels.end(), [&](const auto& label) {
      const auto it = s.labels.find(label.first);
      return it != s.labels.end() && it->second == label.second;
    });
    if (match) total = total.value_or(0) + s.value;
  }
  return total;
}

book_sides book_from_json(const nlohmann::json& book, int price_decimals, int quantity_decimals) {
  book_sides sides;
  auto side = [&](const char* name, std::vector<book_level>& out) {
    if (!book.contains(name) || !book[name].is_array()) return;
    for (const nlohmann::json& level : book[name]) {
      book_level l;
      l.price = decimal_units(level.value("price", nlohmann::json()), price_decimals).value_or(-1);
      l.quantity =
          decimal_units(level.value("quantity", nlohmann::json()), quantity_decimals).value_or(-1);
      l.orders = level.value("orders", nlohmann::json()).is_number_integer()
                     ? level["orders"].get<std::int64_t>()
                     : -1;
      out.push_back(l);
    }
  };
  side("bids", sides.bids);
  side("asks", sides.asks);
  return sides;
}

std::string describe(const book_sides& book) {
  std::ostringstream out;
  auto side = [&](const char* name, const std::vector<book_level>& levels) {
    out << name << ":";
    for (const book_level& l : levels) {
      out << " [" << format_units(l.price, 2) << " x " << format_units(l.quantity, 8) << " ("
          << l.orders << ")]";
    }
    out << "\n";
  };
  side("bids", book.bids);
  side("asks", book.asks);
  return out.str();
}

void PrintTo(const book_sides& book, std::ostream* os) {
  *os << "\n" << describe(book);
}

}  // namespace matchd::e2e
