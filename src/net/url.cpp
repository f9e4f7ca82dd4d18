#include <matchd/net/url.h>

#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/address_v6.hpp>
#include <boost/beast/core/string.hpp>

namespace matchd::net {

namespace {

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

bool is_host_name_char(char c) noexcept {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '.' ||
         c == '_';
}

}  // namespace

std::string url::host_header() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  std::string h = ipv6 ? "[" + host + "]" : host;
  if (port != (tls ? "443" : "80")) h += ":" + port;
  return h;
}

std::optional<url> parse_url(std::string_view text, url_schemes schemes, std::string* why) {
  const auto refuse = [why](std::string_view reason) -> std::optional<url> {
    if (why != nullptr) *why = reason;
    return std::nullopt;
  };
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7f) {
      return refuse("a control character, space or non-ASCII byte (percent-encode it)");
    }
  }

  const auto scheme_end = text.find("://");
  const std::string expected =
      std::string(schemes.plain) + ":// or " + std::string(schemes.secure) + "://";
  if (scheme_end == std::string_view::npos) return refuse("not an absolute " + expected + " URL");
  url out;
  const std::string_view scheme = text.substr(0, scheme_end);
  if (boost::beast::iequals(scheme, schemes.secure)) {
    out.tls = true;
  } else if (!boost::beast::iequals(scheme, schemes.plain)) {
    return refuse("the scheme is not " + expected);
  }

  const std::string_view rest = text.substr(scheme_end + 3);
  if (rest.find('#') != std::string_view::npos) return refuse("a fragment (#)");
  const auto authority_end = rest.find_first_of("/?");
  const std::string_view authority = rest.substr(0, authority_end);
  const std::string_view target =
      authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) return refuse("user info (user@host)");

  std::string_view host;
  std::optional<std::string_view> port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return refuse("an IPv6 address without its ]");
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return refuse("characters after the IPv6 address's ]");
      port = after.substr(1);
    }
    if (host.empty()) return refuse("an empty host");
    // A zone id (fe80::1%25eth0) names an interface of this host: not a destination.
    boost::system::error_code not_v6;
    (void)boost::asio::ip::make_address_v6(std::string(host), not_v6);
    if (not_v6 || host.find('%') != std::string_view::npos) return refuse("a bad IPv6 address");
  } else {
    const auto colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    if (host.empty()) return refuse("an empty host");
    bool digits_and_dots = true;
    for (const char c : host) {
      if (!is_host_name_char(c)) return refuse("a character a host name cannot have");
      digits_and_dots = digits_and_dots && (is_digit(c) || c == '.');
    }
    // A resolver would look "300.1.2.3" up as a name; say what is wrong with it instead.
    if (digits_and_dots) {
      boost::system::error_code not_v4;
      (void)boost::asio::ip::make_address_v4(std::string(host), not_v4);
      if (not_v4) return refuse("a bad IPv4 address");
    }
  }

  if (port) {
    if (port->empty() || port->size() > 5) return refuse("a bad port");
    unsigned value = 0;
    for (const char c : *port) {
      if (!is_digit(c)) return refuse("a bad port");
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) return refuse("a bad port");
    out.port = std::to_string(value);
  } else {
    out.port = out.tls ? "443" : "80";
  }
  out.host = std::string(host);
  if (target.empty()) {
    out.target = "/";
  } else if (target.front() == '?') {
    out.target = "/" + std::string(target);
  } else {
    out.target = std::string(target);
  }
  return out;
}

}  // namespace matchd::net
