#pragma once

#include <chrono>
#include <cstdint>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define MATCHD_BENCH_HAS_TSC 1
#else
#define MATCHD_BENCH_HAS_TSC 0
#endif

namespace matchd::bench {

// A cheap per-operation clock for latency histograms: the TSC on x86 (invariant TSC
// assumed: `constant_tsc nonstop_tsc` in /proc/cpuinfo), std::chrono::steady_clock
// elsewhere. start()/stop() fence so the measured work cannot drift out of the window:
// LFENCE;RDTSC before, RDTSCP;LFENCE after (the Intel/AMD-recommended pairing). A pair
// costs a few dozen cycles; the benchmark reports that overhead next to the percentiles
// instead of subtracting it.
struct cycle_clock {
  static std::uint64_t start() noexcept {
#if MATCHD_BENCH_HAS_TSC
    _mm_lfence();
    return __rdtsc();
#else
    return now_ns();
#endif
  }

  static std::uint64_t stop() noexcept {
#if MATCHD_BENCH_HAS_TSC
    unsigned aux = 0;
    const std::uint64_t t = __rdtscp(&aux);
    _mm_lfence();
    return t;
#else
    return now_ns();
#endif
  }

  // Ticks per nanosecond, measured once against steady_clock over ~100 ms.
  static double ticks_per_ns() {
    static const double kRatio = calibrate();
    return kRatio;
  }

 private:
  static std::uint64_t now_ns() noexcept {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::steady_clock::now().time_since_epoch())
                                          .count());
  }

  static double calibrate() {
#if MATCHD_BENCH_HAS_TSC
    const std::uint64_t ns0 = now_ns();
    const std::uint64_t t0 = start();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const std::uint64_t t1 = stop();
    const std::uint64_t ns1 = now_ns();
    return static_cast<double>(t1 - t0) / static_cast<double>(ns1 - ns0);
#else
    return 1.0;
#endif
  }
};

}  // namespace matchd::bench
