#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "wait.h"

// What a thread of this process is doing, read from /proc/self/task: lets a test wait until
// another thread has really gone to sleep (blocked in the kernel) instead of sleeping for a
// guessed time and hoping it has.
namespace matchd::test {

// The calling thread's kernel id (gettid).
pid_t current_thread_id() noexcept;

// The kernel ids of this process's threads, the caller's included.
std::vector<pid_t> threads_of_this_process();

// The thread of this process named `name` (pthread_setname_np, /proc/self/task/<tid>/comm),
// nullopt while there is none.
std::optional<pid_t> thread_named(std::string_view name);

// A thread blocked in futex(2) waiting on `address` while it holds `value`, with a timeout or
// without.
struct futex_wait {
  std::uintptr_t address = 0;
  std::uint32_t value = 0;
  bool timed = false;
  bool operator==(const futex_wait&) const = default;
};

// The futex wait thread `tid` of this process is blocked in, or nullopt while it runs or is
// blocked in anything else (from /proc/self/task/<tid>/syscall). A new value for the same
// address tells that the thread woke and went back to sleep in between.
std::optional<futex_wait> futex_wait_of(pid_t tid);

// Waits until the thread named `name` is asleep in a futex wait that `accept` approves;
// returns that wait, or nullopt after `timeout`. What a test waits for instead of sleeping
// "long enough for the other thread to fall asleep".
template <class Accept>
std::optional<futex_wait> wait_until_asleep(std::string_view name,
                                            std::chrono::milliseconds timeout, Accept accept) {
  std::optional<futex_wait> wait;
  const bool asleep = wait_until(
      [&] {
        const std::optional<pid_t> tid = thread_named(name);
        wait = tid ? futex_wait_of(*tid) : std::nullopt;
        return wait && accept(*wait);
      },
      timeout, std::chrono::milliseconds(1));
  return asleep ? wait : std::nullopt;
}

inline std::optional<futex_wait> wait_until_asleep(std::string_view name,
                                                   std::chrono::milliseconds timeout) {
  return wait_until_asleep(name, timeout, [](const futex_wait&) { return true; });
}

}  // namespace matchd::test
