#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace matchd::obs {

// A log-linear histogram of non-negative integers (nanoseconds, clock ticks), in the
// manner of HdrHistogram, for the measuring tools: the engine benchmark (bench/) and the
// load generator (load-test/). The daemon's own latency metrics are Prometheus histograms
// (atomic_histogram.h).
//
// Values below 2^kSubBits are counted exactly; above that every power-of-two range is
// split into 2^(kSubBits-1) equal buckets, so a reported value is within 1/2^(kSubBits-1)
// (about 0.1%) of a recorded one. Values of 2^kMaxBits and more (18 minutes in ns) share
// the top bucket; min() and max() stay exact.
//
// Fixed memory, about 250 KiB inside the object (mind the stack); record() is a
// count-leading-zeros, two shifts and three compares, and never allocates, so it may be
// called once per engine command. Percentiles are a bucket's highest value (conservative),
// capped at max().
// Not thread-safe: keep one per thread and merge() them at the end.
class latency_histogram {
 public:
  static constexpr int kSubBits = 11;
  static constexpr int kMaxBits = 40;
  static constexpr std::size_t kBucketCount =
      (std::size_t{1} << kSubBits) + (kMaxBits - kSubBits) * (std::size_t{1} << (kSubBits - 1));

  // Negative values (a clock that went backwards) count as 0.
  void record(std::int64_t value) noexcept {
    value = std::max<std::int64_t>(value, 0);
    ++counts_[index_of(static_cast<std::uint64_t>(value))];
    if (total_ == 0) {
      min_ = max_ = value;
    } else {
      min_ = std::min(min_, value);
      max_ = std::max(max_, value);
    }
    ++total_;
    sum_ += static_cast<long double>(value);
  }

  void merge(const latency_histogram& other) noexcept {
    if (other.total_ == 0) return;
    for (std::size_t i = 0; i < kBucketCount; ++i) counts_[i] += other.counts_[i];
    if (total_ == 0) {
      min_ = other.min_;
      max_ = other.max_;
    } else {
      min_ = std::min(min_, other.min_);
      max_ = std::max(max_, other.max_);
    }
    total_ += other.total_;
    sum_ += other.sum_;
  }

  void reset() noexcept {
    counts_.fill(0);
    total_ = 0;
    min_ = max_ = 0;
    sum_ = 0;
  }

  [[nodiscard]] std::uint64_t count() const noexcept { return total_; }
  [[nodiscard]] std::int64_t min() const noexcept { return total_ ? min_ : 0; }
  [[nodiscard]] std::int64_t max() const noexcept { return total_ ? max_ : 0; }
  [[nodiscard]] double mean() const noexcept {
    return total_ ? static_cast<double>(sum_ / static_cast<long double>(total_)) : 0.0;
  }

  // The smallest recorded-bucket value v such that at least `percentile` % of the values
  // are <= v (the bucket's highest equivalent value, capped at max()). 0 when empty.
  [[nodiscard]] std::int64_t value_at_percentile(double percentile) const noexcept {
    if (total_ == 0) return 0;
    if (percentile >= 100.0) return max_;
    percentile = std::max(percentile, 0.0);
    auto wanted =
        static_cast<std::uint64_t>(std::ceil(percentile / 100.0 * static_cast<double>(total_)));
    wanted = std::clamp<std::uint64_t>(wanted, 1, total_);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBucketCount; ++i) {
      seen += counts_[i];
      if (seen >= wanted) return std::min(static_cast<std::int64_t>(highest_equivalent(i)), max_);
    }
    return max_;
  }

  // Bucket arithmetic, public for tests and for dumping the distribution.
  [[nodiscard]] static constexpr std::size_t index_of(std::uint64_t value) noexcept {
    value = std::min(value, kMaxValue);
    if (value < kLinearLimit) return static_cast<std::size_t>(value);
    const int shift = std::bit_width(value) - kSubBits;  // >= 1
    const std::uint64_t sub = value >> shift;            // in [kHalf, kLinearLimit)
    return static_cast<std::size_t>(kLinearLimit + static_cast<std::uint64_t>(shift - 1) * kHalf +
                                    (sub - kHalf));
  }
  [[nodiscard]] static constexpr std::uint64_t lowest_equivalent(std::size_t index) noexcept {
    if (index < kLinearLimit) return index;
    const std::uint64_t k = index - kLinearLimit;
    const std::uint64_t shift = k / kHalf + 1;
    return (k % kHalf + kHalf) << shift;
  }
  [[nodiscard]] static constexpr std::uint64_t highest_equivalent(std::size_t index) noexcept {
    if (index < kLinearLimit) return index;
    const std::uint64_t shift = (index - kLinearLimit) / kHalf + 1;
    return lowest_equivalent(index) + (std::uint64_t{1} << shift) - 1;
  }
  [[nodiscard]] std::uint64_t count_at_index(std::size_t index) const noexcept {
    return counts_[index];
  }

 private:
  static constexpr std::uint64_t kLinearLimit = std::uint64_t{1} << kSubBits;
  static constexpr std::uint64_t kHalf = kLinearLimit / 2;
  static constexpr std::uint64_t kMaxValue = (std::uint64_t{1} << kMaxBits) - 1;

  std::array<std::uint64_t, kBucketCount> counts_{};
  std::uint64_t total_ = 0;
  std::int64_t min_ = 0;
  std::int64_t max_ = 0;
  long double sum_ = 0;
};

static_assert(latency_histogram::index_of(2047) == 2047);
static_assert(latency_histogram::index_of(2048) == 2048);
static_assert(latency_histogram::index_of(std::numeric_limits<std::uint64_t>::max()) ==
              latency_histogram::kBucketCount - 1);
static_assert(latency_histogram::highest_equivalent(latency_histogram::kBucketCount - 1) ==
              (std::uint64_t{1} << latency_histogram::kMaxBits) - 1);

}  // namespace matchd::obs
