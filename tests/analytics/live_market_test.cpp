#include <gtest/gtest.h>
#include <matchd/analytics/live_market.h>

#include <algorithm>
#include <random>
#include <vector>

namespace matchd::analytics {
namespace {

using engine::price_ticks;
using engine::quantity_lots;

constexpr std::int64_t kSecondUs = 1'000'000;
constexpr std::int64_t kMinuteUs = 60 * kSecondUs;
constexpr std::int64_t kDayUs = 1440 * kMinuteUs;
// 2026-12-06T00:00:00Z
constexpr std::int64_t kMidnightUs = 1'796'515'200'000'000;

trade_summary one(std::int64_t price, std::int64_t qty, engine::trade_id id) {
  trade_summary s;
  s.add(price_ticks{price}, quantity_lots{qty}, id);
  return s;
}

struct timed_trade {
  std::int64_t t;
  trade_summary s;
};

// The plain definition: every trade whose bucket is one of the window's.
trade_summary brute_window(const std::vector<timed_trade>& trades, interval bucket,
                           std::size_t count, std::int64_t now) {
  const std::int64_t current = bucket_start(bucket, now);
  const std::int64_t first = current - static_cast<std::int64_t>(count - 1) * length_us(bucket);
  trade_summary sum;
  for (const timed_trade& x : trades) {
    const std::int64_t b = bucket_start(bucket, x.t);
    if (b >= first && b <= current) sum.merge(x.s);
  }
  return sum;
}

TEST(rolling_window, equals_the_plain_sum_of_its_buckets_as_time_moves) {
  std::mt19937_64 rng(29);
  rolling_window day(interval::m1, 1440);
  rolling_window five(interval::s1, 300);
  std::vector<timed_trade> trades;
  std::int64_t t = kMidnightUs + 123;
  std::int64_t now = t;  // the wall clock: never behind a trade, never back
  for (engine::trade_id id = 1; id <= 20'000; ++id) {
    // Mostly close together, now and then a long quiet spell (up to two days).
    const std::uint64_t r = rng() % 1000;
    t += r < 990 ? static_cast<std::int64_t>(rng() % (5 * kSecondUs))
                 : static_cast<std::int64_t>(rng() % (2 * kDayUs));
    const timed_trade x{t, one(10'000 + static_cast<std::int64_t>(rng() % 500),
                               1 + static_cast<std::int64_t>(rng() % 40), id)};
    trades.push_back(x);
    day.add(x.t, x.s);
    five.add(x.t, x.s);
    if (id % 97 == 0) {
      now = std::max(now, t + static_cast<std::int64_t>(rng() % (10 * kMinuteUs)));
      ASSERT_EQ(day.total(now), brute_window(trades, interval::m1, 1440, now)) << id;
      ASSERT_EQ(five.total(now), brute_window(trades, interval::s1, 300, now)) << id;
    }
  }
}

TEST(rolling_window, a_trade_at_the_oldest_edge_counts_and_one_before_it_does_not) {
  rolling_window w(interval::s1, 60);
  const std::int64_t now = kMidnightUs + 100 * kSecondUs + 500'000;
  const std::int64_t oldest = kMidnightUs + 41 * kSecondUs;  // 60 buckets: 41 .. 100
  w.add(oldest - 1, one(100, 1, 1));
  w.add(oldest, one(101, 2, 2));
  w.add(now, one(102, 3, 3));
  const trade_summary s = w.total(now);
  EXPECT_EQ(s.trades, 2);
  EXPECT_EQ(s.volume, 5);
  EXPECT_EQ(s.open.value, 101);
  EXPECT_EQ(s.close.value, 102);
  // A second later the oldest bucket has left too.
  EXPECT_EQ(w.total(now + kSecondUs).trades, 1);
  EXPECT_TRUE(w.total(now + 61 * kSecondUs).empty());
}

TEST(rolling_window, a_late_trade_in_an_earlier_bucket_is_not_lost_by_the_cache) {
  rolling_window w(interval::m1, 1440);
  const std::int64_t now = kMidnightUs + 10 * kMinuteUs;
  w.add(now - 5 * kMinuteUs, one(100, 1, 1));
  EXPECT_EQ(w.total(now).trades, 1);
  w.add(now - 7 * kMinuteUs, one(100, 1, 2));
  EXPECT_EQ(w.total(now).trades, 2);
}

std::vector<candle_message> drain(live_market& m, interval iv, std::int64_t horizon) {
  std::vector<candle_message> out;
  while (auto msg = m.next_message(iv, horizon)) out.push_back(*msg);
  return out;
}

TEST(live_market_candles, sends_a_changed_bucket_once_and_closes_it_when_the_horizon_passes) {
  live_market m;
  const std::int64_t t = kMidnightUs + 10 * kMinuteUs + 5 * kSecondUs;
  m.add(t, one(100, 2, 1));
  m.add(t + kSecondUs, one(104, 1, 2));
  auto msgs = drain(m, interval::m1, t + 2 * kSecondUs);
  ASSERT_EQ(msgs.size(), 1U);
  EXPECT_FALSE(msgs[0].closed);
  EXPECT_EQ(msgs[0].bucket.open_time, kMidnightUs + 10 * kMinuteUs);
  EXPECT_EQ(msgs[0].bucket.summary.trades, 2);
  EXPECT_EQ(msgs[0].bucket.summary.high.value, 104);
  // Nothing changed: nothing to say until the bucket ends.
  EXPECT_TRUE(drain(m, interval::m1, kMidnightUs + 11 * kMinuteUs - 1).empty());
  ASSERT_TRUE(m.open_candle(interval::m1).has_value());
  // The horizon at the bucket's end: no trade can join it any more.
  msgs = drain(m, interval::m1, kMidnightUs + 11 * kMinuteUs);
  ASSERT_EQ(msgs.size(), 1U);
  EXPECT_TRUE(msgs[0].closed);
  EXPECT_EQ(msgs[0].bucket.summary.trades, 2);
  EXPECT_FALSE(m.open_candle(interval::m1).has_value());
  EXPECT_TRUE(drain(m, interval::m1, kMidnightUs + 20 * kMinuteUs).empty());
}

TEST(live_market_candles, a_trade_in_the_next_bucket_closes_the_previous_one_first) {
  live_market m;
  const std::int64_t edge = kMidnightUs + 11 * kMinuteUs;
  m.add(edge - 1, one(100, 1, 1));
  ASSERT_EQ(drain(m, interval::m1, edge - 1).size(), 1U);
  m.add(edge, one(90, 1, 2));  // exactly at the edge: the next bucket
  // One message per call: the closing first, the new bucket at the next.
  auto first = m.next_message(interval::m1, edge);
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(first->closed);
  EXPECT_EQ(first->bucket.open_time, edge - kMinuteUs);
  EXPECT_EQ(first->bucket.summary.close.value, 100);
  auto second = m.next_message(interval::m1, edge);
  ASSERT_TRUE(second.has_value());
  EXPECT_FALSE(second->closed);
  EXPECT_EQ(second->bucket.open_time, edge);
  EXPECT_EQ(second->bucket.summary.open.value, 90);
}

TEST(live_market_candles, a_day_bucket_closes_at_utc_midnight) {
  live_market m;
  m.add(kMidnightUs + kDayUs - 1, one(100, 1, 1));  // 23:59:59.999999
  EXPECT_FALSE(drain(m, interval::d1, kMidnightUs + kDayUs - 1).front().closed);
  const auto msgs = drain(m, interval::d1, kMidnightUs + kDayUs);
  ASSERT_EQ(msgs.size(), 1U);
  EXPECT_TRUE(msgs[0].closed);
  EXPECT_EQ(msgs[0].bucket.open_time, kMidnightUs);
}

TEST(live_market_candles, seeded_buckets_continue_where_the_table_left_them) {
  live_market m;
  const std::int64_t hour = kMidnightUs + 5 * 60 * kMinuteUs;
  candle seeded{hour, one(100, 3, 7)};
  m.seed(interval::h1, candle{hour - 60 * kMinuteUs, one(80, 1, 1)}, hour + kMinuteUs);  // closed
  EXPECT_FALSE(m.open_candle(interval::h1).has_value());
  m.seed(interval::h1, seeded, hour + kMinuteUs);
  ASSERT_TRUE(m.open_candle(interval::h1).has_value());
  EXPECT_EQ(m.open_candle(interval::h1)->summary, seeded.summary);
  // A seed is no change to send; the next trade is.
  EXPECT_TRUE(drain(m, interval::h1, hour + kMinuteUs).empty());
  m.add(hour + 2 * kMinuteUs, one(110, 1, 8));
  const auto msgs = drain(m, interval::h1, hour + 2 * kMinuteUs);
  ASSERT_EQ(msgs.size(), 1U);
  EXPECT_EQ(msgs[0].bucket.summary.trades, 2);
  EXPECT_EQ(msgs[0].bucket.summary.open.value, 100);
  EXPECT_EQ(msgs[0].bucket.summary.close.value, 110);
  EXPECT_EQ(msgs[0].bucket.summary.volume, 4);
}

TEST(live_market_ticker, windows_hold_the_seeded_and_the_live_trades) {
  live_market m;
  const std::int64_t now = kMidnightUs + 3 * 60 * kMinuteUs + 30 * kSecondUs;
  m.seed(interval::m1, candle{bucket_start(interval::m1, now) - 1439 * kMinuteUs, one(50, 1, 1)},
         now);
  m.seed(interval::m1, candle{bucket_start(interval::m1, now) - 1440 * kMinuteUs, one(40, 1, 0)},
         now);
  m.seed(interval::s1, candle{bucket_start(interval::s1, now) - 100 * kSecondUs, one(60, 2, 2)},
         now);
  m.seed(interval::m1, candle{bucket_start(interval::m1, now) - 2 * kMinuteUs, one(60, 2, 2)}, now);
  m.add(now - 10 * kSecondUs, one(70, 3, 3));
  EXPECT_TRUE(m.take_traded());
  EXPECT_FALSE(m.take_traded());
  const auto w = m.windows(now);
  EXPECT_EQ(w.day.trades, 3);  // the minute 1,440 back is out
  EXPECT_EQ(w.day.low.value, 50);
  EXPECT_EQ(w.day.close.value, 70);
  EXPECT_EQ(w.five_minutes.trades, 2);
  EXPECT_EQ(w.five_minutes.volume, 5);
  EXPECT_EQ(w.minute.trades, 1);
  EXPECT_EQ(w.minute.volume, 3);
}

}  // namespace
}  // namespace matchd::analytics
