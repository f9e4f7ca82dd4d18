#include <linux/futex.h>
#include <matchd/bus/idle_waiter.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <ctime>

namespace matchd::bus::detail {
namespace {

// The kernel operates on the plain 32-bit word inside the atomic.
static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);

std::uint32_t* address_of(std::atomic<std::uint32_t>& word) noexcept {
  return reinterpret_cast<std::uint32_t*>(&word);
}

// Errors are ignored on purpose: EAGAIN (value changed), EINTR and ETIMEDOUT all mean
// "return and let the caller re-check", which is what every caller does anyway.
void futex(std::atomic<std::uint32_t>& word, int op, std::uint32_t value,
           const timespec* timeout) noexcept {
  syscall(SYS_futex, address_of(word), op, value, timeout, nullptr, 0);
}

}  // namespace

void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected) noexcept {
  futex(word, FUTEX_WAIT_PRIVATE, expected, nullptr);
}

void futex_wait_for(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                    std::chrono::nanoseconds timeout) noexcept {
  if (timeout <= std::chrono::nanoseconds::zero()) return;
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  timespec relative{};
  relative.tv_sec = static_cast<std::time_t>(seconds.count());
  relative.tv_nsec = static_cast<long>((timeout - seconds).count());
  // FUTEX_WAIT measures a relative timeout on CLOCK_MONOTONIC, the clock behind
  // std::chrono::steady_clock on Linux.
  futex(word, FUTEX_WAIT_PRIVATE, expected, &relative);
}

void futex_wake_one(std::atomic<std::uint32_t>& word) noexcept {
  futex(word, FUTEX_WAKE_PRIVATE, 1, nullptr);
}

}  // namespace matchd::bus::detail
