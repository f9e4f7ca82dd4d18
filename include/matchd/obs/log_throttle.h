#pragma once

#include <chrono>
#include <cstdint>

namespace matchd::obs {

// Lets one log line through per interval and counts the ones held back, so something a
// client or the system can repeat (bad messages, failed accepts) cannot flood the log.
// Not thread-safe: one per thread that logs.
class log_throttle {
 public:
  explicit log_throttle(std::chrono::steady_clock::duration interval) : interval_(interval) {}

  // True when a line may be written now; `suppressed` is then the number held back since
  // the previous one.
  bool allow(std::uint64_t& suppressed) {
    const auto now = std::chrono::steady_clock::now();
    if (written_ && now - last_ < interval_) {
      ++held_back_;
      return false;
    }
    written_ = true;
    last_ = now;
    suppressed = held_back_;
    held_back_ = 0;
    return true;
  }

 private:
  std::chrono::steady_clock::duration interval_;
  std::chrono::steady_clock::time_point last_{};
  bool written_ = false;
  std::uint64_t held_back_ = 0;
};

}  // namespace matchd::obs
