#pragma once

#include <chrono>
#include <random>

namespace matchd::store {

// Full jitter for retries: a random wait between half of `delay` and all of it, so writers
// that failed together do not come back together.
inline std::chrono::milliseconds jittered(std::chrono::milliseconds delay) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  return std::chrono::milliseconds(
      std::uniform_int_distribution<long long>(delay.count() / 2, delay.count())(random));
}

}  // namespace matchd::store
