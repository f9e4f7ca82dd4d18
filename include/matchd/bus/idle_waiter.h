#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <type_traits>

namespace matchd::bus {

namespace detail {

// futex(2) on a process-private 32-bit word. Each may return early (spurious wake-up,
// signal, value already changed); callers re-check their own condition.
void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected) noexcept;
void futex_wait_for(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                    std::chrono::nanoseconds timeout) noexcept;
void futex_wake_one(std::atomic<std::uint32_t>& word) noexcept;

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

// A full (StoreLoad) fence. ThreadSanitizer does not model fences and GCC warns about
// them under -fsanitize=thread; the TSAN runtime still executes a real fence, and no
// data in this module relies on a fence for happens-before (that comes from the queues'
// release/acquire), so silencing the warning keeps one code path for both builds.
inline void full_fence() noexcept {
#if defined(__GNUC__) && !defined(__clang__) && defined(__SANITIZE_THREAD__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wtsan"
#endif
  std::atomic_thread_fence(std::memory_order_seq_cst);
#if defined(__GNUC__) && !defined(__clang__) && defined(__SANITIZE_THREAD__)
#pragma GCC diagnostic pop
#endif
}

}  // namespace detail

// An eventcount: lets one consumer thread that polls several queues sleep when all are
// empty, while producers pay almost nothing to wake it.
//
// Contract:
// - wait / wait_until are called by one consumer thread only (per idle_waiter).
// - notify is called by any number of producers, each time after it has made the
//   consumer's ready() condition true (e.g. after every successful try_push). When the
//   consumer is not asleep it costs a full fence and one relaxed load: no write to a
//   shared line, no syscall.
// - ready() is a cheap, side-effect-free check of the consumer's queues; it is called
//   many times and must not throw.
//
// Protocol (no lost wake-ups). state_ holds a sleeping flag in bit 0 and an epoch in
// bits 1..31; the futex sleeps on the whole word.
//   consumer: key = fetch_or(sleeping) | sleeping;   // announce
//             fence;  if (ready()) { clear flag; return; }
//             futex_wait(state_, key);                // sleeps only if state_ == key
//   producer: push;  fence;  s = load(state_);
//             if (s & sleeping) and CAS(s -> s + 1): futex_wake
// Adding 1 to a word whose bit 0 is set clears the flag and bumps the epoch in one step.
// The two fences make this Dekker's pattern: either the consumer's ready() sees the push,
// or the producer's load sees the flag. In the second case the producer changes state_
// away from `key`, so the futex_wait either does not sleep (the kernel compares the word
// atomically with queueing the waiter) or is woken. Only the consumer sets the flag and a
// producer bumps the epoch only while it is set, so between an announcement and its
// futex_wait state_ changes at most once and cannot come back to `key` (no ABA). The CAS
// lets only one of several racing producers pay for the wake syscall. After any return
// from futex_wait the consumer announces again (a seq_cst RMW that reads the waking
// producer's CAS, ordering its push before the next ready()) and re-checks.
//
// Aligned to a cache line of its own: producers read it on every notify.
class alignas(64) idle_waiter {
 public:
  // Default bound on the spin before sleeping. The target box has two cores shared with
  // PostgreSQL and the gateway, so the spin is kept short (a few microseconds); a
  // futex wake costs a few microseconds more than a spin hit.
  static constexpr std::uint32_t kDefaultSpinIterations = 128;

  idle_waiter() noexcept = default;
  explicit idle_waiter(std::uint32_t spin_iterations) noexcept
      : spin_iterations_(spin_iterations) {}

  idle_waiter(const idle_waiter&) = delete;
  idle_waiter& operator=(const idle_waiter&) = delete;

  // Any thread, after making ready() true.
  void notify() noexcept {
    detail::full_fence();
    std::uint32_t state = state_.load(std::memory_order_relaxed);
    while ((state & kSleeping) != 0) {
      if (state_.compare_exchange_weak(state, state + 1, std::memory_order_seq_cst,
                                       std::memory_order_relaxed)) {
        detail::futex_wake_one(state_);
        return;
      }
    }
  }

  // Consumer thread only. Returns once ready() is true.
  template <class Ready>
  void wait(Ready&& ready) {
    static_assert(std::is_invocable_r_v<bool, Ready&>, "ready must be callable as bool()");
    if (spin(ready)) return;
    for (;;) {
      const std::uint32_t key = announce_sleep();
      if (ready()) break;
      detail::futex_wait(state_, key);
    }
    cancel_sleep();
  }

  // Consumer thread only. Returns true once ready() is true, or false if it is still
  // false at `deadline`.
  template <class Ready>
  [[nodiscard]] bool wait_until(Ready&& ready, std::chrono::steady_clock::time_point deadline) {
    static_assert(std::is_invocable_r_v<bool, Ready&>, "ready must be callable as bool()");
    if (spin(ready)) return true;
    bool result = false;
    for (;;) {
      const std::uint32_t key = announce_sleep();
      if (ready()) {
        result = true;
        break;
      }
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) break;
      detail::futex_wait_for(state_, key, deadline - now);
    }
    cancel_sleep();
    return result;
  }

  // Consumer thread only. Like wait_until with a relative timeout.
  template <class Ready, class Rep, class Period>
  [[nodiscard]] bool wait_for(Ready&& ready, std::chrono::duration<Rep, Period> timeout) {
    return wait_until(ready, std::chrono::steady_clock::now() +
                                 std::chrono::duration_cast<std::chrono::nanoseconds>(timeout));
  }

 private:
  static constexpr std::uint32_t kSleeping = 1;

  template <class Ready>
  bool spin(Ready& ready) {
    if (ready()) return true;
    for (std::uint32_t i = 0; i < spin_iterations_; ++i) {
      detail::cpu_relax();
      if (ready()) return true;
    }
    return false;
  }

  // Returns the futex key: the value state_ holds while no producer has reacted.
  std::uint32_t announce_sleep() noexcept {
    const std::uint32_t key = state_.fetch_or(kSleeping, std::memory_order_seq_cst) | kSleeping;
    detail::full_fence();
    return key;
  }

  // Producers that still see the flag only cost a spare wake syscall, so relaxed is enough.
  void cancel_sleep() noexcept { state_.fetch_and(~kSleeping, std::memory_order_relaxed); }

  // Producers read this line on every notify; the consumer writes it only around sleeps.
  std::atomic<std::uint32_t> state_{0};
  const std::uint32_t spin_iterations_ = kDefaultSpinIterations;
};

}  // namespace matchd::bus
