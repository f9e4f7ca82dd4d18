#include <matchd/engine/id_index.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <new>

#include <sys/mman.h>

namespace matchd::engine {

namespace {

constexpr std::size_t kHugePage = std::size_t{2} << 20;
constexpr std::size_t kSmallPage = 4096;

// Zeroed memory on a 2 MiB boundary, backed by huge pages where the kernel allows, with
// every page already faulted in. Anonymous mappings come zeroed, which is what marks a
// slot free, so nothing is cleared twice.
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
  // Fault every page in now (a write of the zero it already holds), so the matching loop
  // never takes the fault or the kernel's page clearing.
  for (std::size_t off = 0; off < rounded; off += kSmallPage) {
    *reinterpret_cast<volatile char*>(aligned + off) = 0;
  }
  return {aligned, rounded};
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

id_index::id_index(std::size_t expected_ids) { rebuild(capacity_for(expected_ids, kMinCapacity)); }

id_index::~id_index() {
  if (slots_ != nullptr) ::munmap(slots_, mapped_length(capacity()));
}

id_index::position id_index::lookup(const id_key& key) noexcept {
  std::size_t i = home_of(key);
  while (true) {
    slot& s = slots_[i];
    if (s.key == key) return {&s, true};
    if (is_free(s)) return {&s, false};
    i = (i + 1) & mask_;
  }
}

const id_index::slot* id_index::find(const id_key& key) const noexcept {
  const position p = const_cast<id_index*>(this)->lookup(key);
  return p.found ? p.at : nullptr;
}

id_entry& id_index::insert(position free, const id_key& key, const id_entry& entry) {
  if (size_ + 1 > limit()) {
    rebuild(capacity() * 2);
    free = lookup(key);
  }
  free.at->key = key;
  free.at->entry = entry;
  ++size_;
  return free.at->entry;
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
  for (std::size_t i = 0; i < old_capacity; ++i) {
    if (is_free(old[i])) continue;
    position p = lookup(old[i].key);
    *p.at = old[i];
  }
  if (old != nullptr) ::munmap(old, mapped_length(old_capacity));
}

}  // namespace matchd::engine
