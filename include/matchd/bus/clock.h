#pragma once

#include <matchd/engine/types.h>

#include <chrono>
#include <cstdint>

namespace matchd::bus {

// The two clocks the stages stamp on what crosses the bus. The engine reads no clock: the
// producer of a command stamps it (gateway, feed) and the stages after the engine read
// the stamps. Header-only so a stamp costs a clock read and nothing else.

// Monotonic nanoseconds, for durations only (engine_request::received_ns, and from it the
// receipt-to-acknowledgement latency). Its epoch is arbitrary: never shown to anyone.
inline std::int64_t steady_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Microseconds since the Unix epoch, for the times the API shows (an order's received_at,
// a book snapshot's timestamp). May jump with the system clock: never subtract two.
inline engine::timestamp_us wall_us() noexcept {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace matchd::bus
