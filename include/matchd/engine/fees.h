#pragma once

#include <matchd/engine/instrument.h>
#include <matchd/engine/types.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

namespace matchd::engine {

// The venue's fees (`--fees MAKER_BPS,TAKER_BPS`): each side of a trade pays its rate in
// basis points of the trade's notional, in quote.
struct fee_schedule {
  std::uint32_t maker_bps = 0;
  std::uint32_t taker_bps = 0;

  // "MAKER,TAKER": whole basis points from 0 to kMaxFeeBps each. Rebates (negative maker
  // fees) are not offered: a fee never moves cash to the trader.
  static std::optional<fee_schedule> parse(std::string_view text) noexcept;
  bool charges() const noexcept { return maker_bps != 0 || taker_bps != 0; }
  bool operator==(const fee_schedule&) const = default;
};

inline constexpr std::uint32_t kMaxFeeBps = 1000;  // 10%

// One instrument's fees, precomputed so a trade costs two multiplications and divisions.
// A fee is in quote units at the instrument's price precision (value * 10^price_scale, as
// max_notional_units), rounded half up: notional x bps / 10,000.
class fee_calculator {
 public:
  fee_calculator() noexcept = default;
  fee_calculator(const instrument& ins, fee_schedule schedule) noexcept;

  std::int64_t maker_fee(int128 notional_tick_lots) const noexcept {
    return fee(notional_tick_lots, schedule_.maker_bps);
  }
  std::int64_t taker_fee(int128 notional_tick_lots) const noexcept {
    return fee(notional_tick_lots, schedule_.taker_bps);
  }

 private:
  std::int64_t fee(int128 notional_tick_lots, std::uint32_t bps) const noexcept {
    if (bps == 0) return 0;
    // An instrument's limits allow trades whose fee passes 64 bits (a lot of 1 at a price
    // of 10^9, say): such a fee is held at the largest value, never wrapped to a negative
    // one that would pay the trader.
    int128 numerator = 0;
    if (__builtin_mul_overflow(notional_tick_lots, units_per_tick_lot_ * bps, &numerator)) {
      return kMaxFee;
    }
    const int128 fee = (numerator + divisor_ / 2) / divisor_;
    return fee > kMaxFee ? kMaxFee : static_cast<std::int64_t>(fee);
  }
  static constexpr std::int64_t kMaxFee = std::numeric_limits<std::int64_t>::max();

  fee_schedule schedule_;
  // A tick x a lot in quote units at the price precision is tick_units x lot_units /
  // 10^quantity_scale; the divisor also holds the 10,000 of the basis points.
  int128 units_per_tick_lot_ = 0;
  int128 divisor_ = 1;
};

}  // namespace matchd::engine
