#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace matchd::load {

// A log-linear histogram of non-negative integers (nanoseconds here), in the manner of
// HdrHistogram: values below 2^kSubBits are counted exactly; above that every power-of-two
// range is split into 2^(kSubBits-1) equal buckets, so a reported value is within
// 1/2^(kSubBits-1) (about 0.1%) of a recorded one. Values of 2^kMaxBits and more (18 minutes
// in ns) share the top bucket; min() and max() stay exact.
//
// Fixed memory (about 250 KiB) taken at construction; record() is O(1) and never allocates.
// Not thread-safe: keep one per thread and merge() them at the end.
class latency_histogram {
 public:
  static constexpr int kSubBits = 11;
  static constexpr int kMaxBits = 40;
  static constexpr std::size_t kBucketCount =
      (std::size_t{1} << kSubBits) + (kMaxBits - kSubBits) * (std::size_t{1} << (kSubBits - 1));

  latency_histogram();

  // Negative values (a clock that went backwards) count as 0.
  void record(std::int64_t value) noexcept;
  void merge(const latency_histogram& other) noexcept;
  void reset() noexcept;

  [[nodiscard]] std::uint64_t count() const noexcept { return total_; }
  [[nodiscard]] std::int64_t min() const noexcept { return total_ ? min_ : 0; }
  [[nodiscard]] std::int64_t max() const noexcept { return total_ ? max_ : 0; }
  [[nodiscard]] double mean() const noexcept;
  // The smallest recorded-bucket value v such that at least `percentile` % of the values
  // are <= v (the bucket's highest equivalent value, capped at max()). 0 when empty.
  [[nodiscard]] std::int64_t value_at_percentile(double percentile) const noexcept;

  // Bucket arithmetic, public for tests and for dumping the distribution.
  [[nodiscard]] static std::size_t index_of(std::uint64_t value) noexcept;
  [[nodiscard]] static std::uint64_t lowest_equivalent(std::size_t index) noexcept;
  [[nodiscard]] static std::uint64_t highest_equivalent(std::size_t index) noexcept;
  [[nodiscard]] std::uint64_t count_at_index(std::size_t index) const noexcept {
    return counts_[index];
  }

 private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t total_ = 0;
  std::int64_t min_ = 0;
  std::int64_t max_ = 0;
  long double sum_ = 0;
};

}  // namespace matchd::load
