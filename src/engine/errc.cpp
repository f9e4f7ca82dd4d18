#include <matchd/engine/errc.h>

#include <string>

namespace matchd::engine {

std::string_view to_code(errc e) noexcept {
  switch (e) {
    case errc::ok:
      return "ok";
    case errc::duplicate_order_id:
      return "duplicate_order_id";
    case errc::order_not_found:
      return "order_not_found";
    case errc::order_not_open:
      return "order_not_open";
    case errc::unknown_instrument:
      return "unknown_instrument";
    case errc::book_full:
      return "book_full";
    case errc::instrument_halted:
      return "instrument_halted";
    case errc::price_out_of_band:
      return "price_out_of_band";
    case errc::notional_too_large:
      return "notional_too_large";
    case errc::instrument_exists:
      return "instrument_exists";
    case errc::too_many_instruments:
      return "too_many_instruments";
    case errc::quantity_not_above_filled:
      return "quantity_not_above_filled";
    case errc::would_take:
      return "would_take";
    case errc::stop_not_triggered:
      return "stop_not_triggered";
  }
  return "internal_error";
}

namespace {
class engine_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "matchd.engine"; }
  std::string message(int ev) const override { return std::string(to_code(static_cast<errc>(ev))); }
};
}  // namespace

const std::error_category& engine_category() noexcept {
  static const engine_category_impl category;
  return category;
}

}  // namespace matchd::engine
