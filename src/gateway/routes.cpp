#include "routes.h"

#include <algorithm>
#include <vector>

#include "http_session.h"

namespace matchd::gateway {

namespace http = boost::beast::http;

namespace {

constexpr bool is_parameter(std::string_view segment) noexcept {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 percent-decoding of one path segment; a '%' not followed by two hex digits is
// kept as it is.
void append_decoded(std::string& out, std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
}

}  // namespace

std::span<const route> server_routes() noexcept {
  using s = http_session;
  using enum http::verb;
  static constexpr route kRoutes[] = {
      {post, "/orders", access::trade, &s::place_order},
      {get, "/orders", access::account_read, &s::list_orders},
      {delete_, "/orders", access::trade, &s::cancel_all_orders},
      {get, "/orders/{order_id}", access::account_read, &s::get_order},
      {delete_, "/orders/{order_id}", access::trade, &s::cancel_order},
      {post, "/orders/{order_id}/cancel", access::trade, &s::cancel_order},
      {patch, "/orders/{order_id}", access::trade, &s::amend_order},
      {get, "/orderbook", access::public_read, &s::get_orderbook},
      {get, "/trades", access::public_read, &s::get_trades},
      {get, "/candles", access::public_read, &s::get_candles},
      {get, "/analytics/stats", access::public_read, &s::get_stats},
      {get, "/analytics/ticker", access::public_read, &s::get_ticker},
      {get, "/positions", access::account_read, &s::get_positions},
      {get, "/positions/{client_id}/pnl", access::account_read, &s::get_pnl},
      {post, "/admin/settlements", access::admin, &s::create_settlement},
      {get, "/settlements", access::account_read, &s::list_settlements},
      {get, "/settlements/{settlement_id}", access::account_read, &s::get_settlement},
      {post, "/webhooks", access::trade, &s::create_webhook},
      {get, "/webhooks", access::account_read, &s::list_webhooks},
      {delete_, "/webhooks/{webhook_id}", access::trade, &s::delete_webhook},
      {get, "/webhooks/{webhook_id}/deliveries", access::account_read, &s::list_webhook_deliveries},
      {post, "/webhooks/deliveries/{delivery_id}/retry", access::trade, &s::retry_webhook_delivery},
      {get, "/instruments", access::public_read, &s::get_instruments},
      {get, "/instruments/{symbol}", access::public_read, &s::get_instrument},
      {get, "/stream", access::public_read, &s::open_websocket, true},
      {get, "/stream/sse", access::public_read, &s::open_event_stream},
      {get, "/", access::public_read, &s::get_page},
      {get, "/ui/{asset}", access::public_read, &s::get_asset},
      {get, "/healthz", access::operational, &s::get_health},
      {get, "/readyz", access::operational, &s::get_readiness},
      {get, "/metrics", access::operational, &s::get_metrics},
      {post, "/admin/snapshots", access::admin, &s::create_snapshot},
      {post, "/admin/keys", access::admin, &s::create_key},
      {get, "/admin/keys", access::admin, &s::list_keys},
      {delete_, "/admin/keys/{key_id}", access::admin, &s::revoke_key},
      {post, "/admin/instruments", access::admin, &s::create_instrument},
      {post, "/admin/instruments/{symbol}/halt", access::admin, &s::halt_instrument},
      {post, "/admin/instruments/{symbol}/resume", access::admin, &s::resume_instrument},
  };
  return kRoutes;
}

std::optional<std::string_view> path_params::get(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < size_; ++i) {
    if (params_[i].name == name) return params_[i].value;
  }
  return std::nullopt;
}

std::string_view path_params::operator[](std::string_view name) const noexcept {
  return get(name).value_or(std::string_view());
}

bool match_path(std::string_view pattern, std::string_view path, path_params& out) {
  out.size_ = 0;
  if (pattern.find('{') == std::string_view::npos) return pattern == path;

  // Segment by segment: each side is "/segment" repeated; both must end together.
  const std::string_view whole = path;
  std::size_t count = 0;
  bool needs_decoding = false;
  while (true) {
    if (pattern.empty() || path.empty() || pattern.front() != '/' || path.front() != '/') {
      return false;
    }
    pattern.remove_prefix(1);
    path.remove_prefix(1);
    const std::string_view want = pattern.substr(0, pattern.find('/'));
    const std::string_view have = path.substr(0, path.find('/'));
    if (is_parameter(want)) {
      if (have.empty() || count == path_params::kMax) return false;
      out.params_[count++] = {want.substr(1, want.size() - 2), have};
      needs_decoding = needs_decoding || have.find('%') != std::string_view::npos;
    } else if (want != have) {
      return false;
    }
    pattern.remove_prefix(want.size());
    path.remove_prefix(have.size());
    if (pattern.empty() && path.empty()) break;
  }

  if (needs_decoding) {
    // Decoded values are never longer than the path, so one reservation keeps every view
    // into the buffer valid while the next value is appended.
    out.decoded_.clear();
    out.decoded_.reserve(whole.size());
    for (std::size_t i = 0; i < count; ++i) {
      std::string_view& value = out.params_[i].value;
      if (value.find('%') == std::string_view::npos) continue;
      const std::size_t start = out.decoded_.size();
      append_decoded(out.decoded_, value);
      value = std::string_view(out.decoded_).substr(start);
    }
  }
  out.size_ = count;
  return true;
}

route_lookup find_route(std::span<const route> table, http::verb method, std::string_view path,
                        path_params& params) {
  route_lookup r;
  // Only the routes of the method first: the common case, a request that has a route,
  // matches no pattern it does not need to.
  for (const route& candidate : table) {
    if (candidate.method != method) continue;
    if (candidate.parameters == 0 ? candidate.pattern == path
                                  : match_path(candidate.pattern, path, params)) {
      if (candidate.parameters == 0) params.clear();
      r.found = &candidate;
      r.path_known = true;
      r.needs = candidate.needs;
      return r;
    }
  }
  // A 404 or a 405: whether any route has the path, and the most open access among them.
  for (const route& candidate : table) {
    if (!match_path(candidate.pattern, path, params)) continue;
    r.needs = r.path_known ? std::min(r.needs, candidate.needs) : candidate.needs;
    r.path_known = true;
  }
  return r;
}

bool served_while_recovering(const route_lookup& r) noexcept {
  if (r.found != nullptr && r.found->answers_not_ready_itself) return true;
  return r.path_known && r.needs == access::operational;
}

std::string allowed_methods(std::span<const route> table, std::string_view path) {
  std::vector<std::string_view> methods;
  path_params ignored;
  for (const route& candidate : table) {
    if (match_path(candidate.pattern, path, ignored)) {
      methods.push_back(http::to_string(candidate.method));
    }
  }
  std::sort(methods.begin(), methods.end());
  methods.erase(std::unique(methods.begin(), methods.end()), methods.end());
  std::string allow;
  for (const std::string_view m : methods) {
    if (!allow.empty()) allow += ", ";
    allow += m;
  }
  return allow;
}

}  // namespace matchd::gateway
