#pragma once

#include <matchd/bus/idempotency.h>
#include <matchd/codec/errors.h>
#include <matchd/codec/flat_object.h>
#include <matchd/engine/command.h>
#include <matchd/engine/instrument.h>
#include <matchd/engine/types.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <vector>

namespace matchd::codec {

using bus::idempotency_key;

// A validated POST /orders body.
struct order_request {
  // command.instrument is the index of the symbol in the `instruments` argument;
  // command.received_at is 0 (the caller stamps it); command.id is empty unless the body
  // has an order_id (the caller assigns a UUID); market orders get tif = ioc, price 0.
  engine::place_order command;
  bool has_order_id = false;
  engine::order_label client_order_id;  // empty: none (kept beside the order, not in it)
  idempotency_key idempotency;          // empty: none
  // bus::request_fingerprint of the order, to tell a replay from an idempotency key reused
  // with a different body (the rules: bus/idempotency.h).
  std::uint64_t fingerprint = 0;
};

// Parses and validates a POST /orders body. Returns nullopt and fills `out` on success,
// otherwise the first error in this fixed order (`out` is then unspecified):
//
//  1. Structure -> malformed_json: invalid JSON (syntax, invalid UTF-8, trailing bytes,
//     empty body), a top level that is not an object, or a known field given twice
//     (duplicates are rejected rather than "last wins", so no two readers of one body can
//     disagree on it). Unknown fields are ignored whatever their value.
//  2. Fields, one after another in this order:
//       client_id, instrument, side, type, quantity, price, time_in_force, order_id,
//       idempotency_key (body), Idempotency-Key (header), body vs header.
//     For each: null counts as absent; absent and required -> missing_field; wrong JSON
//     type -> invalid_field_type; otherwise the field's own value check.
//
// Field rules: ids (client_id, order_id, idempotency keys) are 1-64 chars of
// [A-Za-z0-9._:-]; side, type and time_in_force are lowercase strings; price and quantity
// are a JSON number or a decimal string, converted exactly (no floating point) by
// engine::parse_price / parse_quantity; a market order must not have a non-null price and
// allows time_in_force "ioc" only (the default). `header_idempotency_key` is the
// Idempotency-Key header or empty when there is none; body and header may both carry a key
// only if they are equal.
//
// A JSON number too large for a double (1e400) stops nlohmann's parser: in price or
// quantity it is reported as price_out_of_range / quantity_out_of_range, elsewhere as
// malformed_json.
//
// Thread-safe (no shared state). A body in the plain shape scan_flat_object reads (what
// clients send) is read without nlohmann and without allocating; anything else goes
// through nlohmann's SAX parser, which also words every malformed_json message. Both
// paths give the same answer for every body the fast one takes.
std::optional<api_error> parse_order_request(std::string_view body,
                                             std::string_view header_idempotency_key,
                                             const std::vector<engine::instrument>& instruments,
                                             order_request& out);

// Step 2 alone, for a body already read by scan_flat_object (a WebSocket message whose
// envelope came from the same scan).
std::optional<api_error> parse_order_request(const flat_object& body,
                                             std::string_view header_idempotency_key,
                                             const std::vector<engine::instrument>& instruments,
                                             order_request& out);

// The same through nlohmann's SAX parser only, in the same single pass feeding every JSON
// event of the body to `observer` too (a WebSocket message's envelope, say). The observer
// has seen the whole text only if the body is well-formed JSON and no known field is
// repeated; after a malformed_json error it may have stopped part way.
std::optional<api_error> parse_order_request(std::string_view body,
                                             std::string_view header_idempotency_key,
                                             const std::vector<engine::instrument>& instruments,
                                             order_request& out,
                                             nlohmann::json::json_sax_t& observer);

// A PATCH /orders/{order_id} body: {"instrument": ..., "quantity": ..., "price": ...}, the
// instrument required, quantity (the new total) and price each optional but not both
// absent; amounts follow POST /orders' rules and messages. Validation order: structure
// (as POST), instrument, quantity, price, then "at least one" (missing_field). Fills
// out.instrument, out.price and out.quantity (zero: unchanged); the caller sets the rest.
std::optional<api_error> parse_amend_request(std::string_view body,
                                             const std::vector<engine::instrument>& instruments,
                                             engine::amend_order& out);

// 1-64 chars of [A-Za-z0-9._:-]: the rule for client_id, order_id and idempotency keys.
// The HTTP layer checks ids in paths (/orders/{order_id}) with it.
using engine::valid_id;

// A positive integer query parameter such as `levels` or `limit`: absent -> default_value;
// otherwise 1 to max_value in plain decimal digits, else invalid_parameter (values above
// the maximum are rejected, not clamped).
std::optional<api_error> parse_count_parameter(std::string_view name,
                                               std::optional<std::string_view> text,
                                               std::uint32_t default_value, std::uint32_t max_value,
                                               std::uint32_t& out);

// GET /orders' paging cursor `before` (the previous page's next_before, a created_sequence):
// absent -> 0 (no bound); otherwise a positive integer below 2^63 in plain decimal digits,
// else invalid_parameter.
std::optional<api_error> parse_cursor_parameter(std::string_view name,
                                                std::optional<std::string_view> text,
                                                std::uint64_t& out);

// GET /orders' `status`: absent or "open" -> open only; "all" -> every order; anything else
// invalid_parameter.
std::optional<api_error> parse_status_filter(std::optional<std::string_view> text, bool& open_only);

}  // namespace matchd::codec
