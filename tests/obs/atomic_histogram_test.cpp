#include <gtest/gtest.h>
#include <matchd/obs/atomic_histogram.h>
#include <matchd/obs/metrics.h>

#include <cmath>
#include <string>
#include <thread>
#include <vector>

namespace matchd::obs {
namespace {

prometheus::ClientMetric::Histogram only_histogram(
    const std::vector<prometheus::MetricFamily>& families, const std::string& name) {
  for (const auto& f : families) {
    if (f.name == name) {
      EXPECT_EQ(f.type, prometheus::MetricType::Histogram);
      EXPECT_EQ(f.metric.size(), 1u);
      return f.metric.at(0).histogram;
    }
  }
  throw std::runtime_error("no family " + name);
}

TEST(atomic_histogram, buckets_are_cumulative_and_upper_bounds_inclusive) {
  atomic_histogram h("h", "help", {1, 2, 4});
  for (double v : {0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 100.0}) h.observe(v);
  const auto hist = only_histogram(h.Collect(), "h");
  ASSERT_EQ(hist.bucket.size(), 4u);
  EXPECT_EQ(hist.bucket[0].upper_bound, 1.0);
  EXPECT_EQ(hist.bucket[0].cumulative_count, 2u);  // 0.5, 1.0
  EXPECT_EQ(hist.bucket[1].cumulative_count, 4u);  // + 1.5, 2.0
  EXPECT_EQ(hist.bucket[2].cumulative_count, 6u);  // + 3.0, 4.0
  EXPECT_TRUE(std::isinf(hist.bucket[3].upper_bound));
  EXPECT_EQ(hist.bucket[3].cumulative_count, 7u);  // + 100
  EXPECT_EQ(hist.sample_count, 7u);
  EXPECT_DOUBLE_EQ(hist.sample_sum, 112.0);
}

TEST(atomic_histogram, concurrent_observers_lose_nothing) {
  atomic_histogram h("h", "help", {0.5});
  constexpr int kPerThread = 200000;
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&h, t] {
      for (int i = 0; i < kPerThread; ++i) h.observe(t == 0 ? 0.25 : 1.0);
    });
  }
  for (auto& t : threads) t.join();
  const auto hist = only_histogram(h.Collect(), "h");
  EXPECT_EQ(hist.bucket[0].cumulative_count, static_cast<std::uint64_t>(kPerThread));
  EXPECT_EQ(hist.sample_count, 2u * kPerThread);
  EXPECT_DOUBLE_EQ(hist.sample_sum, kPerThread * 0.25 + kPerThread * 1.0);
}

TEST(registry, serializes_atomic_histograms_with_the_other_metrics) {
  const auto r = make_registry();
  r->add_histogram("order_latency_seconds", "Receipt to acknowledgement", latency_buckets())
      .observe(0.003);
  const std::string text = serialize(*r);
  EXPECT_NE(text.find("# TYPE order_latency_seconds histogram"), std::string::npos) << text;
  EXPECT_NE(text.find("order_latency_seconds_bucket{le=\"0.005\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("order_latency_seconds_bucket{le=\"0.0025\"} 0"), std::string::npos) << text;
  EXPECT_NE(text.find("order_latency_seconds_bucket{le=\"+Inf\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("order_latency_seconds_count 1"), std::string::npos) << text;
}

}  // namespace
}  // namespace matchd::obs
