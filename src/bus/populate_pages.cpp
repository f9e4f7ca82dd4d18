#include <matchd/bus/incremental_map.h>
#include <sys/mman.h>

#include <cstdint>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14
#endif

namespace matchd::bus::detail {

void populate_pages(void* start, std::size_t bytes) noexcept {
  constexpr std::uintptr_t kPage = 4096;
  const auto first = (reinterpret_cast<std::uintptr_t>(start) + kPage - 1) & ~(kPage - 1);
  const auto end = (reinterpret_cast<std::uintptr_t>(start) + bytes) & ~(kPage - 1);
  if (end <= first) return;
  // Advisory: on an older kernel (EINVAL) the owner's writes fault the pages in as before.
  (void)::madvise(reinterpret_cast<void*>(first), end - first, MADV_POPULATE_WRITE);
}

}  // namespace matchd::bus::detail
