#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace matchd::feed {

// A ws:// or wss:// URL split into what the connection needs.
struct ws_url {
  bool tls = false;    // wss
  std::string host;    // name or address; IPv6 without brackets ("::1")
  std::string port;    // "443" / "80" when the URL has none
  std::string target;  // path and query, at least "/"

  // The Host header: host, plus ":port" unless it is the scheme's default port, with
  // brackets around an IPv6 address.
  std::string host_header() const;
};

// Parses "ws[s]://host[:port][/path][?query]" (scheme case-insensitive, IPv6 as [addr]).
// nullopt for any other scheme, user info, a fragment, an empty host or a bad port.
std::optional<ws_url> parse_ws_url(std::string_view url);

}  // namespace matchd::feed
