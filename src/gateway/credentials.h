#pragma once

#include <cstdint>
#include <string_view>

namespace matchd::gateway {

// Why a request was refused by authentication, the label of auth_failures_total.
enum class auth_failure : std::uint8_t {
  missing,       // no key where the route needs one
  malformed,     // an Authorization header that is not "Bearer <secret>" (401 as missing)
  unknown,       // a key the server does not know, or a revoked one
  revoked,       // a session's key was revoked while it was open
  forbidden,     // the key's role or clients do not allow it (403)
  query_string,  // a key in the query string (400 key_in_query)
  rate_limited,  // over the key's order rate (429)
};
inline constexpr std::size_t kAuthFailureCount = 7;
std::string_view to_string(auth_failure f) noexcept;

// The secret a request carries, from `Authorization: Bearer <secret>` or, when there is no
// Authorization header, `X-API-Key: <secret>`. An Authorization header that is present but
// not exactly a Bearer scheme and one token counts as no key at all (malformed).
struct credentials {
  std::string_view secret;  // empty when none
  bool malformed = false;

  [[nodiscard]] bool present() const noexcept { return !secret.empty(); }
};

// `authorization` and `api_key` are the headers' values ("" when absent).
credentials read_credentials(std::string_view authorization, std::string_view api_key) noexcept;

// Whether the raw query string has a parameter whose name is one that clients use for keys
// (api_key, apikey, key, secret, token, access_token; any case, percent-encoded or not).
// Such a request is refused whatever its route: a key in a URL ends up in proxies' logs.
bool query_carries_key(std::string_view query) noexcept;

}  // namespace matchd::gateway
