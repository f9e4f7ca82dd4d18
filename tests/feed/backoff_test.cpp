#include <gtest/gtest.h>
#include <matchd/feed/backoff.h>

namespace matchd::feed {
namespace {

using std::chrono::milliseconds;

TEST(reconnect_backoff, doubles_the_ceiling_up_to_the_cap) {
  reconnect_backoff b(milliseconds(100), milliseconds(1000), 1);
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

TEST(reconnect_backoff, is_fully_jittered) {
  reconnect_backoff b(milliseconds(1000), milliseconds(1000), 42);
  milliseconds low{1000};
  milliseconds high{0};
  for (int i = 0; i < 2000; ++i) {
    const milliseconds d = b.next();
    low = std::min(low, d);
    high = std::max(high, d);
  }
  // Uniform over [0, 1000]: both ends get visited, not just a band around the ceiling.
  EXPECT_LT(low, milliseconds(50));
  EXPECT_GT(high, milliseconds(950));
}

TEST(reconnect_backoff, reset_starts_over) {
  reconnect_backoff b(milliseconds(10), milliseconds(10'000), 7);
  for (int i = 0; i < 10; ++i) b.next();
  EXPECT_EQ(b.failures(), 10u);
  EXPECT_EQ(b.ceiling(), milliseconds(10'000));
  b.reset();
  EXPECT_EQ(b.ceiling(), milliseconds(10));
  EXPECT_LE(b.next(), milliseconds(10));
}

TEST(reconnect_backoff, survives_huge_failure_counts_and_odd_settings) {
  reconnect_backoff b(milliseconds(0), milliseconds(0), 3);  // clamped to 1 ms
  for (int i = 0; i < 100'000; ++i) EXPECT_LE(b.next(), milliseconds(1));
  reconnect_backoff c(milliseconds(500), milliseconds(100), 3);  // max below initial
  EXPECT_EQ(c.ceiling(), milliseconds(500));
}

}  // namespace
}  // namespace matchd::feed
