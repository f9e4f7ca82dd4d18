#include "latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace matchd::load {

namespace {
constexpr std::uint64_t kLinearLimit = std::uint64_t{1} << latency_histogram::kSubBits;
constexpr std::uint64_t kHalf = kLinearLimit / 2;
constexpr std::uint64_t kMaxValue = (std::uint64_t{1} << latency_histogram::kMaxBits) - 1;
}  // namespace

latency_histogram::latency_histogram() : counts_(kBucketCount, 0) {}

std::size_t latency_histogram::index_of(std::uint64_t value) noexcept {
  value = std::min(value, kMaxValue);
  if (value < kLinearLimit) return static_cast<std::size_t>(value);
  const int shift = std::bit_width(value) - kSubBits;  // >= 1
  const std::uint64_t sub = value >> shift;            // in [kHalf, kLinearLimit)
  return static_cast<std::size_t>(kLinearLimit + static_cast<std::uint64_t>(shift - 1) * kHalf +
                                  (sub - kHalf));
}

std::uint64_t latency_histogram::lowest_equivalent(std::size_t index) noexcept {
  if (index < kLinearLimit) return index;
  const std::uint64_t k = index - kLinearLimit;
  const std::uint64_t shift = k / kHalf + 1;
  return (k % kHalf + kHalf) << shift;
}

std::uint64_t latency_histogram::highest_equivalent(std::size_t index) noexcept {
  if (index < kLinearLimit) return index;
  const std::uint64_t shift = (index - kLinearLimit) / kHalf + 1;
  return lowest_equivalent(index) + (std::uint64_t{1} << shift) - 1;
}

void latency_histogram::record(std::int64_t value) noexcept {
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

void latency_histogram::merge(const latency_histogram& other) noexcept {
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

void latency_histogram::reset() noexcept {
  std::fill(counts_.begin(), counts_.end(), 0);
  total_ = 0;
  min_ = max_ = 0;
  sum_ = 0;
}

double latency_histogram::mean() const noexcept {
  return total_ ? static_cast<double>(sum_ / static_cast<long double>(total_)) : 0.0;
}

std::int64_t latency_histogram::value_at_percentile(double percentile) const noexcept {
  if (total_ == 0) return 0;
  if (percentile >= 100.0) return max_;
  percentile = std::max(percentile, 0.0);
  auto wanted =
      static_cast<std::uint64_t>(std::ceil(percentile / 100.0 * static_cast<double>(total_)));
  wanted = std::clamp<std::uint64_t>(wanted, 1, total_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBucketCount; ++i) {
    seen += counts_[i];
    if (seen >= wanted) {
      return std::min(static_cast<std::int64_t>(highest_equivalent(i)), max_);
    }
  }
  return max_;
}

}  // namespace matchd::load
