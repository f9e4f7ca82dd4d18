#pragma once

#include <matchd/net/url.h>

#include <optional>
#include <string>
#include <string_view>

namespace matchd::feed {

// A ws:// or wss:// URL split into what the connection needs.
using ws_url = net::url;

// Parses "ws[s]://host[:port][/path][?query]" by net::parse_url's rules.
inline std::optional<ws_url> parse_ws_url(std::string_view url, std::string* why = nullptr) {
  return net::parse_url(url, net::kWebSocketSchemes, why);
}

}  // namespace matchd::feed
