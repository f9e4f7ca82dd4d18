#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace matchd::net {

// An absolute URL split into what a client connection needs: the feed's ws(s):// and the
// webhooks' http(s)://.
struct url {
  bool tls = false;    // the secure scheme (https, wss)
  std::string host;    // a name, an IPv4 address, or an IPv6 address without its brackets
  std::string port;    // decimal, 1..65535; "80" or "443" when the URL gave none
  std::string target;  // path and query, never empty ("/" when the URL had neither)

  // The Host header: host, plus ":port" unless it is the scheme's default port, with
  // brackets around an IPv6 address.
  [[nodiscard]] std::string host_header() const;
};

// The two schemes a parse accepts (in any case): the plain one and its TLS variant.
struct url_schemes {
  std::string_view plain;
  std::string_view secure;
};
inline constexpr url_schemes kHttpSchemes{"http", "https"};
inline constexpr url_schemes kWebSocketSchemes{"ws", "wss"};

// Parses "<scheme>://host[:port][/path][?query]". Refuses (nullopt, `why` set to a one-line
// reason when it is not null): another scheme, user info (credentials end up in logs), a
// fragment (never sent to a server), an empty host, a host name with characters other than
// letters, digits, '-', '.' and '_', a malformed IPv4 address (a host of digits and dots) or
// IPv6 address (in brackets, without a zone id), a bad port, and control characters, spaces
// or bytes outside printable ASCII anywhere (they must be percent-encoded).
std::optional<url> parse_url(std::string_view text, url_schemes schemes,
                             std::string* why = nullptr);

}  // namespace matchd::net
