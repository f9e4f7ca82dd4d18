#pragma once

#include <matchd/engine/types.h>

#include <cstddef>
#include <cstdint>
#include <limits>

namespace matchd::engine {

// A 128-bit seeded hash of an order id (see matching_engine::key_of). `lo` is never
// zero: that value marks an empty index slot.
struct id_key {
  std::uint64_t lo;
  std::uint64_t hi;
  bool operator==(const id_key&) const = default;
};

// Where an indexed order rested: a book node. `instrument == kFinished` marks an id whose
// order never rested or was cancelled; a filled order keeps its node here, and the node
// (which holds the key of the order in it, or none once freed) tells whether it is still
// that order's.
struct id_entry {
  static constexpr std::uint16_t kFinished = std::numeric_limits<std::uint16_t>::max();

  std::uint16_t instrument = kFinished;
  std::uint32_t node = 0;
};

// Every order id accepted and not yet retired, keyed by its hash: an open-addressing
// table built so that the engine can compute, before it needs it, the address a lookup
// will read, and so that an id costs 16 bytes (an id stays until it is erased: duplicates
// are refused and a finished order is told from an unknown one even after it ended).
//
// - A slot is 16 bytes, four to a 64-byte line: 80 bits of the key (all of `lo`, the low
//   16 bits of `hi`) and the entry. Two distinct ids in one probe run agree on those 80
//   bits with probability 2^-80 per pair (seeded, so not craftable); the consequence would
//   be a new id refused as a duplicate or an unknown id reported finished, never an action
//   on the wrong order: the engine acts on a node only if the node holds the full key.
// - A key's home is the line picked by the top bits of `lo`; collisions probe line by
//   line. The table doubles before half the slots are used, so a lookup nearly always ends
//   in the home line or the next one, and prefetch() fetches exactly those two.
// - Homes from the top bits make doubling order-preserving (line h becomes 2h or 2h + 1),
//   so a rebuild streams through both tables instead of writing one random line per id.
// - The slot array is mapped directly, on 2 MiB boundaries with transparent huge pages
//   requested, and faulted in when allocated: the tens of MB probed at random would
//   otherwise miss the TLB on most probes and take page faults inside the matching loop.
// - A lookup that misses returns the free slot where the key would go, so "refuse a
//   duplicate, else insert" is one probe.
// - Erase shifts back (Knuth's algorithm R): the slots after the freed one, up to the next
//   free slot, move back into the gap unless that would put them before their home. There
//   are no tombstones, so a table whose ids are retired as fast as new ones arrive keeps
//   probe runs as short as a fresh one and never needs a clean-up rebuild (tombstones
//   would lengthen every miss, the common lookup, until one). The cost is bounded by the
//   run after the erased slot, which at half load is a line or two.
//
// Not thread-safe: owned by the engine thread.
class id_index {
 public:
  struct slot {
    std::uint64_t lo;      // key.lo; zero marks a free slot
    std::uint16_t hi_low;  // the low 16 bits of key.hi
    std::uint16_t instrument;
    std::uint32_t node;

    id_entry entry() const noexcept { return {instrument, node}; }
    bool holds(const id_key& key) const noexcept {
      return lo == key.lo && hi_low == static_cast<std::uint16_t>(key.hi);
    }
  };
  static_assert(sizeof(slot) == 16);

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

  // Puts `key` at `free` (from a lookup that missed, with no insert since). May grow the
  // table, which moves every slot: slots returned earlier dangle.
  void insert(position free, const id_key& key, const id_entry& entry);

  // Removes `key` if present; returns whether it was. Moves other slots back along the
  // probe run: slots returned earlier dangle, as after insert. The table never shrinks.
  bool erase(const id_key& key) noexcept;

  // Grows now so that `ids` fit without growing later (e.g. at start-up, not mid-burst).
  void reserve(std::size_t ids);

  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return mask_ + 1; }
  std::size_t bytes() const noexcept { return capacity() * sizeof(slot); }

  template <class F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i <= mask_; ++i) {
      if (!is_free(slots_[i])) f(slots_[i]);
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

  static bool is_free(const slot& s) noexcept {
    return s.lo == 0;
  }
  // From `lo`, which a slot keeps whole, so a rebuild can place a slot without its key.
  std::size_t home_of(std::uint64_t lo) const noexcept {
    return static_cast<std::size_t>(lo >> shift_) & ~(kSlotsPerLine - 1);
  }
  std::size_t home_of(const id_key& key) const noexcept {
    return home_of(key.lo);
  }
  // Occupancy at which the table doubles: half its slots.
  std::size_t limit() const noexcept {
    return capacity() / 2;
  }

  void rebuild(std::size_t capacity);

  slot* slots_ = nullptr;
  std::size_t mask_ = 0;  // capacity - 1; capacity is a power of two
  unsigned shift_ = 64;   // 64 - log2(capacity): a home is the top bits of key.lo
  std::size_t size_ = 0;
};

}  // namespace matchd::engine
