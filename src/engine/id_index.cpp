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

// Faults in every page not present yet, so the matching loop never takes the fault or
// the kernel's page clearing: each page gets a write of what it holds (zero where it was
// not present). After a rebuild most pages are present already and this is cheap.
void make_present(const mapping& m) {
  auto* base = static_cast<char*>(m.base);
  for (std::size_t off = 0; off < m.length; off += kSmallPage) {
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

}  // namespace

id_index::id_index(std::size_t expected_ids) {
  rebuild(capacity_for(expected_ids, kMinCapacity));
}

id_index::~id_index() {
  if (slots_ != nullptr) ::munmap(slots_, mapped_length(capacity()));
}

id_index::position id_index::lookup(const id_key& key) noexcept {
  std::size_t i = home_of(key);
  while (true) {
    slot& s = slots_[i];
    if (s.holds(key)) return {&s, true};
    if (is_free(s)) return {&s, false};
    i = (i + 1) & mask_;
  }
}

const id_index::slot* id_index::find(const id_key& key) const noexcept {
  const position p = const_cast<id_index*>(this)->lookup(key);
  return p.found ? p.at : nullptr;
}

void id_index::insert(position free, const id_key& key, const id_entry& entry) {
  if (size_ + 1 > limit()) {
    rebuild(capacity() * 2);
    free = lookup(key);
  }
  *free.at = slot{key.lo, static_cast<std::uint16_t>(key.hi), entry.instrument, entry.node};
  ++size_;
}

bool id_index::erase(const id_key& key) noexcept {
  const position p = lookup(key);
  if (!p.found) return false;
  std::size_t gap = static_cast<std::size_t>(p.at - slots_);
  for (std::size_t i = (gap + 1) & mask_; !is_free(slots_[i]); i = (i + 1) & mask_) {
    // The slot at i may fill the gap only if its home is not after the gap, reading
    // cyclically back from i: a probe for it starts at its home and must still pass the
    // gap's position on its way to it.
    const std::size_t home = home_of(slots_[i].lo);
    const std::size_t from_home = (i - home) & mask_;
    const std::size_t from_gap = (i - gap) & mask_;
    if (from_home < from_gap) continue;
    slots_[gap] = slots_[i];
    gap = i;
  }
  slots_[gap] = slot{};
  --size_;
  return true;
}

void id_index::reserve(std::size_t ids) {
  const std::size_t wanted = capacity_for(ids, kMinCapacity);
  if (wanted > capacity()) rebuild(wanted);
}

void id_index::rebuild(std::size_t new_capacity) {
  const mapping m = map_table(new_capacity * sizeof(slot));
  slot* old = slots_;
  const std::size_t old_capacity = old == nullptr ? 0 : capacity();
  slots_ = static_cast<slot*>(m.base);
  mask_ = new_capacity - 1;
  shift_ = 64 - static_cast<unsigned>(std::countr_zero(new_capacity));
  // Homes are the top bits of the key, so doubling sends home line h to line 2h or
  // 2h + 1: old slots taken front to back are placed front to back. The pass streams
  // through both tables, and its writes fault the new pages in while the kernel's
  // clearing of them is still in cache (instead of clearing all first and then writing
  // at random). Keys that wrapped past the old end are the only ones out of order.
  for (std::size_t i = 0; i < old_capacity; ++i) {
    if (is_free(old[i])) continue;
    std::size_t j = home_of(old[i].lo);
    while (!is_free(slots_[j])) j = (j + 1) & mask_;
    slots_[j] = old[i];
  }
  make_present(m);
  if (old != nullptr) ::munmap(old, mapped_length(old_capacity));
}

}  // namespace matchd::engine
