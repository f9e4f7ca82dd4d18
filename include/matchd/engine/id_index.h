#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>

#include <matchd/engine/types.h>

namespace matchd::engine {

// A 128-bit seeded hash of an order id (see matching_engine::key_of). Never all zero:
// that value marks an empty slot.
struct id_key {
  std::uint64_t lo;
  std::uint64_t hi;
  bool operator==(const id_key&) const = default;
};

// Where an indexed order rests: a book node and that node's generation when the order
// took it. `instrument == kFinished` marks an id whose order has ended (or never rested).
struct id_entry {
  static constexpr instrument_id kFinished = std::numeric_limits<instrument_id>::max();

  instrument_id instrument = kFinished;
  std::uint32_t node = 0;
  std::uint64_t generation = 0;
};

// Every order id ever accepted, keyed by its 128-bit hash: an open-addressing table built
// so that the engine can compute, before it needs it, the address a lookup will read.
//
// - Slots are 32 bytes (key + entry), two to a 64-byte line. A key's home is the line its
//   low bits pick; collisions probe line by line. The table doubles before half the slots
//   are used, so a lookup nearly always ends in the home line or the next one, and
//   prefetch() fetches exactly those two.
// - The slot array is mapped directly, on 2 MiB boundaries with transparent huge pages
//   requested, and touched when allocated: the tens of MB probed at random would otherwise
//   miss the TLB on most probes and take page faults inside the matching loop.
// - There is no erase: ids are remembered forever (duplicates are refused even after the
//   order ended). A lookup that misses returns the free slot where the key would go, so
//   "refuse a duplicate, else insert" is one probe.
//
// Not thread-safe: owned by the engine thread.
class id_index {
 public:
  struct slot {
    id_key key;
    id_entry entry;
  };

  // What lookup() found: the key's slot, or the free slot where insert() would put it.
  struct position {
    slot* at;
    bool found;
  };

  explicit id_index(std::size_t expected_ids = 0);
  ~id_index();
  id_index(const id_index&) = delete;
  id_index& operator=(const id_index&) = delete;

  // Starts loading the lines a lookup of `key` reads; changes nothing.
  void prefetch(const id_key& key) const noexcept {
    const std::size_t home = home_of(key);
    prefetch_line(slots_ + home);
    prefetch_line(slots_ + ((home + kSlotsPerLine) & mask_));
  }

  position lookup(const id_key& key) noexcept;
  const slot* find(const id_key& key) const noexcept;

  // Puts `key` at `free` (from a lookup that missed, with no insert since) and returns its
  // entry. May grow the table, which moves every slot: entries returned earlier dangle.
  id_entry& insert(position free, const id_key& key, const id_entry& entry);

  // Grows now so that `ids` fit without growing later (e.g. at start-up, not mid-burst).
  void reserve(std::size_t ids);

  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return mask_ + 1; }
  std::size_t bytes() const noexcept { return capacity() * sizeof(slot); }

  template <class F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i <= mask_; ++i) {
      if (!is_free(slots_[i])) f(slots_[i].key, slots_[i].entry);
    }
  }

 private:
  static constexpr std::size_t kSlotsPerLine = 64 / sizeof(slot);
  static constexpr std::size_t kMinCapacity = 1024;

  // GCC 12's dead-code elimination deletes __builtin_prefetch when the address comes from
  // a load (as a key's home does), so on x86-64 the instruction is spelled out.
  static void prefetch_line(const void* p) noexcept {
#if defined(__x86_64__)
    asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
#else
    __builtin_prefetch(p, 0, 3);
#endif
  }

  static bool is_free(const slot& s) noexcept { return s.key.lo == 0 && s.key.hi == 0; }
  std::size_t home_of(const id_key& key) const noexcept {
    return static_cast<std::size_t>(key.lo) & mask_ & ~(kSlotsPerLine - 1);
  }
  // Occupancy at which the table doubles: half its slots.
  std::size_t limit() const noexcept { return capacity() / 2; }

  void rebuild(std::size_t capacity);

  slot* slots_ = nullptr;
  std::size_t mask_ = 0;  // capacity - 1; capacity is a power of two
  std::size_t size_ = 0;
};

}  // namespace matchd::engine
