#pragma once

#include <matchd/engine/instrument.h>
#include <matchd/engine/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace matchd::analytics {

// The candle intervals of the API (docs/api.md, Candles), shortest first.
enum class interval : std::uint8_t { s1, m1, m5, m15, h1, h4, d1 };
inline constexpr std::array<interval, 7> kIntervals{interval::s1,  interval::m1, interval::m5,
                                                    interval::m15, interval::h1, interval::h4,
                                                    interval::d1};

std::optional<interval> parse_interval(std::string_view text) noexcept;
std::string_view to_string(interval i) noexcept;
std::int64_t length_us(interval i) noexcept;
// The length in whole seconds: the candles table's interval_s.
std::int64_t length_seconds(interval i) noexcept;

// The start of the bucket that holds `t`. Buckets are aligned to UTC: the epoch is a UTC
// midnight and every interval divides a day, so flooring the time since the epoch is enough
// (a day has no leap seconds in Unix time).
engine::timestamp_us bucket_start(interval i, engine::timestamp_us t) noexcept;

// A part of a time range and what to read it from: a candle interval's buckets (those whose
// open_time is in [from, to), which are whole inside it), or, with no interval, the trades
// themselves.
struct range_piece {
  std::optional<interval> level;
  engine::timestamp_us from = 0;
  engine::timestamp_us to = 0;
  bool operator==(const range_piece&) const = default;
};

// [start, end) as the fewest pieces of 1 d, 1 h, 1 m and 1 s buckets, and trades for the
// parts finer than a second at either edge; each coarser interval is a whole number of the
// finer ones, so the pieces tile the range exactly, none overlapping. At most two pieces per
// level besides the days: any range reads a bounded number of rows plus its days.
std::vector<range_piece> cover_range(engine::timestamp_us start, engine::timestamp_us end);

// What a run of trades adds up to: one candle, or the statistics of a time range. Exact:
// volume in lots, quote volume in ticks x lots and the sum of prices in ticks, each in 128
// bits, so no sum can overflow at any realistic history.
//
// A trade's time is its command's receipt time, stamped by whichever I/O thread took it, so
// two trades' times need not follow their trade_ids. `open` and `close` are the first and
// last trade in trade_id order (the engine's order); the buckets go by time.
struct trade_summary {
  std::int64_t trades = 0;
  engine::price_ticks open{};
  engine::price_ticks high{};
  engine::price_ticks low{};
  engine::price_ticks close{};
  engine::int128 volume = 0;        // lots
  engine::int128 quote_volume = 0;  // ticks x lots
  engine::int128 price_sum = 0;     // ticks
  engine::trade_id first_trade = 0;
  engine::trade_id last_trade = 0;

  bool empty() const noexcept { return trades == 0; }
  void add(engine::price_ticks price, engine::quantity_lots quantity, engine::trade_id id) noexcept;
  // Both runs together, whichever came first.
  void merge(const trade_summary& other) noexcept;
  bool operator==(const trade_summary&) const = default;
};

// One bucket of a candle series: the trades whose time is in [open_time, open_time +
// the interval).
struct candle {
  engine::timestamp_us open_time = 0;
  trade_summary summary;
};

// The prices and amounts of a summary as the API writes them, in units at a decimal scale
// (value = units x 10^-scale): prices at the instrument's price precision, volume at its
// quantity precision, quote volume at both together (exact, never rounded), and the two
// averages at the price precision plus kAverageExtraDecimals, rounded half to even.
inline constexpr int kAverageExtraDecimals = 4;

struct summary_units {
  std::int64_t open = 0;
  std::int64_t high = 0;
  std::int64_t low = 0;
  std::int64_t close = 0;
  engine::int128 volume = 0;
  engine::int128 quote_volume = 0;
  engine::int128 vwap = 0;           // quote_volume / volume
  engine::int128 average_price = 0;  // price_sum / trades
};

int price_scale(const engine::instrument& ins) noexcept;
int quote_scale(const engine::instrument& ins) noexcept;
int average_scale(const engine::instrument& ins) noexcept;

// Precondition: !s.empty().
summary_units to_units(const trade_summary& s, const engine::instrument& ins) noexcept;

// n / d rounded half to even; n >= 0, d > 0.
engine::int128 divide_half_even(engine::int128 n, engine::int128 d) noexcept;

}  // namespace matchd::analytics
