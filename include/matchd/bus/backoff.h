#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace matchd::bus {

// How a retry delay is drawn below its ceiling d = min(max, initial * 2^failures).
enum class jitter : std::uint8_t {
  // Uniform in [0, d] (the "Full Jitter" of the AWS architecture blog). Spreads many
  // clients that failed together, at the price of sometimes retrying at once. For the
  // feed's reconnects: one of many clients of someone else's server.
  full,
  // Uniform in [d/2, d] ("Equal Jitter"). Still spreads retries that failed together, and
  // always waits at least half the ceiling, so a retry loop never spins against a server
  // that is down. For the store's writer and journal applier: two sessions against our
  // own database, where the minimum wait matters more than the spread.
  equal,
};

// Capped exponential backoff with jitter: the n-th consecutive delay is drawn from the
// range `jitter` gives below min(max, initial * 2^n). `initial` is at least 1 ms and `max`
// at least `initial`. Not thread-safe: one per retrying thread.
class retry_backoff {
 public:
  retry_backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, jitter kind,
                std::uint64_t seed);

  // The delay before the next attempt; advances the exponent.
  std::chrono::milliseconds next();
  // Upper bound of the delay next() will draw.
  std::chrono::milliseconds ceiling() const noexcept;
  // After a success: the next delay is drawn below `initial` again.
  void reset() noexcept { failures_ = 0; }
  unsigned failures() const noexcept { return failures_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  jitter kind_;
  unsigned failures_ = 0;
  std::mt19937_64 random_;
};

}  // namespace matchd::bus
