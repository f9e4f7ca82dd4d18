#pragma once

#include <algorithm>
#include <boost/unordered/unordered_flat_map.hpp>
#include <cstddef>
#include <iterator>
#include <memory>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>

namespace matchd::bus {

namespace detail {

// Set on this thread while incremental_map::reserve allocates a table to be made present.
inline thread_local bool prefault_allocations = false;

// The block allocate() gave last on this thread, for start_migration to have its pages
// populated off the owner's thread.
struct allocated_block {
  void* start = nullptr;
  std::size_t bytes = 0;
};
inline thread_local allocated_block last_allocation{};

// Makes the pages of [start, start + bytes) present (MADV_POPULATE_WRITE: as if written,
// without touching the contents, so it may run while the owner writes into the block).
void populate_pages(void* start, std::size_t bytes) noexcept;

// std::allocator, except that a block allocated while prefault_allocations is set gets a
// write on each of its pages. A fresh page costs a fault and the kernel's clearing on its
// first write (in a VM, also the host backing it): 30% of the publish thread's time at
// 37,000 orders/s, filling an order view that was not yet present. Writing each page ahead
// moves that to the reserve. The block is raw storage, so the zero written changes nothing.
template <class T>
struct prefault_allocator {
  using value_type = T;

  prefault_allocator() = default;
  template <class U>
  prefault_allocator(const prefault_allocator<U>&) noexcept {}  // NOLINT: rebinding

  T* allocate(std::size_t n) {
    T* block = std::allocator<T>{}.allocate(n);
    last_allocation = {block, n * sizeof(T)};
    if (prefault_allocations) {
      auto* bytes = reinterpret_cast<volatile unsigned char*>(block);
      const std::size_t length = n * sizeof(T);
      for (std::size_t off = 0; off < length; off += kPageSize) bytes[off] = 0;
    }
    return block;
  }
  void deallocate(T* block, std::size_t n) noexcept { std::allocator<T>{}.deallocate(block, n); }

  friend bool operator==(const prefault_allocator&, const prefault_allocator&) noexcept {
    return true;
  }

 private:
  static constexpr std::size_t kPageSize = 4096;
};

}  // namespace detail

// A hash map that grows without stopping the thread that owns it.
//
// The stages keep maps that only grow (every order ever seen, every first response of an
// idempotency key). An ordinary hash table doubles by moving every element in one call:
// on the target box, one insert into a table of 215,000 orders took 92 ms, of 1.7 million
// 0.66 s, of 3.4 million 4.2 s (page faults included). On the publish thread that is a
// pause of every acknowledgement; on the engine thread, of all matching.
//
// So this map keeps two tables. Inserts go to `current_`. When `current_` is full, it
// becomes `draining_` and a new `current_` twice its size takes over; every later insert
// moves a few of the draining table's entries across (kMigrateStep), so the draining table
// is empty long before the new one is full. A lookup tries `current_`, then `draining_`.
// The only work left at a switch is allocating the new table (its metadata is about one
// byte per slot), and the emptied old table is freed on a thread of its own. Inserting 4
// million orders one by one, the slowest insert took 5.5 ms here, against 3.9 to 7 s for
// the plain table. Memory peaks as with a plain rehash: both tables live during a
// migration.
//
// Single-threaded, like the tables it replaces. Pointers returned by find / try_emplace /
// insert_or_assign stay valid until the next try_emplace, insert_or_assign, erase or
// reserve, even one that inserts nothing: each of them may move entries between tables.
template <class Key, class Value, class Hash = boost::hash<Key>,
          class KeyEqual = std::equal_to<Key>>
class incremental_map {
  using table = boost::unordered_flat_map<Key, Value, Hash, KeyEqual,
                                          detail::prefault_allocator<std::pair<const Key, Value>>>;

 public:
  incremental_map() = default;
  incremental_map(const incremental_map&) = delete;
  incremental_map& operator=(const incremental_map&) = delete;

  // Entries moved from the draining table per insert. The new table has room for twice
  // the old one's entries, so even one per insert would finish before it fills; eight
  // keep the two tables' overlap (and the memory they hold together) short.
  static constexpr std::size_t kMigrateStep = 8;

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  // Entries the current table takes before the next switch.
  std::size_t capacity() const noexcept { return current_.max_load(); }
  // True while entries are still being moved out of the previous table (for tests).
  bool migrating() const noexcept { return !draining_.empty(); }

  // Room for `n` entries without a switch. Finishes a running migration first. With
  // `make_present`, the table's pages are written now (a table grown later is not: writing
  // all of it at once would be the pause this map exists to avoid).
  // Never shrinks: a smaller `n` (recovery sizing for the rows it found, after the daemon
  // sized for --expected-orders) would otherwise rehash the table down to it.
  void reserve(std::size_t n, bool make_present = false) {
    finish_migration();
    if (n <= capacity()) return;
    // The populater may still work on the table this replaces; it must not outlive it.
    if (populater_.joinable()) populater_.join();
    detail::prefault_allocations = make_present;
    try {
      current_.reserve(n);
    } catch (...) {
      detail::prefault_allocations = false;
      throw;
    }
    detail::prefault_allocations = false;
  }

