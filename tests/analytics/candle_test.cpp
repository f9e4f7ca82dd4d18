#include <gtest/gtest.h>
#include <matchd/analytics/candle.h>

#include <algorithm>
#include <random>
#include <vector>

namespace matchd::analytics {
namespace {

using engine::price_ticks;
using engine::quantity_lots;

constexpr std::int64_t kMinuteUs = 60'000'000;
constexpr std::int64_t kDayUs = 86'400'000'000;
// 2026-12-06T00:00:00Z
constexpr std::int64_t kMidnightUs = 1'796'515'200'000'000;

TEST(candle_interval, parses_the_seven_names_and_nothing_else) {
  for (interval i : kIntervals) {
    const auto parsed = parse_interval(to_string(i));
    ASSERT_TRUE(parsed.has_value()) << to_string(i);
    EXPECT_EQ(*parsed, i);
  }
  for (std::string_view bad : {"", "1M", "2m", "1h ", "60s", "1w", "1D", "m1"}) {
    EXPECT_FALSE(parse_interval(bad).has_value()) << bad;
  }
  EXPECT_EQ(length_us(interval::s1), 1'000'000);
  EXPECT_EQ(length_us(interval::m15), 15 * kMinuteUs);
  EXPECT_EQ(length_us(interval::d1), kDayUs);
  // The candles table's interval_s (its CHECK lists these).
  EXPECT_EQ(length_seconds(interval::s1), 1);
  EXPECT_EQ(length_seconds(interval::h4), 14'400);
  EXPECT_EQ(length_seconds(interval::d1), 86'400);
}

TEST(candle_interval, a_trade_exactly_at_an_edge_opens_the_next_bucket) {
  for (interval i : kIntervals) {
    const std::int64_t edge = kMidnightUs + length_us(i);
    EXPECT_EQ(bucket_start(i, edge), edge) << to_string(i);
    EXPECT_EQ(bucket_start(i, edge - 1), kMidnightUs) << to_string(i);
  }
}

TEST(candle_interval, buckets_are_aligned_to_utc) {
  EXPECT_EQ(kMidnightUs % kDayUs, 0);
  // 2026-12-06T13:47:12.5Z
  const std::int64_t t = kMidnightUs + (13 * 3600 + 47 * 60 + 12) * 1'000'000LL + 500'000;
  EXPECT_EQ(bucket_start(interval::s1, t), t - 500'000);
  EXPECT_EQ(bucket_start(interval::m5, t), kMidnightUs + (13 * 60 + 45) * kMinuteUs);
  EXPECT_EQ(bucket_start(interval::m15, t), kMidnightUs + (13 * 60 + 45) * kMinuteUs);
  EXPECT_EQ(bucket_start(interval::h1, t), kMidnightUs + 13 * 60 * kMinuteUs);
  EXPECT_EQ(bucket_start(interval::h4, t), kMidnightUs + 12 * 60 * kMinuteUs);
  EXPECT_EQ(bucket_start(interval::d1, t), kMidnightUs);
}

TEST(candle_interval, a_day_bucket_ends_at_utc_midnight) {
  const std::int64_t last_of_day = kMidnightUs + kDayUs - 1;  // 23:59:59.999999
  EXPECT_EQ(bucket_start(interval::d1, last_of_day), kMidnightUs);
  EXPECT_EQ(bucket_start(interval::d1, last_of_day + 1), kMidnightUs + kDayUs);
  EXPECT_EQ(bucket_start(interval::h4, last_of_day), kMidnightUs + 20 * 60 * kMinuteUs);
}

TEST(candle_interval, floors_times_before_the_epoch) {
  EXPECT_EQ(bucket_start(interval::m1, -1), -kMinuteUs);
  EXPECT_EQ(bucket_start(interval::m1, -kMinuteUs), -kMinuteUs);
}

TEST(trade_summary, adds_trades_into_ohlc_and_exact_sums) {
  trade_summary s;
  EXPECT_TRUE(s.empty());
  s.add(price_ticks{100}, quantity_lots{3}, 7);
  s.add(price_ticks{120}, quantity_lots{1}, 8);
  s.add(price_ticks{90}, quantity_lots{2}, 9);
  s.add(price_ticks{110}, quantity_lots{5}, 10);
  EXPECT_EQ(s.trades, 4);
  EXPECT_EQ(s.open, price_ticks{100});
  EXPECT_EQ(s.high, price_ticks{120});
  EXPECT_EQ(s.low, price_ticks{90});
  EXPECT_EQ(s.close, price_ticks{110});
  EXPECT_TRUE(s.volume == 11);
  EXPECT_TRUE(s.quote_volume == 300 + 120 + 180 + 550);
  EXPECT_TRUE(s.price_sum == 420);
  EXPECT_EQ(s.first_trade, 7u);
  EXPECT_EQ(s.last_trade, 10u);
}

TEST(trade_summary, open_and_close_follow_trade_ids_not_arrival) {
  trade_summary s;
  s.add(price_ticks{110}, quantity_lots{1}, 10);
  s.add(price_ticks{100}, quantity_lots{1}, 7);
  s.add(price_ticks{105}, quantity_lots{1}, 9);
  EXPECT_EQ(s.open, price_ticks{100});
  EXPECT_EQ(s.close, price_ticks{110});
}

TEST(trade_summary, sums_past_64_bits_stay_exact) {
  trade_summary s;
  const std::int64_t big = 4'000'000'000'000'000'000;  // near the int64 limit
  s.add(price_ticks{big}, quantity_lots{big}, 1);
  s.add(price_ticks{big}, quantity_lots{big}, 2);
  s.add(price_ticks{big}, quantity_lots{big}, 3);
  EXPECT_TRUE(s.volume == static_cast<engine::int128>(big) * 3);
  EXPECT_TRUE(s.price_sum == static_cast<engine::int128>(big) * 3);
  EXPECT_TRUE(s.quote_volume == static_cast<engine::int128>(big) * big * 3);
}

TEST(trade_summary, merging_any_split_equals_adding_everything) {
  std::mt19937_64 rng(20261206);
  for (int round = 0; round < 200; ++round) {
    std::vector<int> order(1 + rng() % 40);
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<std::pair<std::int64_t, std::int64_t>> trades;
    for (std::size_t i = 0; i < order.size(); ++i) {
      trades.emplace_back(1 + rng() % 1000, 1 + rng() % 1000);
    }
    trade_summary whole;
    for (std::size_t i = 0; i < trades.size(); ++i) {
      whole.add(price_ticks{trades[i].first}, quantity_lots{trades[i].second}, i + 1);
    }
    // The same trades in a shuffled order, cut in two parts, merged either way round.
    trade_summary a;
    trade_summary b;
    const std::size_t cut = rng() % (order.size() + 1);
    for (std::size_t k = 0; k < order.size(); ++k) {
      const auto i = static_cast<std::size_t>(order[k]);
      (k < cut ? a : b).add(price_ticks{trades[i].first}, quantity_lots{trades[i].second}, i + 1);
    }
    trade_summary ab = a;
    ab.merge(b);
    trade_summary ba = b;
    ba.merge(a);
    EXPECT_EQ(ab, whole) << "round " << round;
    EXPECT_EQ(ba, whole) << "round " << round;
  }
}

TEST(divide_half_even, rounds_ties_to_the_even_neighbour) {
  EXPECT_TRUE(divide_half_even(10, 4) == 2);  // 2.5
  EXPECT_TRUE(divide_half_even(14, 4) == 4);  // 3.5
  EXPECT_TRUE(divide_half_even(11, 4) == 3);  // 2.75
  EXPECT_TRUE(divide_half_even(9, 4) == 2);   // 2.25
  EXPECT_TRUE(divide_half_even(12, 4) == 3);  // exact
  EXPECT_TRUE(divide_half_even(0, 7) == 0);
}

engine::instrument whole_units() {
  engine::instrument ins;
  ins.symbol = "T-U";
  ins.price_scale = 0;
  ins.tick_units = 1;
  ins.quantity_scale = 0;
  ins.lot_units = 1;
  return ins;
}

TEST(summary_units, vwap_and_average_round_half_even_at_four_more_decimals) {
  const engine::instrument ins = whole_units();
  trade_summary down;  // vwap 33/32 = 1.03125: a tie, the even neighbour is 1.0312
  down.add(price_ticks{1}, quantity_lots{31}, 1);
  down.add(price_ticks{2}, quantity_lots{1}, 2);
  EXPECT_TRUE(to_units(down, ins).vwap == 10312);
  trade_summary up;  // vwap 35/32 = 1.09375: a tie, the even neighbour is 1.0938
  up.add(price_ticks{1}, quantity_lots{29}, 1);
  up.add(price_ticks{2}, quantity_lots{3}, 2);
  EXPECT_TRUE(to_units(up, ins).vwap == 10938);
  // Average price: (1 + 2 + 2) / 3 = 1.666666... -> 1.6667
  trade_summary avg;
  avg.add(price_ticks{1}, quantity_lots{5}, 1);
  avg.add(price_ticks{2}, quantity_lots{5}, 2);
  avg.add(price_ticks{2}, quantity_lots{5}, 3);
  EXPECT_TRUE(to_units(avg, ins).average_price == 16667);
}

TEST(summary_units, scales_ticks_and_lots_by_their_increments) {
  engine::instrument ins = engine::instrument::btc_usd();  // tick 0.01, lot 0.00000001
  ins.tick_units = 5;                                      // tick 0.05
  ins.lot_units = 1000;                                    // lot 0.00001
  trade_summary s;
  s.add(price_ticks{1'403'001}, quantity_lots{25}, 1);  // 70150.05 x 0.00025
  s.add(price_ticks{1'403'002}, quantity_lots{75}, 2);  // 70150.10 x 0.00075
  const summary_units u = to_units(s, ins);
  EXPECT_EQ(u.open, 7'015'005);
  EXPECT_EQ(u.close, 7'015'010);
  EXPECT_EQ(u.high, 7'015'010);
  EXPECT_EQ(u.low, 7'015'005);
  EXPECT_TRUE(u.volume == 100'000);  // 0.00100000
  // 70150.05 x 0.00025 + 70150.10 x 0.00075 = 17.5375125 + 52.612575 = 70.1500875
  EXPECT_TRUE(u.quote_volume == static_cast<engine::int128>(701'500'875'000));
  EXPECT_EQ(quote_scale(ins), 10);
  // vwap = 70.1500875 / 0.001 = 70150.0875 at 6 decimals
  EXPECT_TRUE(u.vwap == static_cast<engine::int128>(70'150'087'500));
  // average = (70150.05 + 70150.10) / 2 = 70150.075
  EXPECT_TRUE(u.average_price == static_cast<engine::int128>(70'150'075'000));
}

TEST(cover_range, tiles_any_range_exactly_with_aligned_buckets) {
  std::mt19937_64 rng(7);
  const std::int64_t spans[] = {1,      999'999,    1'000'000, 61'000'000, 3'600'000'000,
                                kDayUs, 40 * kDayUs};
  for (int round = 0; round < 2000; ++round) {
    const std::int64_t start = kMidnightUs + static_cast<std::int64_t>(rng() % (3 * kDayUs));
    std::int64_t end =
        start + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(spans[round % 7]));
    if (round % 11 == 0) end = bucket_start(interval::m1, end);  // ends on an edge
    const auto pieces = cover_range(start, end);
    std::int64_t at = start;
    std::vector<range_piece> sorted = pieces;
    std::sort(sorted.begin(), sorted.end(),
              [](const range_piece& a, const range_piece& b) { return a.from < b.from; });
    for (const range_piece& p : sorted) {
      EXPECT_EQ(p.from, at) << "round " << round;
      EXPECT_LT(p.from, p.to);
      if (p.level) {
        EXPECT_EQ(bucket_start(*p.level, p.from), p.from);
        EXPECT_EQ(bucket_start(*p.level, p.to), p.to);
      }
      at = p.to;
    }
    EXPECT_EQ(at, std::max(start, end)) << "round " << round;
    EXPECT_LE(pieces.size(), 9u);
  }
}

TEST(cover_range, uses_whole_days_hours_minutes_and_seconds_where_they_fit) {
  // 2026-12-06T23:58:59.250 to 2026-12-09T01:02:03.500
  const std::int64_t s = kMidnightUs + kDayUs - 61 * 1'000'000 + 250'000;
  const std::int64_t e = kMidnightUs + 3 * kDayUs + (3600 + 2 * 60 + 3) * 1'000'000LL + 500'000;
  const std::vector<range_piece> want = {
      {std::nullopt, s, s + 750'000},
      {std::nullopt, e - 500'000, e},
      {interval::s1, e - 500'000 - 3 * 1'000'000, e - 500'000},
      {interval::m1, kMidnightUs + kDayUs - 60 * 1'000'000, kMidnightUs + kDayUs},
      {interval::m1, kMidnightUs + 3 * kDayUs + 3600 * 1'000'000LL, e - 500'000 - 3'000'000},
      {interval::h1, kMidnightUs + 3 * kDayUs, kMidnightUs + 3 * kDayUs + 3600 * 1'000'000LL},
      {interval::d1, kMidnightUs + kDayUs, kMidnightUs + 3 * kDayUs},
  };
  EXPECT_EQ(cover_range(s, e), want);
  EXPECT_TRUE(cover_range(s, s).empty());
  EXPECT_EQ(cover_range(kMidnightUs, kMidnightUs + kDayUs),
            (std::vector<range_piece>{{interval::d1, kMidnightUs, kMidnightUs + kDayUs}}));
}

}  // namespace
}  // namespace matchd::analytics
