#include <matchd/engine/id_index.h>
#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <new>

namespace matchd::engine {

namespace {

constexpr std::size_t kHugePage = std::size_t{2} << 20;
constexpr std::size_t kSmallPage = 4096;

// Zeroed memory on a 2 MiB boundary, backed by huge pages where the kernel allows.
// Anonymous mappings come zeroed, which is what marks a slot free, so nothing is cleared
// twice. Pages are not present yet: see make_present.
struct mapping {
  void* base = nullptr;
  std::size_t length = 0;
};

mapping map_table(std::size_t bytes) {
  const std::size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  const std::size_t length = rounded + kHugePage;  // slack to align the start
  void* raw = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  auto* start = static_cast<char*>(raw);
  const auto misalignment = reinterpret_cast<std::uintptr_t>(start) % kHugePage;
  char* aligned = misalignment == 0 ? start : start + (kHugePage - misalignment);
  // Give back the unaligned head and tail so only the aligned span stays mapped.
  if (aligned != start) ::munmap(start, static_cast<std::size_t>(aligned - start));
  char* end = aligned + rounded;
  if (char* map_end = start + length; map_end != end) {
    ::munmap(end, static_cast<std::size_t>(map_end - end));
  }
  ::madvise(aligned, rounded, MADV_HUGEPAGE);  // advisory: without THP it is a no-op
  return {aligned, rounded};
}

// Writes a byte of each 4 KiB page of [from, to) within a mapping, so its pages are
// present before the matching loop probes them (with huge pages, the first write to a
// 2 MiB page faults in all of it and the rest cost nothing). Each page gets what it holds,
// zero where it was not present.
void make_present(char* base, std::size_t from, std::size_t to) noexcept {
  for (std::size_t off = from; off < to; off += kSmallPage) {
    volatile char* byte = base + off;
    *byte = *byte;
  }
}

std::size_t mapped_length(std::size_t capacity) {
  const std::size_t bytes = capacity * sizeof(id_index::slot);
  return (bytes + kHugePage - 1) / kHugePage * kHugePage;
}

std::size_t capacity_for(std::size_t ids, std::size_t minimum) {
  // Half full at most: `ids` must stay within limit() = capacity / 2.
  return std::bit_ceil(std::max(minimum, ids * 2));
}

// How far ahead of the migration's front the new table is kept present: far more than a
// probe run spills, few enough 4 KiB pages to fault in within one step (with huge pages
// the first write faults in the whole 2 MiB page anyway).
constexpr std::size_t kPresentAhead = std::size_t{64} << 10;

}  // namespace

id_index::id_index(std::size_t expected_ids) {
  const std::size_t capacity = capacity_for(expected_ids, kMinCapacity);
  const mapping m = map_table(capacity * sizeof(slot));
  now_ = table{static_cast<slot*>(m.base), capacity - 1,
               64 - static_cast<unsigned>(std::countr_zero(capacity))};
  make_present(static_cast<char*>(m.base), 0, m.length);
  present_ = m.length;
}

id_index::~id_index() {
  release_retired(retired_length_);
  if (migrating()) ::munmap(old_.slots, mapped_length(old_.capacity()));
  ::munmap(now_.slots, mapped_length(capacity()));
}

id_index::position id_index::table::probe(const id_key& key) const noexcept {
  std::size_t i = home_of(key.lo);
  while (true) {
    slot& s = slots[i];
    if (s.holds(key)) return {&s, true};
    if (is_free(s)) return {&s, false};
    i = (i + 1) & mask;
  }
}

void id_index::table::place(const slot& s) const noexcept {
  std::size_t i = home_of(s.lo);
  while (!is_free(slots[i])) i = (i + 1) & mask;
  slots[i] = s;
}

void id_index::table::shift_back(std::size_t gap) const noexcept {
  for (std::size_t i = (gap + 1) & mask; !is_free(slots[i]); i = (i + 1) & mask) {
    // The slot at i may fill the gap only if its home is not after the gap, reading
    // cyclically back from i: a probe for it starts at its home and must still pass the
    // gap's position on its way to it.
    const std::size_t from_home = (i - home_of(slots[i].lo)) & mask;
    const std::size_t from_gap = (i - gap) & mask;
    if (from_home < from_gap) continue;
    slots[gap] = slots[i];
    gap = i;
  }
  slots[gap] = slot{};
}

id_index::position id_index::lookup(const id_key& key) noexcept {
  return table_of(key.lo).probe(key);
}

const id_index::slot* id_index::find(const id_key& key) const noexcept {
  const position p = table_of(key.lo).probe(key);
  return p.found ? p.at : nullptr;
}

void id_index::insert(position free, const id_key& key, const id_entry& entry) {
  // The key goes where the lookup found room, in the table it belongs to now: nothing has
  // moved since. Growth starts only after, so it needs no second lookup.
  *free.at = slot{key.lo, static_cast<std::uint16_t>(key.hi), entry.instrument, entry.node};
  ++size_;
  if (!migrating() && size_ > limit()) {
    release_retired(retired_length_);  // long done by now: a whole growth step ago
    start_migration(capacity() * 2);
  }
  step();
}

bool id_index::erase(const id_key& key) noexcept {
  const table& t = table_of(key.lo);
  const position p = t.probe(key);
  if (!p.found) return false;
  t.shift_back(static_cast<std::size_t>(p.at - t.slots));
  --size_;
  step();
  return true;
}

void id_index::reserve(std::size_t ids) {
  const std::size_t wanted = capacity_for(ids, kMinCapacity);
  if (migrating()) migrate(old_.capacity() / kSlotsPerLine);
  release_retired(retired_length_);
  if (wanted <= capacity()) return;
  start_migration(wanted);
  migrate(old_.capacity() / kSlotsPerLine);
  release_retired(retired_length_);
}

void id_index::start_migration(std::size_t new_capacity) {
  const mapping m = map_table(new_capacity * sizeof(slot));
  old_ = now_;
  now_ = table{static_cast<slot*>(m.base), new_capacity - 1,
               64 - static_cast<unsigned>(std::countr_zero(new_capacity))};
  migrated_ = 0;
  present_ = 0;
}

std::size_t id_index::migrate(std::size_t lines) noexcept {
  // Old home line h maps to new lines [h << d, (h + 1) << d) for a growth by 2^d, so the
  // keys of one old home line land together, just after those of the line before: the
  // pass streams through both tables.
  const std::size_t end = std::min(old_.capacity(), migrated_ + lines * kSlotsPerLine);
  std::size_t moved = 0;
  for (; migrated_ < end; migrated_ += kSlotsPerLine) {
    // The keys homed at this line are in the run that starts there.
    for (std::size_t i = migrated_; !is_free(old_.slots[i]); i = (i + 1) & old_.mask) {
      if (old_.home_of(old_.slots[i].lo) != migrated_) continue;
      now_.place(old_.slots[i]);
      ++moved;
    }
  }
  fault_in_ahead();
  if (migrated_ == old_.capacity()) {
    // Every key has moved and nothing reads the old table any more.
    retired_ = reinterpret_cast<char*>(old_.slots);
    retired_length_ = mapped_length(old_.capacity());
    old_ = table{};
    migrated_ = 0;
  }
  return moved;
}

void id_index::fault_in_ahead() noexcept {
  const unsigned growth = old_.shift - now_.shift;  // log2 of new capacity / old capacity
  const std::size_t length = mapped_length(capacity());
  const std::size_t front = (migrated_ << growth) * sizeof(slot);
  const std::size_t target =
      migrated_ == old_.capacity() ? length : std::min(length, front + kPresentAhead);
  if (target <= present_) return;
  make_present(reinterpret_cast<char*>(now_.slots), present_, target);
  present_ = target;
}

void id_index::step() noexcept {
  if (migrating()) {
    max_slots_moved_ = std::max(max_slots_moved_, migrate(kLinesPerStep));
  } else if (retired_length_ != 0) {
    release_retired(kHugePage);
  }
}

void id_index::release_retired(std::size_t bytes) noexcept {
  // Unmapping tens of MB of present pages at once is itself a pause of milliseconds; a
  // huge page at a time is a few microseconds.
  bytes = std::min(bytes, retired_length_);
  if (bytes == 0) return;
  retired_length_ -= bytes;
  ::munmap(retired_ + retired_length_, bytes);
  if (retired_length_ == 0) retired_ = nullptr;
}

}  // namespace matchd::engine
