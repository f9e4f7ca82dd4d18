// bus::retry_backoff: the ceiling doubles up to the cap, and each jitter draws from its
// range below the ceiling (full: [0, d], equal: [d/2, d]) and nowhere else.
#include <gtest/gtest.h>
#include <matchd/bus/backoff.h>

#include <algorithm>

namespace matchd::bus {
namespace {

using std::chrono::milliseconds;

// Draws `n` delays at the current ceiling (resetting to it each time) and returns the
// smallest and largest.
std::pair<milliseconds, milliseconds> spread(retry_backoff& b, unsigned failures, int n) {
  milliseconds low = milliseconds::max();
  milliseconds high = milliseconds::min();
  for (int i = 0; i < n; ++i) {
    b.reset();
    for (unsigned f = 0; f < failures; ++f) (void)b.next();
    const milliseconds d = b.next();
    low = std::min(low, d);
    high = std::max(high, d);
  }
  return {low, high};
}

TEST(retry_backoff, doubles_the_ceiling_up_to_the_cap) {
  for (const jitter kind : {jitter::full, jitter::equal}) {
    retry_backoff b(milliseconds(100), milliseconds(1000), kind, 1);
    const milliseconds expected[] = {milliseconds(100), milliseconds(200),  milliseconds(400),
                                     milliseconds(800), milliseconds(1000), milliseconds(1000)};
    for (const milliseconds ceiling : expected) {
      EXPECT_EQ(b.ceiling(), ceiling);
      const milliseconds d = b.next();
      EXPECT_GE(d.count(), 0);
      EXPECT_LE(d, ceiling);
    }
    for (int i = 0; i < 1000; ++i) EXPECT_LE(b.next(), milliseconds(1000));
    EXPECT_EQ(b.ceiling(), milliseconds(1000));
  }
}

TEST(retry_backoff, full_jitter_draws_from_zero_to_the_ceiling) {
  retry_backoff b(milliseconds(1000), milliseconds(1000), jitter::full, 42);
  const auto [low, high] = spread(b, 0, 2000);
  // Uniform over [0, 1000]: both ends get visited, not just a band below the ceiling.
  EXPECT_GE(low, milliseconds(0));
  EXPECT_LT(low, milliseconds(50));
  EXPECT_GT(high, milliseconds(950));
  EXPECT_LE(high, milliseconds(1000));
}

TEST(retry_backoff, equal_jitter_draws_from_half_the_ceiling_to_the_ceiling) {
  retry_backoff b(milliseconds(100), milliseconds(1000), jitter::equal, 42);
  for (unsigned failures = 0; failures < 6; ++failures) {
    b.reset();
    for (unsigned f = 0; f < failures; ++f) (void)b.next();
    const milliseconds ceiling = b.ceiling();
    const auto [low, high] = spread(b, failures, 2000);
    EXPECT_GE(low, ceiling / 2) << "failures=" << failures;
    EXPECT_LT(low, ceiling / 2 + ceiling / 20) << "failures=" << failures;
    EXPECT_GT(high, ceiling - ceiling / 20) << "failures=" << failures;
    EXPECT_LE(high, ceiling) << "failures=" << failures;
  }
}

TEST(retry_backoff, reset_starts_over) {
  retry_backoff b(milliseconds(10), milliseconds(10'000), jitter::full, 7);
  for (int i = 0; i < 10; ++i) (void)b.next();
  EXPECT_EQ(b.failures(), 10u);
  EXPECT_EQ(b.ceiling(), milliseconds(10'000));
  b.reset();
  EXPECT_EQ(b.ceiling(), milliseconds(10));
  EXPECT_LE(b.next(), milliseconds(10));
}

TEST(retry_backoff, survives_huge_failure_counts_and_odd_settings) {
  retry_backoff b(milliseconds(0), milliseconds(0), jitter::full, 3);  // clamped to 1 ms
  for (int i = 0; i < 100'000; ++i) EXPECT_LE(b.next(), milliseconds(1));
  retry_backoff c(milliseconds(500), milliseconds(100), jitter::equal, 3);  // max below initial
  EXPECT_EQ(c.ceiling(), milliseconds(500));
  const milliseconds d = c.next();
  EXPECT_GE(d, milliseconds(250));
  EXPECT_LE(d, milliseconds(500));
}

}  // namespace
}  // namespace matchd::bus
