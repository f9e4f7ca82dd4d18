#include <matchd/obs/thread_name.h>
#include <pthread.h>

#include <algorithm>
#include <array>

namespace matchd::obs {

void name_this_thread(std::string_view name) noexcept {
  std::array<char, 16> buffer{};
  const std::size_t length = std::min(name.size(), buffer.size() - 1);
  std::copy_n(name.data(), length, buffer.data());
#if defined(__linux__)
  pthread_setname_np(pthread_self(), buffer.data());
#endif
}

}  // namespace matchd::obs
