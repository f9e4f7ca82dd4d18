#include "child_process.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "wait.h"

namespace matchd::test {
namespace {

// Owns a descriptor opened before fork; the child gets copies through dup2.
class fd_holder {
 public:
  explicit fd_holder(int fd) : fd_(fd) {}
  ~fd_holder() {
    if (fd_ >= 0) ::close(fd_);
  }
  fd_holder(const fd_holder&) = delete;
  fd_holder& operator=(const fd_holder&) = delete;
  [[nodiscard]] int get() const noexcept { return fd_; }

 private:
  int fd_;
};

int open_for_output(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "open " + path.string());
  return fd;
}

// True once `pid` has ended (or is not a child of ours to wait for), without reaping it.
bool is_reapable(pid_t pid) {
  siginfo_t info{};
  int r = 0;
  do {
    r = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
  } while (r < 0 && errno == EINTR);
  return r < 0 || info.si_pid == pid;
}

}  // namespace

std::string process_exit::describe() const {
  std::ostringstream out;
  if (exited) {
    out << "exited with code " << code;
  } else if (signal != 0) {
    out << "killed by signal " << signal << " (" << ::strsignal(signal) << ")";
  } else {
    out << "unknown exit";
  }
  if (timed_out) out << " after timing out and being SIGKILLed";
  return out.str();
}

process_exit exit_from_wait_status(int status) {
  process_exit result;
  if (WIFEXITED(status)) {
    result.exited = true;
    result.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  }
  return result;
}

spawn_options logged_to(const std::filesystem::path& log) {
  spawn_options options;
  options.stdout_path = log;
  return options;
}

pid_t spawn_child(const std::vector<std::string>& argv_strings, const spawn_options& options) {
  if (argv_strings.empty()) throw std::invalid_argument("spawn_child: empty argv");
  std::vector<std::string> strings = argv_strings;
  std::vector<char*> argv;
  for (std::string& s : strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  const std::string cwd = options.cwd.string();

  const fd_holder out(open_for_output(options.stdout_path));
  const fd_holder err(options.stderr_path.empty() ? -1 : open_for_output(options.stderr_path));
  const fd_holder null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (null.get() < 0) throw std::system_error(errno, std::generic_category(), "open /dev/null");

  const pid_t parent = ::getpid();
  const pid_t child = ::fork();
  if (child < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (child == 0) {
    // Only async-signal-safe calls from here to exec.
    if (options.run_as) {
      if (::setgroups(0, nullptr) != 0 || ::setgid(options.run_as->gid) != 0 ||
          ::setuid(options.run_as->uid) != 0) {
        ::_exit(124);
      }
    }
    // After the credential change, which would clear it.
    ::prctl(PR_SET_PDEATHSIG, options.parent_death_signal);
    if (::getppid() != parent) ::_exit(126);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(123);
    ::dup2(null.get(), STDIN_FILENO);
    ::dup2(out.get(), STDOUT_FILENO);
    ::dup2(err.get() >= 0 ? err.get() : out.get(), STDERR_FILENO);
    // The test's own sockets and files must not stay open in the child.
    ::close_range(3, ~0U, 0);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return child;
}

std::optional<process_exit> poll_child(pid_t pid) {
  int status = 0;
  pid_t r = 0;
  do {
    r = ::waitpid(pid, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid) return exit_from_wait_status(status);
  if (r < 0) return process_exit{};  // not our child (any more): nothing to wait for
  return std::nullopt;
}

std::optional<process_exit> await_child(pid_t pid, std::chrono::milliseconds timeout) {
  // A pidfd becomes readable when the process ends: poll(2) on it waits for exactly that.
  // Without one (pidfd_open needs Linux 5.3), the same wait by polling waitid.
  if (auto already = poll_child(pid)) return already;  // ended already, or not our child
  bool ended = false;
  // The system call itself: Debian 12's glibc declares pidfd_open without C linkage.
  if (const fd_holder pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
      pidfd.get() >= 0) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    pollfd entry{pidfd.get(), POLLIN, 0};
    int ready = 0;
    do {
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      ready = ::poll(&entry, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0)));
    } while (ready < 0 && errno == EINTR);
    ended = ready > 0;
  } else {
    ended = wait_until([pid] { return is_reapable(pid); }, timeout);
  }
  return ended ? poll_child(pid) : std::nullopt;
}

process_exit wait_for_child(pid_t pid, std::chrono::milliseconds timeout) {
  if (auto ended = await_child(pid, timeout)) return *ended;
  ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  process_exit result = exit_from_wait_status(status);
  result.timed_out = true;
  return result;
}

std::string read_whole_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::filesystem::path make_temp_dir(std::string_view prefix) {
  std::string pattern = "/tmp/" + std::string(prefix) + "-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
  }
  return pattern;
}

std::uint16_t port_from_ready_text(std::string_view text) {
  if (text.empty() || text.back() != '\n') return 0;
  const std::string_view line = text.substr(0, text.size() - 1);
  const std::size_t colon = line.rfind(':');
  if (colon == std::string_view::npos || colon + 1 >= line.size()) return 0;
  unsigned long value = 0;
  for (std::size_t i = colon + 1; i < line.size(); ++i) {
    if (line[i] < '0' || line[i] > '9') return 0;
    value = value * 10 + static_cast<unsigned long>(line[i] - '0');
    if (value > 65535) return 0;
  }
  return static_cast<std::uint16_t>(value);
}

}  // namespace matchd::test
