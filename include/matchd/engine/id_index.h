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
// - The table grows without a pause. When an insert takes it past half full, a table twice
//   the size is mapped (not yet faulted in) and the keys move across a few home lines at a
//   time, on each later insert or erase (kLinesPerStep), so no call moves more than a
//   handful of slots; a full rebuild at once took ~100 ms at half a million ids, a pause of
//   all matching. Homes from the top bits make doubling order-preserving (old line h
//   becomes new line 2h or 2h + 1), so one cursor over the old lines tells where a key
//   lives: homed before it, in the new table; otherwise in the old one, where its probe
//   run is untouched. A lookup therefore reads one table, and prefetch() fetches the two
//   lines of that one. Moved keys are left behind in the old table as they were: nothing
//   looks them up there (their home is behind the cursor), and a probe for a key still
//   there passes over them as over any other key, so the old table is never rewritten.
//   The new table is faulted in just ahead of the cursor, so keys placed in it (moved, or
//   inserted homed behind the cursor) land on present pages; the old one, once empty, is
//   unmapped one huge page per later call. The table is full enough to grow again only
//   long after a migration ends: the new table is a quarter full when it starts and
//   kLinesPerStep lines per insert finish it within capacity / 16 inserts.
// - The slot array is mapped directly, on 2 MiB boundaries with transparent huge pages
//   requested: the tens of MB probed at random would otherwise miss the TLB on most
//   probes. The first table (and one reserve() asks for) is faulted in at once, a grown
//   one as its migration advances: either way, not inside the matching loop's probes.
// - A lookup that misses returns the free slot where the key would go, so "refuse a
//   duplicate, else insert" is one probe. Migration advances on insert and erase only,
//   never on lookup, so that the position stays valid until the insert that uses it.
// - Erase shifts back (Knuth's algorithm R): the slots after the freed one, up to the next
//   free slot, move back into the gap unless that would put them before their home. There
//   are no tombstones, so a table whose ids are retired as fast as new ones arrive keeps
//   probe runs as short as a fresh one and never needs a clean-up rebuild (tombstones
//   would lengthen every miss, the common lookup, until one). The cost is bounded by the
//   run after the erased slot, which at half load is a line or two. During a migration
//   an erase shifts within the table the key lives in; in the old table, keys already
//   moved count as ordinary slots (shifting one of them is harmless).
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

  // Home lines moved from the old table to the new one per insert or erase during a
  // migration: about 2 * kLinesPerStep slots at half load.
  static constexpr std::size_t kLinesPerStep = 4;

  // Starts loading the lines a lookup of `key` reads; changes nothing.
  void prefetch(const id_key& key) const noexcept {
    const table& t = table_of(key.lo);
    const std::size_t home = t.home_of(key.lo);
    prefetch_line(t.slots + home);
    prefetch_line(t.slots + ((home + kSlotsPerLine) & t.mask));
  }

  position lookup(const id_key& key) noexcept;
  const slot* find(const id_key& key) const noexcept;

  // Puts `key` at `free` (from a lookup that missed, with no insert or erase since). May
  // start or advance a migration, which moves slots: slots returned earlier dangle.
  void insert(position free, const id_key& key, const id_entry& entry);

  // Removes `key` if present; returns whether it was. Moves other slots back along the
  // probe run and may advance a migration: slots returned earlier dangle, as after insert.
  // The table never shrinks.
  bool erase(const id_key& key) noexcept;

  // Grows now, and finishes a migration under way, so that `ids` fit without growing
  // later (e.g. at start-up, not mid-burst): this one moves every slot in one call.
  void reserve(std::size_t ids);

  std::size_t size() const noexcept { return size_; }
  // Slots of the table new keys go to (the new one during a migration).
  std::size_t capacity() const noexcept { return now_.mask + 1; }
  std::size_t bytes() const noexcept {
    return capacity() * sizeof(slot) + (migrating() ? old_.capacity() * sizeof(slot) : 0);
  }
  // True while keys are still moving out of the previous table.
  bool migrating() const noexcept { return old_.slots != nullptr; }
  // The most slots one insert or erase has moved between tables (reserve() excluded):
  // the bound on the work growth adds to any single call.
  std::size_t max_slots_moved() const noexcept { return max_slots_moved_; }

  template <class F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i <= now_.mask; ++i) {
      if (!is_free(now_.slots[i])) f(now_.slots[i]);
    }
    if (!migrating()) return;
    for (std::size_t i = 0; i <= old_.mask; ++i) {
      const slot& s = old_.slots[i];
      if (!is_free(s) && old_.home_of(s.lo) >= migrated_) f(s);
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

  struct table {
    slot* slots = nullptr;
    std::size_t mask = 0;  // capacity - 1; capacity is a power of two
    unsigned shift = 64;   // 64 - log2(capacity): a home is the top bits of key.lo

    std::size_t capacity() const noexcept { return mask + 1; }
    // From `lo`, which a slot keeps whole, so a slot can be moved without its key.
    std::size_t home_of(std::uint64_t lo) const noexcept {
      return static_cast<std::size_t>(lo >> shift) & ~(kSlotsPerLine - 1);
    }
    position probe(const id_key& key) const noexcept;
    void place(const slot& s) const noexcept;
    void shift_back(std::size_t gap) const noexcept;
  };

  // The table `lo` lives in: during a migration the old one unless its home line there
  // has moved.
  const table& table_of(std::uint64_t lo) const noexcept {
    if (migrating() && old_.home_of(lo) >= migrated_) return old_;
    return now_;
  }
  // Occupancy at which the table grows: half its slots.
  std::size_t limit() const noexcept {
    return capacity() / 2;
  }

  void start_migration(std::size_t new_capacity);
  // Moves the keys of up to `lines` old home lines; returns the slots moved.
  std::size_t migrate(std::size_t lines) noexcept;
  void fault_in_ahead() noexcept;
  // What every insert and erase does after its own change: a migration step, or a step
  // of unmapping the last emptied table.
  void step() noexcept;
  void release_retired(std::size_t bytes) noexcept;

  table now_;                 // where new keys go
  table old_;                 // during a migration, the table keys move out of
  std::size_t migrated_ = 0;  // old slots [0, migrated_) are home lines already moved
  std::size_t present_ = 0;   // bytes of now_ faulted in from its start
  char* retired_ = nullptr;   // an emptied table's mapping, being unmapped from the end
  std::size_t retired_length_ = 0;
  std::size_t size_ = 0;
  std::size_t max_slots_moved_ = 0;
};

}  // namespace matchd::engine
