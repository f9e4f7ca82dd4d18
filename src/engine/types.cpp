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

}  // namespace matchd::engine
