// The log-linear latency histogram of the measuring tools (obs/latency_histogram.h), used
// by the load generator and the engine benchmark.

#include <gtest/gtest.h>
#include <matchd/obs/latency_histogram.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

namespace matchd::obs {
namespace {

TEST(latency_histogram, small_values_are_exact) {
  latency_histogram h;
  for (std::int64_t v = 0; v < 2048; ++v) h.record(v);
  EXPECT_EQ(h.count(), 2048u);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), 2047);
  EXPECT_EQ(h.value_at_percentile(50), 1023);
  EXPECT_EQ(h.value_at_percentile(100), 2047);
  EXPECT_DOUBLE_EQ(h.mean(), 1023.5);
}

TEST(latency_histogram, buckets_tile_the_range_without_gaps) {
  for (std::size_t i = 0; i + 1 < latency_histogram::kBucketCount; ++i) {
    ASSERT_EQ(latency_histogram::highest_equivalent(i) + 1,
              latency_histogram::lowest_equivalent(i + 1))
        << "bucket " << i;
    ASSERT_EQ(latency_histogram::index_of(latency_histogram::lowest_equivalent(i)), i);
    ASSERT_EQ(latency_histogram::index_of(latency_histogram::highest_equivalent(i)), i);
  }
}

TEST(latency_histogram, relative_error_stays_below_a_tenth_of_a_percent) {
  for (std::uint64_t v :
       {2049ull, 5'000ull, 123'456ull, 5'000'000ull, 987'654'321ull, (1ull << 39) + 12345}) {
    const std::size_t i = latency_histogram::index_of(v);
    const auto lo = latency_histogram::lowest_equivalent(i);
    const auto hi = latency_histogram::highest_equivalent(i);
    EXPECT_LE(lo, v);
    EXPECT_GE(hi, v);
    EXPECT_LE(static_cast<double>(hi - lo) / static_cast<double>(v), 1.0 / 1024) << v;
  }
}

TEST(latency_histogram, percentiles_match_a_sorted_sample) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(14.0, 1.0);  // around 1 ms in ns, long tail
  std::vector<std::int64_t> values;
  latency_histogram h;
  for (int i = 0; i < 100'000; ++i) {
    const auto v = static_cast<std::int64_t>(dist(rng));
    values.push_back(v);
    h.record(v);
  }
  std::sort(values.begin(), values.end());
  for (double p : {50.0, 90.0, 99.0, 99.9}) {
    const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * values.size())) - 1;
    const double exact = static_cast<double>(values[rank]);
    const double got = static_cast<double>(h.value_at_percentile(p));
    EXPECT_GE(got, exact) << "p" << p;
    EXPECT_LE(got, exact * (1.0 + 1.0 / 1024)) << "p" << p;
  }
  EXPECT_EQ(h.max(), values.back());
  EXPECT_EQ(h.min(), values.front());
}

TEST(latency_histogram, huge_and_negative_values_are_clamped_not_lost) {
  latency_histogram h;
  h.record(-5);
  h.record(std::int64_t{1} << 50);
  EXPECT_EQ(h.count(), 2u);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), std::int64_t{1} << 50);
  EXPECT_EQ(h.value_at_percentile(100), std::int64_t{1} << 50);
}

TEST(latency_histogram, merge_adds_counts_and_extremes) {
  latency_histogram a;
  latency_histogram b;
  a.record(10);
  a.record(30);
  b.record(20);
  b.record(5'000'000);
  a.merge(b);
  EXPECT_EQ(a.count(), 4u);
  EXPECT_EQ(a.min(), 10);
  EXPECT_EQ(a.max(), 5'000'000);
  EXPECT_EQ(a.value_at_percentile(50), 20);
  latency_histogram empty;
  a.merge(empty);
  EXPECT_EQ(a.count(), 4u);
  EXPECT_EQ(a.min(), 10);
}

}  // namespace
}  // namespace matchd::obs
