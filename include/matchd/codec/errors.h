#pragma once

#include <matchd/engine/errc.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace matchd::codec {

// The API's stable, machine-readable error codes: every error a client can receive, over
// HTTP or in a WebSocket reply, takes its code and status from this one table (status,
// code, when). Clients match on these strings: never rename one, only add. Every error
// body has the shape
//   {"error":{"code":"<code>","message":"<human-readable detail>"}}
//
//   400 malformed_json           body is not exactly one well-formed JSON object, or a
//                                known field appears twice
//   400 missing_field            a required field is absent (or null)
//   400 invalid_field_type       a field has the wrong JSON type (e.g. an object or array)
//   400 unknown_instrument       instrument symbol not configured
//   400 invalid_side             side is not "buy" | "sell"
//   400 invalid_order_type       type is not "limit" | "market" | "stop_limit" | "stop_market"
//   400 invalid_time_in_force    not "gtc" | "ioc" | "fok"; market orders allow only "ioc"
//   400 invalid_price            price is not a positive decimal
//   400 invalid_price_tick       price is not a multiple of the tick size
//   400 price_out_of_range       price above the instrument's maximum
//   400 invalid_quantity         quantity is not a positive decimal
//   400 invalid_quantity_lot     quantity is not a multiple of the lot size
//   400 quantity_out_of_range    quantity below the minimum or above the maximum
//   400 too_many_decimals        more than 18 fractional digits
//   400 price_not_allowed        a market order carries a price
//   400 invalid_order_id         order_id is not 1-64 chars of [A-Za-z0-9._:-]
//   400 invalid_client_id        client_id is not 1-64 chars of [A-Za-z0-9._:-]
//   400 invalid_idempotency_key  key is not 1-64 chars of [A-Za-z0-9._:-], or the body and
//                                the Idempotency-Key header disagree
//   400 invalid_parameter        a query parameter is malformed or out of range
//   400 invalid_framing          the request's framing is ambiguous or unsupported (obs-fold,
//                                Transfer-Encoding other than chunked or next to
//                                Content-Length, a duplicate or malformed Content-Length, a
//                                header line that cannot be read); the connection closes
//   404 order_not_found          no order with that id
//   404 not_found                no such path
//   405 method_not_allowed       path exists, method does not
//   409 duplicate_order_id       an order with that order_id exists or existed
//   409 idempotency_key_reused   same (client_id, idempotency_key), different body
//   409 order_not_open           cancel of a filled, cancelled or rejected order
//   413 body_too_large           body above 64 KiB
//   415 unsupported_media_type   Content-Type is not application/json
//   426 upgrade_required         GET /stream without a WebSocket upgrade
//   429 rate_limited             the key's order rate (per client_id with --auth none) is
//                                exceeded, or a snapshot of the instrument is already being
//                                taken (send Retry-After)
//   431 headers_too_large        request line and headers above 8 KiB (the connection closes)
//   500 internal_error           the server cannot give the answer it owes, e.g. the first
//                                response of a replayed idempotency key is gone
//   503 overloaded               queues or book capacity full, nothing accepted (Retry-After)
//   503 not_ready                recovering or database unreachable (Retry-After)
//   401 unauthorized             the route needs an API key and none, an unknown one or a
//                                revoked one came (WWW-Authenticate: Bearer)
//   403 forbidden                the key's role lacks the route's permission, or the
//                                request names a client_id that is not the key's
//   400 key_in_query             an API key sent in the query string (api_key, apikey, key,
//                                secret, token, access_token): refused, send a header
//   400 invalid_role             role is not "admin" | "trader" | "viewer"
//   404 key_not_found            no API key with that key_id
//   409 instrument_halted        a placement on a halted instrument (cancels still work)
//   400 price_out_of_band        a limit price beyond the band around the reference price
//   400 notional_too_large       a limit order worth more than the instrument's max_notional
//   404 instrument_not_found     no instrument with that symbol (GET /instruments/{symbol},
//                                the admin halt and resume)
//   409 instrument_exists        POST /admin/instruments with a symbol that is taken
//   409 too_many_instruments     POST /admin/instruments beyond the venue's 1024 instruments
//   400 post_only_not_allowed    post_only on a market order or with time_in_force other
//                                than "gtc"
//   400 invalid_stp              stp is not "cancel_taker" | "cancel_maker" | "cancel_both"
//                                | "none"
//   400 invalid_client_order_id  client_order_id is not 1-36 chars of [A-Za-z0-9._:-]
//   409 quantity_not_above_filled  an amend's quantity is not above what already filled
//   409 would_take               a post_only order amended to a price that would trade
//   400 invalid_stop_price       stop_price is not a positive decimal on the tick within the
//                                instrument's maximum price
//   400 stop_price_not_allowed   a stop_price on an order that is not stop_market/stop_limit
//   409 stop_not_triggered       an amend of a stop order still waiting for its trigger
//   400 field_not_amendable      an amend body with a field other than instrument, price
//                                and quantity (side, stp, post_only, ...)
//   409 settlement_out_of_order  POST /admin/settlements with a cutoff before the newest
//                                settlement's
//   404 settlement_not_found     no settlement with that id
//   404 webhook_not_found        no live webhook with that id the caller may see
//   404 delivery_not_found       no webhook delivery with that id the caller may see
//   409 delivery_not_dead        a retry of a delivery that is pending or delivered
//   409 too_many_webhooks        the webhook limit (per client, or in all) is reached
enum class api_errc : std::uint8_t {
  malformed_json,
  missing_field,
  invalid_field_type,
  unknown_instrument,
  invalid_side,
  invalid_order_type,
  invalid_time_in_force,
  invalid_price,
  invalid_price_tick,
  price_out_of_range,
  invalid_quantity,
  invalid_quantity_lot,
  quantity_out_of_range,
  too_many_decimals,
  price_not_allowed,
  invalid_order_id,
  invalid_client_id,
  invalid_idempotency_key,
  invalid_parameter,
  invalid_framing,
  order_not_found,
  not_found,
  method_not_allowed,
  duplicate_order_id,
  idempotency_key_reused,
  order_not_open,
  body_too_large,
  unsupported_media_type,
  upgrade_required,
  rate_limited,
  headers_too_large,
  internal_error,
  overloaded,
  not_ready,
  unauthorized,
  forbidden,
  key_in_query,
  invalid_role,
  key_not_found,
  instrument_halted,
  price_out_of_band,
  notional_too_large,
  instrument_not_found,
  instrument_exists,
  too_many_instruments,
  post_only_not_allowed,
  invalid_stp,
  invalid_client_order_id,
  quantity_not_above_filled,
  would_take,
  invalid_stop_price,
  stop_price_not_allowed,
  stop_not_triggered,
  field_not_amendable,
  settlement_out_of_order,
  settlement_not_found,
  webhook_not_found,
  delivery_not_found,
  delivery_not_dead,
  too_many_webhooks,
};

inline constexpr std::size_t kApiErrcCount =
    static_cast<std::size_t>(api_errc::too_many_webhooks) + 1;

// "invalid_price_tick", ... (static storage).
std::string_view to_code(api_errc e) noexcept;
// The HTTP status that always goes with the code.
int http_status(api_errc e) noexcept;

struct api_error {
  int status = 400;
  std::string_view code;  // one of the codes above; points to static storage
  std::string message;
};

// Status and code from the table above, so the two can never disagree.
api_error make_error(api_errc e, std::string message);

// A business rejection from the engine. `order_id` names the order in the message.
// book_full maps to 503 overloaded (nothing was accepted; the client may retry).
api_error engine_error(engine::errc e, std::string_view order_id);

class json_writer;

// Writes the inner {"code":"...","message":"..."} object as a value, for responses that
// carry an error next to other members (e.g. a 409 with the order).
void append_error(json_writer& w, const api_error& e);

// {"error":{"code":"...","message":"..."}} with the message JSON-escaped.
std::string error_body(const api_error& e);

}  // namespace matchd::codec
