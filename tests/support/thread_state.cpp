#include "thread_state.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace matchd::test {

pid_t current_thread_id() noexcept {
  return ::gettid();
}

std::vector<pid_t> threads_of_this_process() {
  std::vector<pid_t> tids;
  std::error_code ignored;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task", ignored)) {
    try {
      tids.push_back(static_cast<pid_t>(std::stol(entry.path().filename().string())));
    } catch (const std::exception&) {
    }
  }
  return tids;
}

std::optional<pid_t> thread_named(std::string_view name) {
  for (const pid_t tid : threads_of_this_process()) {
    std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/comm");
    std::string comm;
    if (std::getline(in, comm) && comm == name) return tid;
  }
  return std::nullopt;
}

std::optional<futex_wait> futex_wait_of(pid_t tid) {
  // "NR ARG0 ARG1 ... ARG5 SP PC" while blocked in a system call, "running" otherwise.
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/syscall");
  std::string number;
  std::string args[4];  // uaddr, op, val, timeout
  if (!(in >> number >> args[0] >> args[1] >> args[2] >> args[3])) return std::nullopt;
  try {
    if (std::stol(number) != SYS_futex) return std::nullopt;
    const int op = static_cast<int>(std::stoul(args[1], nullptr, 16)) & FUTEX_CMD_MASK;
    if (op != FUTEX_WAIT && op != FUTEX_WAIT_BITSET) return std::nullopt;
    return futex_wait{static_cast<std::uintptr_t>(std::stoull(args[0], nullptr, 16)),
                      static_cast<std::uint32_t>(std::stoul(args[2], nullptr, 16)),
                      std::stoull(args[3], nullptr, 16) != 0};
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace matchd::test
