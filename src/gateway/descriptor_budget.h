#pragma once

#include <cstddef>
#include <cstdint>

namespace matchd::gateway {

// File descriptors kept for everything but client connections: standard streams and log
// files, the listening socket, the PostgreSQL sessions (writer, journal applier, recovery,
// reconnects), the feed, the event and timer descriptors of each stage, and spare. Each I/O
// thread adds kDescriptorsPerIoThread (its epoll, its wake-up descriptor, its timers), and
// connections being refused hold one each for a moment (kMaxLingeringRefusals).
inline constexpr std::size_t kDescriptorsBesidesConnections = 64;
inline constexpr std::size_t kDescriptorsPerIoThread = 4;
inline constexpr std::size_t kMaxLingeringRefusals = 64;

struct descriptor_budget {
  std::uint64_t old_soft_limit = 0;  // RLIMIT_NOFILE's soft limit found at start
  std::uint64_t soft_limit = 0;      // after raising it toward the hard limit
  std::uint64_t hard_limit = 0;
  std::size_t connection_cap = 0;  // min(--max-connections, what the descriptors allow)
  bool clamped = false;            // the cap is below --max-connections
};

// Raises RLIMIT_NOFILE's soft limit to its hard limit (to fs.nr_open when the hard limit is
// unlimited) and works out how many client connections the descriptors allow once the
// operators' reserve and everything else is set aside: the connection cap, at least 1.
descriptor_budget plan_descriptors(std::size_t max_connections, std::size_t io_threads);

}  // namespace matchd::gateway
