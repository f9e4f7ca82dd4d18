#include <matchd/analytics/candle.h>
#include <matchd/engine/decimal.h>

#include <algorithm>

namespace matchd::analytics {

namespace {

constexpr std::int64_t kSecondUs = 1'000'000;

struct interval_name {
  interval value;
  std::string_view name;
  std::int64_t length_us;
};

constexpr std::array<interval_name, kIntervals.size()> kNames{{
    {interval::s1, "1s", kSecondUs},
    {interval::m1, "1m", 60 * kSecondUs},
    {interval::m5, "5m", 5 * 60 * kSecondUs},
    {interval::m15, "15m", 15 * 60 * kSecondUs},
    {interval::h1, "1h", 3600 * kSecondUs},
    {interval::h4, "4h", 4 * 3600 * kSecondUs},
    {interval::d1, "1d", 24 * 3600 * kSecondUs},
}};

}  // namespace

std::optional<interval> parse_interval(std::string_view text) noexcept {
  for (const interval_name& n : kNames) {
    if (n.name == text) return n.value;
  }
  return std::nullopt;
}

std::string_view to_string(interval i) noexcept {
  return kNames[static_cast<std::size_t>(i)].name;
}

std::int64_t length_us(interval i) noexcept {
  return kNames[static_cast<std::size_t>(i)].length_us;
}

std::int64_t length_seconds(interval i) noexcept {
  return length_us(i) / kSecondUs;
}

engine::timestamp_us bucket_start(interval i, engine::timestamp_us t) noexcept {
  const std::int64_t len = length_us(i);
  std::int64_t q = t / len;
  if (t % len < 0) --q;  // floor, also before 1970
  return q * len;
}

std::vector<range_piece> cover_range(engine::timestamp_us start, engine::timestamp_us end) {
  std::vector<range_piece> pieces;
  const auto emit = [&](std::optional<interval> level, engine::timestamp_us from,
                        engine::timestamp_us to) {
    if (from < to) pieces.push_back({level, from, to});
  };
  // Each level covers the edges that the next, coarser one cannot; what is left in the
  // middle is aligned to the coarser one.
  constexpr std::array<std::optional<interval>, 4> kFiner{std::nullopt, interval::s1, interval::m1,
                                                          interval::h1};
  constexpr std::array<interval, 4> kCoarser{interval::s1, interval::m1, interval::h1,
                                             interval::d1};
  engine::timestamp_us lo = start;
  engine::timestamp_us hi = end;
  for (std::size_t k = 0; k < kFiner.size(); ++k) {
    const std::int64_t len = length_us(kCoarser[k]);
    const engine::timestamp_us inner_lo =
        lo == bucket_start(kCoarser[k], lo) ? lo : bucket_start(kCoarser[k], lo) + len;
    const engine::timestamp_us inner_hi = bucket_start(kCoarser[k], hi);
    if (inner_lo >= inner_hi) {
      emit(kFiner[k], lo, hi);
      return pieces;
    }
    emit(kFiner[k], lo, inner_lo);
    emit(kFiner[k], inner_hi, hi);
    lo = inner_lo;
    hi = inner_hi;
  }
  emit(interval::d1, lo, hi);
  return pieces;
}

void trade_summary::add(engine::price_ticks price, engine::quantity_lots quantity,
                        engine::trade_id id) noexcept {
  trade_summary one;
  one.trades = 1;
  one.open = one.high = one.low = one.close = price;
  one.volume = quantity.value;
  one.quote_volume = static_cast<engine::int128>(price.value) * quantity.value;
  one.price_sum = price.value;
  one.first_trade = one.last_trade = id;
  merge(one);
}

void trade_summary::merge(const trade_summary& other) noexcept {
  if (other.empty()) return;
  if (empty()) {
    *this = other;
    return;
  }
  if (other.first_trade < first_trade) {
    open = other.open;
    first_trade = other.first_trade;
  }
  if (other.last_trade > last_trade) {
    close = other.close;
    last_trade = other.last_trade;
  }
  high = std::max(high, other.high);
  low = std::min(low, other.low);
  trades += other.trades;
  volume += other.volume;
  quote_volume += other.quote_volume;
  price_sum += other.price_sum;
}

int price_scale(const engine::instrument& ins) noexcept {
  return ins.price_scale;
}

int quote_scale(const engine::instrument& ins) noexcept {
  return ins.price_scale + ins.quantity_scale;
}

int average_scale(const engine::instrument& ins) noexcept {
  return ins.price_scale + kAverageExtraDecimals;
}

engine::int128 divide_half_even(engine::int128 n, engine::int128 d) noexcept {
  engine::int128 q = n / d;
  const engine::int128 r = n % d;
  if (2 * r > d || (2 * r == d && q % 2 != 0)) ++q;
  return q;
}

summary_units to_units(const trade_summary& s, const engine::instrument& ins) noexcept {
  // A price in units is ticks x tick_units; a quantity, lots x lot_units.
  summary_units u;
  u.open = s.open.value * ins.tick_units;
  u.high = s.high.value * ins.tick_units;
  u.low = s.low.value * ins.tick_units;
  u.close = s.close.value * ins.tick_units;
  u.volume = s.volume * ins.lot_units;
  u.quote_volume = s.quote_volume * ins.tick_units * ins.lot_units;
  const engine::int128 extra = engine::pow10(kAverageExtraDecimals);
  // quote (price and quantity scale) / volume (quantity scale) is at the price scale.
  u.vwap = divide_half_even(u.quote_volume * extra, u.volume);
  u.average_price = divide_half_even(s.price_sum * ins.tick_units * extra, s.trades);
  return u;
}

}  // namespace matchd::analytics