  Value* find(const Key& key) {
    if (const auto it = current_.find(key); it != current_.end()) return &it->second;
    if (!draining_.empty()) {
      if (const auto it = draining_.find(key); it != draining_.end()) return &it->second;
    }
    return nullptr;
  }
  const Value* find(const Key& key) const { return const_cast<incremental_map*>(this)->find(key); }

  // Lookup by something that is not a Key but hashes and compares like one (both Hash and
  // KeyEqual declare is_transparent).
  template <class K>
  requires(!std::is_convertible_v<const K&, const Key&>) Value* find(const K& key) {
    if (const auto it = current_.find(key); it != current_.end()) return &it->second;
    if (!draining_.empty()) {
      if (const auto it = draining_.find(key); it != draining_.end()) return &it->second;
    }
    return nullptr;
  }
  template <class K>
  requires(!std::is_convertible_v<const K&, const Key&>) const Value* find(const K& key) const {
    return const_cast<incremental_map*>(this)->find(key);
  }

  // Inserts `key` with a value built from `args` unless it is present (then `args` are
  // left untouched). Returns the entry and whether it was inserted.
  template <class... Args>
  std::pair<Value*, bool> try_emplace(const Key& key, Args&&... args) {
    if (Value* old = find_draining(key)) return {old, false};
    if (current_.size() >= current_.max_load()) {
      if (const auto it = current_.find(key); it != current_.end()) return {&it->second, false};
      start_migration();
    }
    const auto [it, inserted] = current_.try_emplace(key, std::forward<Args>(args)...);
    if (inserted) ++size_;
    return {&it->second, inserted};
  }

  template <class V>
  Value* insert_or_assign(const Key& key, V&& value) {
    const auto [entry, inserted] = try_emplace(key, std::forward<V>(value));
    if (!inserted) *entry = std::forward<V>(value);
    return entry;
  }

  // Returns whether `key` was present.
  bool erase(const Key& key) {
    if (current_.erase(key) != 0) {
      --size_;
      return true;
    }
    if (draining_.empty()) return false;
    const auto it = draining_.find(key);
    if (it == draining_.end()) return false;
    // Erasing invalidates only iterators to the erased entry, so only the migration's
    // own position may need to move on.
    if (it == next_) ++next_;
    draining_.erase(it);
    --size_;
    if (draining_.empty()) release_draining();
    return true;
  }

 private:
  // Moves a step of the migration along, then looks for `key` among the entries still
  // waiting. Steady state (no migration) costs one branch, so an insert hashes its key once.
  Value* find_draining(const Key& key) {
    if (draining_.empty()) return nullptr;
    migrate(kMigrateStep);
    if (draining_.empty()) return nullptr;
    const auto it = draining_.find(key);
    return it == draining_.end() ? nullptr : &it->second;
  }

  // `current_` is full and about to take a new key.
  void start_migration() {
    // A migration that could not finish (only erases since it began) finishes now.
    finish_migration();
    draining_ = std::move(current_);
    current_ = table{};
    detail::last_allocation = {};
    current_.reserve(std::max<std::size_t>(2 * draining_.size(), 64));
    next_ = draining_.begin();
    // The new table's pages are not present yet, and the inserts and the migration write
    // into it at random: one 4 KiB page fault per write at first, tens of thousands within
    // a second at a table of a few hundred thousand orders, which stopped the owner for
    // up to a second. A short-lived thread faults them in instead, while the owner goes on.
    const detail::allocated_block block = detail::last_allocation;
    if (block.bytes >= kPopulateAtLeast) {
      if (populater_.joinable()) populater_.join();
      try {
        populater_ = std::jthread([block] { detail::populate_pages(block.start, block.bytes); });
      } catch (const std::system_error&) {
        // No thread to be had: the owner's writes fault the pages in, as before.
      }
    }
  }

  // Smaller tables fault in within a millisecond or so: not worth a thread.
  static constexpr std::size_t kPopulateAtLeast = std::size_t{8} << 20;

  void migrate(std::size_t entries) {
    for (; entries != 0 && next_ != draining_.end(); --entries) {
      const auto it = next_++;
      current_.try_emplace(it->first, std::move(it->second));
      draining_.erase(it);
    }
    if (next_ == draining_.end()) release_draining();
  }

  // The emptied table still holds its pages; giving them back (munmap) took 27 ms for a
  // table of 500,000 orders and 139 ms for 2 million on the target box. A short-lived
  // thread pays that instead of the owner. It is joined at the next release, a whole
  // growth step later, or by the destructor.
  void release_draining() {
    if (releaser_.joinable()) releaser_.join();
    try {
      releaser_ = std::jthread([emptied = std::move(draining_)]() mutable { emptied = table{}; });
    } catch (const std::system_error&) {
      // No thread to be had: the table went down with the callable, here, as it always
      // did before.
    }
    draining_ = table{};
  }

  void finish_migration() {
    if (!draining_.empty()) migrate(draining_.size());
  }

  table current_;
  table draining_;  // empty, or the previous table while its entries move to current_
  typename table::iterator next_{};  // the next draining entry to move
  std::size_t size_ = 0;
  std::jthread populater_;  // joined before the tables are destroyed
  std::jthread releaser_;   // declared last: joined before the tables are destroyed
};

}  // namespace matchd::bus
