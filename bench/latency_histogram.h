#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace matchd::bench {

// A log-linear (HDR-style) histogram of unsigned 64-bit values, e.g. clock ticks.
//
// Values below 2^kPrecisionBits are counted exactly; above, each power of two is split
// into 2^(kPrecisionBits-1) equal buckets, so a bucket's width is at most 1/128 of its
// lower bound (< 0.8% relative error). Fixed memory (~60 KiB), no allocation, and
// record() is a count-leading-zeros, two shifts and an increment: cheap enough to call
// once per engine command. Percentiles are reported as the bucket's upper bound
// (conservative), capped at the largest value recorded.
//
// Not thread-safe.
class latency_histogram {
 public:
  static constexpr int kPrecisionBits = 8;

  void record(std::uint64_t value) noexcept {
    ++counts_[bucket_of(value)];
    ++total_;
    max_ = std::max(max_, value);
    min_ = std::min(min_, value);
  }

  void reset() noexcept {
    counts_.fill(0);
    total_ = 0;
    max_ = 0;
    min_ = std::numeric_limits<std::uint64_t>::max();
  }

  void merge(const latency_histogram& other) noexcept {
    for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    total_ += other.total_;
    max_ = std::max(max_, other.max_);
    min_ = std::min(min_, other.min_);
  }

  std::uint64_t count() const noexcept { return total_; }
  std::uint64_t max() const noexcept { return max_; }
  std::uint64_t min() const noexcept { return total_ == 0 ? 0 : min_; }

  // The smallest recorded-bucket upper bound at or below which `fraction` (0..1] of the
  // values lie. Zero when empty.
  std::uint64_t value_at(double fraction) const noexcept {
    if (total_ == 0) return 0;
    const double wanted = fraction * static_cast<double>(total_);
    auto rank = static_cast<std::uint64_t>(wanted);
    if (static_cast<double>(rank) < wanted) ++rank;  // ceil without <cmath>
    rank = std::clamp<std::uint64_t>(rank, 1, total_);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::min(upper_bound_of(i), max_);
    }
    return max_;
  }

  // Bucket layout, public for the self-check in the benchmark.
  static constexpr std::size_t kLinear = std::size_t{1} << kPrecisionBits;
  static constexpr std::size_t kHalf = kLinear / 2;
  static constexpr std::size_t kBuckets = kLinear + (64 - kPrecisionBits) * kHalf;

  static constexpr std::size_t bucket_of(std::uint64_t v) noexcept {
    if (v < kLinear) return static_cast<std::size_t>(v);
    const int shift = std::bit_width(v) - kPrecisionBits;               // >= 1
    const std::size_t mantissa = static_cast<std::size_t>(v >> shift);  // [kHalf, kLinear)
    return kLinear + static_cast<std::size_t>(shift - 1) * kHalf + (mantissa - kHalf);
  }

  static constexpr std::uint64_t lower_bound_of(std::size_t bucket) noexcept {
    if (bucket < kLinear) return bucket;
    const std::size_t shift = (bucket - kLinear) / kHalf + 1;
    const std::uint64_t mantissa = (bucket - kLinear) % kHalf + kHalf;
    return mantissa << shift;
  }

  static constexpr std::uint64_t upper_bound_of(std::size_t bucket) noexcept {
    if (bucket < kLinear) return bucket;
    const std::size_t shift = (bucket - kLinear) / kHalf + 1;
    return lower_bound_of(bucket) + ((std::uint64_t{1} << shift) - 1);
  }

 private:
  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t total_ = 0;
  std::uint64_t max_ = 0;
  std::uint64_t min_ = std::numeric_limits<std::uint64_t>::max();
};

static_assert(latency_histogram::bucket_of(255) == 255);
static_assert(latency_histogram::bucket_of(256) == 256);
static_assert(latency_histogram::lower_bound_of(latency_histogram::bucket_of(1000)) <= 1000);
static_assert(latency_histogram::upper_bound_of(latency_histogram::bucket_of(1000)) >= 1000);
static_assert(latency_histogram::bucket_of(std::numeric_limits<std::uint64_t>::max()) ==
              latency_histogram::kBuckets - 1);
static_assert(latency_histogram::upper_bound_of(latency_histogram::kBuckets - 1) ==
              std::numeric_limits<std::uint64_t>::max());

}  // namespace matchd::bench
