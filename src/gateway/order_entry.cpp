#include "order_entry.h"

#include <matchd/bus/clock.h>
#include <matchd/codec/order_request.h>

namespace matchd::gateway {

namespace {

using bus::steady_ns;
using bus::wall_us;

immediate_answer overloaded() {
  return {
      codec::make_error(codec::api_errc::overloaded, "too many orders in flight; retry shortly"),
      1};
}

// Takes an in-flight slot and queues the request; gives the slot back if it cannot.
std::optional<immediate_answer> admit(io_thread& io, bus::engine_request&& r) {
  gateway_context& ctx = io.ctx();
  if (ctx.inflight.fetch_add(1, std::memory_order_relaxed) >= ctx.options.inflight_budget) {
    ctx.inflight.fetch_sub(1, std::memory_order_relaxed);
    return overloaded();
  }
  if (!io.submit(std::move(r))) {
    ctx.inflight.fetch_sub(1, std::memory_order_relaxed);
    return overloaded();
  }
  return std::nullopt;
}

}  // namespace

std::optional<immediate_answer> submit_place(io_thread& io, std::uint64_t token,
                                             std::string_view body,
                                             std::string_view header_idempotency_key,
                                             auth::principal* key) {
  codec::order_request parsed;
  auto error = codec::parse_order_request(body, header_idempotency_key, io.instruments(), parsed);
  return submit_parsed_place(io, token, std::move(error), parsed, key);
}

std::optional<immediate_answer> submit_parsed_place(io_thread& io, std::uint64_t token,
                                                    std::optional<codec::api_error> parse_error,
                                                    const codec::order_request& parsed,
                                                    auth::principal* key) {
  gateway_context& ctx = io.ctx();
  ctx.order_flow.received();
  if (parse_error) {
    ctx.order_flow.rejected(parse_error->code);
    return immediate_answer{std::move(*parse_error)};
  }
  if (key != nullptr && !key->may_act_for(parsed.command.client)) {
    ctx.order_flow.rejected("forbidden");
    io.auth_failed(auth_failure::forbidden, "an order for a client not the key's", key->id());
    return immediate_answer{codec::make_error(
        codec::api_errc::forbidden,
        "this key may not act for client " + std::string(parsed.command.client.view()))};
  }
  const std::int64_t now_ns = steady_ns();
  if (key != nullptr) {
    if (const int wait = key->bucket().admit(now_ns); wait > 0) {
      ctx.order_flow.rejected("rate_limited");
      io.auth_failed(auth_failure::rate_limited, "over the key's order rate", key->id());
      return immediate_answer{
          codec::make_error(codec::api_errc::rate_limited, "this key is over its order rate"),
          wait};
    }
  } else if (const int wait = io.limiter().admit(parsed.command.client.view(), now_ns); wait > 0) {
    ctx.order_flow.rejected("rate_limited");
    return immediate_answer{
        codec::make_error(
            codec::api_errc::rate_limited,
            "client " + std::string(parsed.command.client.view()) + " is over its order rate"),
        wait};
  }

  bus::engine_request r;
  r.kind = bus::request_kind::place;
  r.reply = {io.index(), token};
  r.received_ns = now_ns;
  r.place = parsed.command;
  r.client_order_id = parsed.client_order_id;
  if (!parsed.has_order_id) r.place.id = engine::order_id::from(io.make_order_id());
  r.place.received_at = wall_us();
  r.place.key = key != nullptr ? key->id() : 0;
  r.idempotency = parsed.idempotency;
  r.fingerprint = parsed.fingerprint;
  auto refused = admit(io, std::move(r));
  if (refused) ctx.order_flow.rejected(refused->error.code);
  return refused;
}

std::optional<immediate_answer> submit_cancel(io_thread& io, std::uint64_t token,
                                              std::string_view order_id,
                                              const auth::principal* key) {
  if (!codec::valid_id(order_id)) {
    // An id that cannot exist is simply unknown.
    return immediate_answer{codec::make_error(codec::api_errc::order_not_found,
                                              "no order with id " + std::string(order_id))};
  }
  bus::engine_request r;
  r.kind = bus::request_kind::cancel;
  r.reply = {io.index(), token};
  r.received_ns = steady_ns();
  r.cancel.id = engine::order_id::from(order_id);
  r.cancel.received_at = wall_us();
  if (key != nullptr) r.cancel.scope = key->scope();
  return admit(io, std::move(r));
}

std::optional<immediate_answer> submit_trading_status(io_thread& io, std::uint64_t token,
                                                      engine::instrument_id instrument, bool halt) {
  bus::engine_request r;
  r.kind = halt ? bus::request_kind::halt : bus::request_kind::resume;
  r.reply = {io.index(), token};
  r.received_ns = steady_ns();
  r.instrument = instrument;
  return admit(io, std::move(r));
}

std::optional<immediate_answer> submit_add_instrument(io_thread& io, std::uint64_t token,
                                                      engine::instrument ins) {
  bus::engine_request r;
  r.kind = bus::request_kind::add_instrument;
  r.reply = {io.index(), token};
  r.received_ns = steady_ns();
  r.definition = std::make_shared<const engine::instrument>(std::move(ins));
  return admit(io, std::move(r));
}

std::optional<immediate_answer> submit_amend(io_thread& io, std::uint64_t token,
                                             std::string_view order_id, std::string_view body,
                                             const auth::principal* key) {
  bus::engine_request r;
  r.kind = bus::request_kind::amend;
  if (auto error = codec::parse_amend_request(body, io.instruments(), r.amend)) {
    return immediate_answer{std::move(*error)};
  }
  if (!codec::valid_id(order_id)) {
    return immediate_answer{codec::make_error(codec::api_errc::order_not_found,
                                              "no order with id " + std::string(order_id))};
  }
  r.reply = {io.index(), token};
  r.received_ns = steady_ns();
  r.amend.id = engine::order_id::from(order_id);
  r.amend.received_at = wall_us();
  if (key != nullptr) r.amend.scope = key->scope();
  return admit(io, std::move(r));
}

std::optional<immediate_answer> submit_cancel_all(io_thread& io, std::uint64_t token,
                                                  const engine::client_id& client,
                                                  std::optional<engine::instrument_id> instrument,
                                                  const auth::principal* key) {
  if (key != nullptr && !key->may_act_for(client)) {
    io.auth_failed(auth_failure::forbidden, "a mass cancel for a client not the key's", key->id());
    return immediate_answer{
        codec::make_error(codec::api_errc::forbidden,
                          "this key may not act for client " + std::string(client.view()))};
  }
  bus::engine_request r;
  r.kind = bus::request_kind::cancel_all;
  r.reply = {io.index(), token};
  r.received_ns = steady_ns();
  r.cancel_all.client = client;
  r.cancel_all.instrument = instrument;
  r.cancel_all.received_at = wall_us();
  return admit(io, std::move(r));
}

std::optional<immediate_answer> submit_snapshot(io_thread& io, std::uint64_t token,
                                                engine::instrument_id instrument) {
  bus::engine_request r;
  r.kind = bus::request_kind::snapshot;
  r.reply = {io.index(), token};
  r.instrument = instrument;
  return admit(io, std::move(r));
}

}  // namespace matchd::gateway
