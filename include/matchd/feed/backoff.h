#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace matchd::feed {

// Capped exponential backoff with full jitter (the "Full Jitter" variant of the AWS
// architecture blog): the n-th consecutive delay is uniform in [0, min(max, initial * 2^n)].
// Spreads the reconnects of many clients after a shared outage instead of synchronizing
// them. Not thread-safe.
class reconnect_backoff {
 public:
  reconnect_backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max,
                    std::uint64_t seed);

  // The delay before the next attempt; advances the exponent.
  std::chrono::milliseconds next();
  // Upper bound of the delay next() will draw.
  std::chrono::milliseconds ceiling() const noexcept;
  // After a healthy connection: the next delay is drawn from [0, initial] again.
  void reset() noexcept { failures_ = 0; }
  unsigned failures() const noexcept { return failures_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  unsigned failures_ = 0;
  std::mt19937_64 random_;
};

}  // namespace matchd::feed
