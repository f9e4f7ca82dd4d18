#include <matchd/engine/types.h>

namespace matchd::engine {

std::string_view to_string(side s) noexcept {
  return s == side::buy ? "buy" : "sell";
}

std::string_view to_string(order_type t) noexcept {
  return t == order_type::limit ? "limit" : "market";
}

std::string_view to_string(time_in_force t) noexcept {
  switch (t) {
    case time_in_force::gtc:
      return "gtc";
    case time_in_force::ioc:
      return "ioc";
    case time_in_force::fok:
      return "fok";
  }
  return "gtc";
}

std::string_view to_string(order_status s) noexcept {
  switch (s) {
    case order_status::open:
      return "open";
    case order_status::partially_filled:
      return "partially_filled";
    case order_status::filled:
      return "filled";
    case order_status::cancelled:
      return "cancelled";
    case order_status::rejected:
      return "rejected";
  }
  return "open";
}

std::string_view to_string(end_reason r) noexcept {
  switch (r) {
    case end_reason::none:
      return "none";
    case end_reason::self_trade_prevention:
      return "self_trade_prevention";
    case end_reason::would_take:
      return "would_take";
    case end_reason::price_band:
      return "price_band";
    case end_reason::max_notional:
      return "max_notional";
    case end_reason::would_trigger:
      return "would_trigger";
  }
  return "none";
}

std::string_view to_string(stp_mode m) noexcept {
  switch (m) {
    case stp_mode::cancel_taker:
      return "cancel_taker";
    case stp_mode::cancel_maker:
      return "cancel_maker";
    case stp_mode::cancel_both:
      return "cancel_both";
    case stp_mode::none:
      return "none";
  }
  return "cancel_taker";
}

bool parse_end_reason(std::string_view text, end_reason& out) noexcept {
  for (std::uint8_t i = 0; i <= static_cast<std::uint8_t>(kLastEndReason); ++i) {
    if (to_string(static_cast<end_reason>(i)) == text) {
      out = static_cast<end_reason>(i);
      return true;
    }
  }
  return false;
}

bool parse_stp_mode(std::string_view text, stp_mode& out) noexcept {
  for (const stp_mode m :
       {stp_mode::cancel_taker, stp_mode::cancel_maker, stp_mode::cancel_both, stp_mode::none}) {
    if (to_string(m) == text) {
      out = m;
      return true;
    }
  }
  return false;
}

}  // namespace matchd::engine
