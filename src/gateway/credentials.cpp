#include "credentials.h"

#include <array>
#include <boost/beast/core/string.hpp>
#include <string>

namespace matchd::gateway {

namespace {

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Visible ASCII: every secret we issue ("mk_" and hex digits), RFC 6750's b64token, and
// whatever an operator put in MATCHD_ADMIN_KEY (auth::bootstrap_secret_problem).
bool is_token_char(char c) noexcept {
  return c > ' ' && c < 0x7f;
}

bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (const char c : s) {
    if (!is_token_char(c)) return false;
  }
  return true;
}

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string_view to_string(auth_failure f) noexcept {
  switch (f) {
    case auth_failure::missing:
      return "missing";
    case auth_failure::malformed:
      return "malformed";
    case auth_failure::unknown:
      return "unknown";
    case auth_failure::revoked:
      return "revoked";
    case auth_failure::forbidden:
      return "forbidden";
    case auth_failure::query_string:
      return "query_string";
    case auth_failure::rate_limited:
      return "rate_limited";
  }
  return "missing";
}

credentials read_credentials(std::string_view authorization, std::string_view api_key) noexcept {
  credentials c;
  if (!authorization.empty()) {
    const std::string_view value = trim(authorization);
    constexpr std::string_view kScheme = "bearer";
    if (value.size() > kScheme.size() && is_space(value[kScheme.size()]) &&
        boost::beast::iequals(value.substr(0, kScheme.size()), kScheme)) {
      const std::string_view token = trim(value.substr(kScheme.size()));
      if (is_token(token)) {
        c.secret = token;
        return c;
      }
    }
    c.malformed = true;
    return c;
  }
  const std::string_view key = trim(api_key);
  if (is_token(key)) {
    c.secret = key;
  } else if (!key.empty()) {
    c.malformed = true;
  }
  return c;
}

bool query_carries_key(std::string_view query) noexcept {
  static constexpr std::array<std::string_view, 6> kNames = {"api_key", "apikey", "key",
                                                             "secret",  "token",  "access_token"};
  while (!query.empty()) {
    const auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    std::string_view raw = pair.substr(0, pair.find('='));
    // Names are short: decode into a small buffer, anything longer is none of ours.
    char name[16];
    std::size_t n = 0;
    bool too_long = false;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      char c = raw[i];
      if (c == '%' && i + 2 < raw.size() && hex_digit(raw[i + 1]) >= 0 &&
          hex_digit(raw[i + 2]) >= 0) {
        c = static_cast<char>(hex_digit(raw[i + 1]) * 16 + hex_digit(raw[i + 2]));
        i += 2;
      } else if (c == '+') {
        c = ' ';
      }
      if (n == sizeof name) {
        too_long = true;
        break;
      }
      name[n++] = c;
    }
    if (too_long) continue;
    const std::string_view decoded(name, n);
    for (const std::string_view k : kNames) {
      if (boost::beast::iequals(decoded, k)) return true;
    }
  }
  return false;
}

}  // namespace matchd::gateway
