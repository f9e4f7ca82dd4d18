#pragma once

#include <cstdint>
#include <string_view>
#include <system_error>

namespace matchd::engine {

// Business outcomes of a command that changed nothing. Validation of input happens
// before the engine; these are the rejections only the engine can decide.
enum class errc : std::uint8_t {
  ok = 0,
  duplicate_order_id,  // an order with this id exists or existed
  order_not_found,     // cancel of an id the engine never saw
  order_not_open,      // cancel of a filled, cancelled or rejected order
  unknown_instrument,
  book_full,  // the instrument's order capacity is exhausted
  // Venue rules (venue_rules.h) and venue commands.
  instrument_halted,     // a placement while the instrument is halted
  price_out_of_band,     // a limit price beyond the band around the reference price
  notional_too_large,    // a limit order worth more than the instrument's max notional
  instrument_exists,     // adding an instrument whose symbol is taken
  too_many_instruments,  // adding one beyond engine_options::max_instruments
  // Amend:
  quantity_not_above_filled,  // the new quantity is not above what already filled
  would_take,                 // a post_only order amended to a price that crosses
  stop_not_triggered,         // an amend of a stop order still waiting for its trigger
};

// The stable API error code, e.g. "duplicate_order_id".
std::string_view to_code(errc e) noexcept;

const std::error_category& engine_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), engine_category()};
}

}  // namespace matchd::engine

template <>
struct std::is_error_code_enum<matchd::engine::errc> : std::true_type {};
