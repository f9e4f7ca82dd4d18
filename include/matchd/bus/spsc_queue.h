#pragma once

#include <atomic>
#include <bit>
#include <cassert>
#include <cstddef>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace matchd::bus {

// Destructive-interference distance we design for (x86-64 and most aarch64 parts).
// std::hardware_destructive_interference_size is avoided on purpose: GCC warns that its
// value may differ between translation units compiled with different -mtune.
inline constexpr std::size_t kCacheLineSize = 64;

// Bounded lock-free ring between exactly one producer thread and one consumer thread.
//
// Contract:
// - try_push / try_emplace are called from the producer thread only; front / pop from
//   the consumer thread only. size / empty / capacity may be called from either, and
//   size / empty are then only a snapshot.
// - Nothing blocks and nothing allocates after construction. A full queue makes
//   try_push return false; the caller turns that into back-pressure (HTTP 503), it never
//   spins here.
// - Elements live in raw storage: T needs no default constructor, and it is
//   constructed in place on push and destroyed on pop (or by ~spsc_queue).
//
// Indices are free-running 64-bit counters masked into a power-of-two ring, so all
// `capacity()` slots are usable and full/empty need no spare slot. Each side keeps a
// private cached copy of the other side's index and re-reads the shared one only when
// the cache says full (producer) or empty (consumer), which keeps the two index cache
// lines from bouncing on every operation.
template <class T>
class spsc_queue {
  static_assert(std::is_nothrow_move_constructible_v<T>,
                "spsc_queue<T>: T must be nothrow move constructible");
  static_assert(std::is_nothrow_destructible_v<T>,
                "spsc_queue<T>: T must be nothrow destructible (pop is noexcept)");

 public:
  using value_type = T;

  // Rounds `capacity` up to a power of two (at least 1). Allocates the ring once;
  // throws std::bad_alloc or std::length_error (start-up only).
  explicit spsc_queue(std::size_t capacity)
      : capacity_(round_capacity(capacity)),
        mask_(capacity_ - 1),
        storage_(allocator_type{}.allocate(capacity_ + 2 * kPaddingSlots)) {}

  spsc_queue(const spsc_queue&) = delete;
  spsc_queue& operator=(const spsc_queue&) = delete;

  // Not thread-safe: both sides must be done with the queue.
  ~spsc_queue() {
    const std::size_t write = write_index_.load(std::memory_order_relaxed);
    for (std::size_t read = read_index_.load(std::memory_order_relaxed); read != write; ++read) {
      std::destroy_at(slot(read));
    }
    allocator_type{}.deallocate(storage_, capacity_ + 2 * kPaddingSlots);
  }

  // Producer only. Constructs T(args...) at the back; false (and nothing constructed)
  // when full. If T's constructor throws, the queue is unchanged.
  template <class... Args>
  [[nodiscard]] bool try_emplace(Args&&... args) noexcept(
      std::is_nothrow_constructible_v<T, Args&&...>) {
    static_assert(std::is_constructible_v<T, Args&&...>,
                  "spsc_queue<T>::try_emplace: T is not constructible from these arguments");
    const std::size_t write = write_index_.load(std::memory_order_relaxed);
    if (write - read_index_cache_ == capacity_) {
      read_index_cache_ = read_index_.load(std::memory_order_acquire);
      if (write - read_index_cache_ == capacity_) return false;
    }
    std::construct_at(slot(write), std::forward<Args>(args)...);
    write_index_.store(write + 1, std::memory_order_release);
    return true;
  }

  [[nodiscard]] bool try_push(const T& value) noexcept(
      std::is_nothrow_copy_constructible_v<T>) requires std::is_copy_constructible_v<T> {
    return try_emplace(value);
  }

  [[nodiscard]] bool try_push(T&& value) noexcept { return try_emplace(std::move(value)); }

  // Consumer only. The oldest element, or nullptr when empty. The pointer stays valid
  // until pop().
  [[nodiscard]] T* front() noexcept { return peek(0); }

  // Consumer only. The element `n` places behind the oldest, or
  // nullptr when the queue holds no more than `n`. Lets the consumer work on several
  // elements before popping them; the pointer stays valid until that element is popped.
  [[nodiscard]] T* peek(std::size_t n) noexcept {
    const std::size_t read = read_index_.load(std::memory_order_relaxed);
    if (write_index_cache_ - read <= n) {
      write_index_cache_ = write_index_.load(std::memory_order_acquire);
      if (write_index_cache_ - read <= n) return nullptr;
    }
    return std::launder(slot(read + n));
  }

  // Consumer only. Destroys the oldest element. Precondition: front() != nullptr.
  void pop() noexcept {
    const std::size_t read = read_index_.load(std::memory_order_relaxed);
    assert(read != write_index_.load(std::memory_order_acquire) && "pop() on an empty queue");
    std::destroy_at(std::launder(slot(read)));
    read_index_.store(read + 1, std::memory_order_release);
  }

  // Approximate when the other side is active; exact when it is not.
  [[nodiscard]] std::size_t size() const noexcept {
    // Read the consumer's index first: the producer's index, read later, can only be
    // larger, so the difference never underflows. It can exceed the capacity if the
    // consumer moved in between, hence the clamp.
    const std::size_t read = read_index_.load(std::memory_order_acquire);
    const std::size_t write = write_index_.load(std::memory_order_acquire);
    const std::size_t n = write - read;
    return n < capacity_ ? n : capacity_;
  }

  [[nodiscard]] bool empty() const noexcept { return size() == 0; }

  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

 private:
  using allocator_type = std::allocator<T>;

  // Spare slots before and after the ring so that neighbouring heap objects never share
  // a cache line with the first or last element.
  static constexpr std::size_t kPaddingSlots = (kCacheLineSize - 1) / sizeof(T) + 1;

  static std::size_t round_capacity(std::size_t requested) {
    // bit_ceil(n) < 2n, so this keeps the rounded ring plus padding within size_t.
    constexpr std::size_t kMax =
        (std::numeric_limits<std::size_t>::max() / sizeof(T) - 2 * kPaddingSlots) / 2;
    if (requested > kMax) throw std::length_error("spsc_queue: capacity too large");
    return std::bit_ceil(requested < 1 ? std::size_t{1} : requested);
  }

  T* slot(std::size_t index) const noexcept { return storage_ + kPaddingSlots + (index & mask_); }

  // Read-only after construction; shared by both sides without contention.
  const std::size_t capacity_;
  const std::size_t mask_;
  T* const storage_;

  // Producer's line: its own index and its cached view of the consumer's.
  alignas(kCacheLineSize) std::atomic<std::size_t> write_index_{0};
  std::size_t read_index_cache_{0};

  // Consumer's line: its own index and its cached view of the producer's.
  alignas(kCacheLineSize) std::atomic<std::size_t> read_index_{0};
  std::size_t write_index_cache_{0};

  // alignas makes sizeof a multiple of the line size, so whatever follows this object
  // stays off the consumer's line too.
};

}  // namespace matchd::bus
