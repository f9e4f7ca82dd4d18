#include "descriptor_budget.h"

#include <sys/resource.h>

#include <algorithm>
#include <fstream>

#include "connection_limits.h"

namespace matchd::gateway {

namespace {

// The most descriptors a process may have (fs.nr_open): what an unlimited hard limit means.
std::uint64_t system_descriptor_ceiling() {
  std::uint64_t n = 0;
  std::ifstream("/proc/sys/fs/nr_open") >> n;
  return n > 0 ? n : 1u << 20;
}

}  // namespace

descriptor_budget plan_descriptors(std::size_t max_connections, std::size_t io_threads) {
  descriptor_budget b;
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    b.old_soft_limit = limit.rlim_cur;
    b.hard_limit = limit.rlim_max;
    const rlim_t target =
        limit.rlim_max == RLIM_INFINITY ? system_descriptor_ceiling() : limit.rlim_max;
    if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= target) {
      b.soft_limit = limit.rlim_cur;
    } else {
      rlimit raised = limit;
      raised.rlim_cur = target;
      b.soft_limit = ::setrlimit(RLIMIT_NOFILE, &raised) == 0 ? target : limit.rlim_cur;
    }
  } else {
    // Without an answer, assume the common default.
    b.old_soft_limit = b.soft_limit = b.hard_limit = 1024;
  }
  const std::uint64_t set_aside = kDescriptorsBesidesConnections +
                                  kDescriptorsPerIoThread * io_threads + kMaxLingeringRefusals +
                                  kOperatorReserve;
  const std::uint64_t room = b.soft_limit > set_aside ? b.soft_limit - set_aside : 0;
  b.connection_cap = static_cast<std::size_t>(
      std::max<std::uint64_t>(1, std::min<std::uint64_t>(max_connections, room)));
  b.clamped = b.connection_cap < max_connections;
  return b;
}

}  // namespace matchd::gateway
