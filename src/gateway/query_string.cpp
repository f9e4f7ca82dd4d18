#include "query_string.h"

#include <matchd/analytics/candle.h>
#include <matchd/bus/messages.h>

#include <nlohmann/json.hpp>

namespace matchd::gateway {

std::pair<std::string_view, std::string_view> split_target(std::string_view target) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

std::string percent_decode(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else if (s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  while (true) {
    const auto p = s.find(sep);
    parts.push_back(s.substr(0, p));
    if (p == std::string_view::npos) break;
    s.remove_prefix(p + 1);
  }
  return parts;
}

query_params::query_params(std::string_view query) {
  if (query.empty()) return;
  for (std::string_view pair : split(query, '&')) {
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    std::string key = percent_decode(pair.substr(0, eq));
    std::string value = eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1));
    if (!get(key)) params_.emplace_back(std::move(key), std::move(value));
  }
}

std::optional<std::string_view> query_params::get(std::string_view key) const {
  for (const auto& [k, v] : params_) {
    if (k == key) return std::string_view(v);
  }
  return std::nullopt;
}

std::uint8_t channel_from_name(std::string_view name) {
  if (name == "trades") return bus::channel_trades;
  if (name == "orderbook_deltas" || name == "orderbook") return bus::channel_orderbook;
  if (name == "orders") return bus::channel_orders;
  if (name == "candles") return bus::channel_candles;
  if (name == "ticker") return bus::channel_ticker;
  if (name == "positions") return bus::channel_positions;
  return 0;
}

std::uint8_t candle_interval_bit(std::string_view name) {
  const auto iv = analytics::parse_interval(name);
  return iv ? static_cast<std::uint8_t>(1U << static_cast<unsigned>(*iv)) : 0;
}

std::optional<std::string> json_string_field(std::string_view body, const char* field) {
  const auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  const auto it = doc.find(field);
  if (it == doc.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

}  // namespace matchd::gateway
