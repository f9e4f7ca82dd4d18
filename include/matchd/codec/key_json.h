#pragma once

// The JSON of the admin key routes (POST, GET and DELETE /admin/keys): a key as the API
// shows it (never its secret or digest), and the body of POST /admin/keys.

#include <matchd/auth/key_registry.h>
#include <matchd/codec/errors.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace matchd::codec {

class json_writer;

// Longest label a key may carry.
inline constexpr std::size_t kMaxKeyLabel = 128;
// Most client_ids one key may be bound to.
inline constexpr std::size_t kMaxKeyClients = 4096;

// {"key_id":"...","role":"trader","client_ids":[...],"label":"...","rate_limit":200|null,
//  "rate_burst":400|null,"created_at":"...","revoked_at":null|"..."}
void append_key(json_writer& w, const auth::key_record& r);
// {"key":{...}}: the answer of DELETE /admin/keys/{key_id}.
std::string key_body(const auth::key_record& r);
// {"key":{...},"secret":"..."}: the answer of POST /admin/keys, the only time the secret
// is shown.
std::string created_key_body(const auth::created_key& k);
// {"keys":[...]}: GET /admin/keys, bootstrap keys left out.
std::string key_list_body(const std::vector<auth::key_record>& keys);

// Reads a POST /admin/keys body: "role" (required), "client_ids" (required, non-empty, for
// trader and viewer; absent or empty for admin), "label", "rate_limit", "rate_burst"
// (non-negative integers or null). Returns the error to answer, or nullopt with `out` set.
std::optional<api_error> parse_key_request(std::string_view body, auth::key_request& out);

}  // namespace matchd::codec
