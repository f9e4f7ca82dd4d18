#pragma once

#include <matchd/codec/errors.h>
#include <matchd/codec/order_request.h>

#include <cstdint>
#include <optional>
#include <string_view>

#include "io_thread.h"

namespace matchd::gateway {

// An answer the gateway gives by itself, without the engine.
struct immediate_answer {
  codec::api_error error;
  int retry_after = 0;  // seconds, for 429 and 503
};

// Validates, rate-limits and admits an order placement, then queues it for the engine
// with `token` as the reply address. nullopt: queued, the answer will be delivered.
// `key` is the caller's API key (--auth keys; null with --auth none): the order's client_id
// must be one of its clients (403 otherwise), the key's token bucket limits the rate, and
// the order records the key's id. Without a key the rate limit is per client_id.
std::optional<immediate_answer> submit_place(io_thread& io, std::uint64_t token,
                                             std::string_view body,
                                             std::string_view header_idempotency_key,
                                             auth::principal* key);

// The same for a body parsed already: `parse_error` is what codec::parse_order_request
// returned for it.
std::optional<immediate_answer> submit_parsed_place(io_thread& io, std::uint64_t token,
                                                    std::optional<codec::api_error> parse_error,
                                                    const codec::order_request& parsed,
                                                    auth::principal* key);

// `key`'s clients bound what it may cancel (another client's order is order_not_found).
std::optional<immediate_answer> submit_cancel(io_thread& io, std::uint64_t token,
                                              std::string_view order_id,
                                              const auth::principal* key);

// POST /admin/instruments/{symbol}/halt (`halt`) or /resume.
std::optional<immediate_answer> submit_trading_status(io_thread& io, std::uint64_t token,
                                                      engine::instrument_id instrument, bool halt);

// POST /admin/instruments: `ins` validated (codec::parse_instrument_request).
std::optional<immediate_answer> submit_add_instrument(io_thread& io, std::uint64_t token,
                                                      engine::instrument ins);
// PATCH /orders/{order_id}: the body parsed (codec::parse_amend_request) and queued; the
// ownership rules are a cancel's.
std::optional<immediate_answer> submit_amend(io_thread& io, std::uint64_t token,
                                             std::string_view order_id, std::string_view body,
                                             const auth::principal* key);

// Mass cancel (DELETE /orders, WebSocket cancel_all): every open order of `client`, in
// `instrument` or (nullopt) every instrument. `key`, when set, must act for the client (403).
std::optional<immediate_answer> submit_cancel_all(io_thread& io, std::uint64_t token,
                                                  const engine::client_id& client,
                                                  std::optional<engine::instrument_id> instrument,
                                                  const auth::principal* key);

std::optional<immediate_answer> submit_snapshot(io_thread& io, std::uint64_t token,
                                                engine::instrument_id instrument);

}  // namespace matchd::gateway
