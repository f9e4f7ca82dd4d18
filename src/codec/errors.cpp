#include <matchd/codec/errors.h>
#include <matchd/codec/json_writer.h>

#include <array>
#include <utility>

namespace matchd::codec {

namespace {

struct code_entry {
  api_errc errc;
  std::string_view code;
  int status;
};

// Indexed by api_errc; the static_asserts below keep the order in step with the enum.
constexpr std::array<code_entry, kApiErrcCount> kCodes = {{
    {api_errc::malformed_json, "malformed_json", 400},
    {api_errc::missing_field, "missing_field", 400},
    {api_errc::invalid_field_type, "invalid_field_type", 400},
    {api_errc::unknown_instrument, "unknown_instrument", 400},
    {api_errc::invalid_side, "invalid_side", 400},
    {api_errc::invalid_order_type, "invalid_order_type", 400},
    {api_errc::invalid_time_in_force, "invalid_time_in_force", 400},
    {api_errc::invalid_price, "invalid_price", 400},
    {api_errc::invalid_price_tick, "invalid_price_tick", 400},
    {api_errc::price_out_of_range, "price_out_of_range", 400},
    {api_errc::invalid_quantity, "invalid_quantity", 400},
    {api_errc::invalid_quantity_lot, "invalid_quantity_lot", 400},
    {api_errc::quantity_out_of_range, "quantity_out_of_range", 400},
    {api_errc::too_many_decimals, "too_many_decimals", 400},
    {api_errc::price_not_allowed, "price_not_allowed", 400},
    {api_errc::invalid_order_id, "invalid_order_id", 400},
    {api_errc::invalid_client_id, "invalid_client_id", 400},
    {api_errc::invalid_idempotency_key, "invalid_idempotency_key", 400},
    {api_errc::invalid_parameter, "invalid_parameter", 400},
    {api_errc::invalid_framing, "invalid_framing", 400},
    {api_errc::order_not_found, "order_not_found", 404},
    {api_errc::not_found, "not_found", 404},
    {api_errc::method_not_allowed, "method_not_allowed", 405},
    {api_errc::duplicate_order_id, "duplicate_order_id", 409},
    {api_errc::idempotency_key_reused, "idempotency_key_reused", 409},
    {api_errc::order_not_open, "order_not_open", 409},
    {api_errc::body_too_large, "body_too_large", 413},
    {api_errc::unsupported_media_type, "unsupported_media_type", 415},
    {api_errc::upgrade_required, "upgrade_required", 426},
    {api_errc::rate_limited, "rate_limited", 429},
    {api_errc::headers_too_large, "headers_too_large", 431},
    {api_errc::internal_error, "internal_error", 500},
    {api_errc::overloaded, "overloaded", 503},
    {api_errc::not_ready, "not_ready", 503},
    {api_errc::unauthorized, "unauthorized", 401},
    {api_errc::forbidden, "forbidden", 403},
    {api_errc::key_in_query, "key_in_query", 400},
    {api_errc::invalid_role, "invalid_role", 400},
    {api_errc::key_not_found, "key_not_found", 404},
    {api_errc::instrument_halted, "instrument_halted", 409},
    {api_errc::price_out_of_band, "price_out_of_band", 400},
    {api_errc::notional_too_large, "notional_too_large", 400},
    {api_errc::instrument_not_found, "instrument_not_found", 404},
    {api_errc::instrument_exists, "instrument_exists", 409},
    {api_errc::too_many_instruments, "too_many_instruments", 409},
    {api_errc::post_only_not_allowed, "post_only_not_allowed", 400},
    {api_errc::invalid_stp, "invalid_stp", 400},
    {api_errc::invalid_client_order_id, "invalid_client_order_id", 400},
    {api_errc::quantity_not_above_filled, "quantity_not_above_filled", 409},
    {api_errc::would_take, "would_take", 409},
    {api_errc::invalid_stop_price, "invalid_stop_price", 400},
    {api_errc::stop_price_not_allowed, "stop_price_not_allowed", 400},
    {api_errc::stop_not_triggered, "stop_not_triggered", 409},
    {api_errc::field_not_amendable, "field_not_amendable", 400},
    {api_errc::settlement_out_of_order, "settlement_out_of_order", 409},
    {api_errc::settlement_not_found, "settlement_not_found", 404},
    {api_errc::webhook_not_found, "webhook_not_found", 404},
    {api_errc::delivery_not_found, "delivery_not_found", 404},
    {api_errc::delivery_not_dead, "delivery_not_dead", 409},
    {api_errc::too_many_webhooks, "too_many_webhooks", 409},
}};

constexpr bool table_in_enum_order() {
  for (std::size_t i = 0; i < kCodes.size(); ++i) {
    if (static_cast<std::size_t>(kCodes[i].errc) != i) return false;
  }
  return true;
}
static_assert(table_in_enum_order(), "kCodes must list api_errc in declaration order");

const code_entry& entry(api_errc e) noexcept {
  const auto i = static_cast<std::size_t>(e);
  return kCodes[i < kCodes.size() ? i : 0];
}

}  // namespace

std::string_view to_code(api_errc e) noexcept {
  return entry(e).code;
}

int http_status(api_errc e) noexcept {
  return entry(e).status;
}

api_error make_error(api_errc e, std::string message) {
  const code_entry& c = entry(e);
  return api_error{c.status, c.code, std::move(message)};
}

api_error engine_error(engine::errc e, std::string_view order_id) {
  const auto named = [order_id](std::string_view before, std::string_view after) {
    std::string m(before);
    m.append(order_id);
    m.append(after);
    return m;
  };
  switch (e) {
    case engine::errc::duplicate_order_id:
      return make_error(api_errc::duplicate_order_id, named("order_id ", " already exists"));
    case engine::errc::order_not_found:
      return make_error(api_errc::order_not_found, named("order ", " not found"));
    case engine::errc::order_not_open:
      return make_error(api_errc::order_not_open, named("order ", " is not open"));
    case engine::errc::unknown_instrument:
      return make_error(api_errc::unknown_instrument, "unknown instrument");
    case engine::errc::book_full:
      return make_error(api_errc::overloaded, "order book capacity exhausted, retry later");
    case engine::errc::instrument_halted:
      return make_error(api_errc::instrument_halted, "the instrument is halted: no new orders");
    case engine::errc::price_out_of_band:
      return make_error(api_errc::price_out_of_band,
                        "the price is beyond the instrument's band around its reference price");
    case engine::errc::notional_too_large:
      return make_error(api_errc::notional_too_large,
                        "price x quantity is above the instrument's max_notional");
    case engine::errc::instrument_exists:
      return make_error(api_errc::instrument_exists, "an instrument with this symbol exists");
    case engine::errc::too_many_instruments:
      return make_error(api_errc::too_many_instruments,
                        "the venue holds as many instruments as "
                        "it may");
    case engine::errc::quantity_not_above_filled:
      return make_error(api_errc::quantity_not_above_filled,
                        named("the new quantity of order ", " is not above its filled quantity"));
    case engine::errc::would_take:
      return make_error(api_errc::would_take,
                        named("post_only order ", " would trade at the new price"));
    case engine::errc::stop_not_triggered:
      return make_error(
          api_errc::stop_not_triggered,
          named("stop order ", " waits for its trigger: cancel it and place another"));
    case engine::errc::ok:
      break;
  }
  return make_error(api_errc::overloaded, "unexpected engine result");
}

void append_error(json_writer& w, const api_error& e) {
  w.begin_object();
  w.key("code");
  w.string_value(e.code);
  w.key("message");
  w.string_value(e.message);
  w.end_object();
}

std::string error_body(const api_error& e) {
  std::string out;
  out.reserve(40 + e.code.size() + e.message.size());
  json_writer w(out);
  w.begin_object();
  w.key("error");
  append_error(w, e);
  w.end_object();
  return out;
}

}  // namespace matchd::codec
