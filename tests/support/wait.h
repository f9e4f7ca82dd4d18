#pragma once

#include <algorithm>
#include <chrono>
#include <thread>

namespace matchd::test {

// Calls `done` until it returns true or `timeout` has passed, pausing `poll` between calls;
// returns whether it did. The last call is made at or after the deadline, so a condition that
// holds by then is never reported as missed.
//
// The one polling loop of the tests. Wait for what can be observed (a ready file, a log line,
// a counter, a metric, a row, a port accepting) rather than sleeping for a guessed time, and
// say what never happened:
//   ASSERT_TRUE(test::wait_until([&] { return load.acknowledged() >= 200; }, 15s))
//       << "no load before the outage";
// `done` runs on the calling thread; it may have side effects (read a value it then keeps).
template <class Done>
[[nodiscard]] bool wait_until(Done&& done, std::chrono::milliseconds timeout,
                              std::chrono::milliseconds poll = std::chrono::milliseconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    // Polling interval, bounded by the deadline: the only sleep of the waits.
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(poll, deadline - now));
  }
  return true;
}

}  // namespace matchd::test
