#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace matchd::event_export {

// Webhook receivers authenticate a delivery by recomputing its signature with the secret
// they were given at registration, and reject stale ones by the time it carries (the time
// is signed with the body, so a captured delivery cannot be replayed under a new time).
//
// Both functions are thread-safe: they keep no state between calls.

// The Matchd-Signature header's value:
// "t=<unix_seconds>,v1=<lowercase hex of HMAC-SHA256(secret, "<unix_seconds>.<body>")>".
// `unix_seconds` is written in decimal, a minus sign first if negative. Throws
// std::runtime_error if OpenSSL fails (it does not for HMAC-SHA256 in a working build).
std::string webhook_signature(std::string_view secret, std::int64_t unix_seconds,
                              std::string_view body);

// A new signing secret: "whsec_" followed by 64 lowercase hex characters from 32 bytes of
// RAND_bytes. Throws std::runtime_error if the RNG fails: a secret from a weak source would
// let anyone forge deliveries, so there is no fallback.
std::string new_webhook_secret();

}  // namespace matchd::event_export
