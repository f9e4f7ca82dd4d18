#include "replay_process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace matchd::feed::test {
namespace {

using namespace std::chrono_literals;

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream out;
  if (in) out << in.rdbuf();
  return out.str();
}

std::uint16_t port_from_ready_text(const std::string& text) {
  if (text.empty() || text.back() != '\n') return 0;
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) return 0;
  unsigned long value = 0;
  for (std::size_t i = colon + 1; i + 1 < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return 0;
    value = value * 10 + static_cast<unsigned long>(text[i] - '0');
    if (value > 65535) return 0;
  }
  return static_cast<std::uint16_t>(value);
}

// fork + exec with stdout/stderr to `out_path`; killed if the parent thread dies.
pid_t spawn(const std::vector<std::string>& argv_strings, const std::string& out_path) {
  std::vector<std::string> copy = argv_strings;
  std::vector<char*> argv;
  for (std::string& s : copy) argv.push_back(s.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t child = ::fork();
  if (child < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (child == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    const int out_fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (out_fd < 0 || null_fd < 0) ::_exit(125);
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(out_fd, STDERR_FILENO);
    ::close_range(3, ~0U, 0);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return child;
}

// Waits for `pid` up to `timeout`, then SIGKILLs it. Returns the wait status.
int reap(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (true) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR)) return status;
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      return status;
    }
    std::this_thread::sleep_for(5ms);
  }
}

std::filesystem::path make_temp_dir() {
  std::string pattern = "/tmp/matchd-feed-e2e-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "mkdtemp");
  }
  return pattern;
}

}  // namespace

std::string replay_binary() {
  if (const char* env = std::getenv("MATCHD_FEED_REPLAY_BINARY"); env != nullptr && *env != '\0') {
    return env;
  }
#ifdef MATCHD_FEED_REPLAY_BINARY
  return MATCHD_FEED_REPLAY_BINARY;
#else
  return "matchd-feed-replay";
#endif
}

replay_process::replay_process(std::vector<std::string> args, bool gated) : dir_(make_temp_dir()) {
  std::vector<std::string> argv{replay_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  const std::filesystem::path ready = dir_ / "ready";
  argv.insert(argv.end(), {"--host", "127.0.0.1", "--port", "0", "--ready-file", ready.string()});
  if (gated) argv.insert(argv.end(), {"--wait-for", (dir_ / "go").string()});
  pid_ = spawn(argv, (dir_ / "output.log").string());
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while ((port_ = port_from_ready_text(read_file(ready))) == 0) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      const std::string out = output();
      std::filesystem::remove_all(dir_);
      throw std::runtime_error("matchd-feed-replay exited before it was ready:\n" + out);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      reap(pid_, 5s);
      pid_ = -1;
      const std::string out = output();
      std::filesystem::remove_all(dir_);
      throw std::runtime_error("matchd-feed-replay did not get ready:\n" + out);
    }
    std::this_thread::sleep_for(5ms);
  }
}

replay_process::~replay_process() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    reap(pid_, 5s);
  }
  if (::testing::Test::HasFailure()) {
    std::cerr << "----- matchd-feed-replay output -----\n"
              << output() << "----- end of matchd-feed-replay output -----\n";
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string replay_process::url(const std::string& target) const {
  return "ws://127.0.0.1:" + std::to_string(port_) + target;
}

void replay_process::open_gate() {
  std::ofstream(dir_ / "go") << "go\n";
}

std::string replay_process::output() const {
  return read_file(dir_ / "output.log");
}

std::string run_and_capture(const std::string& binary, const std::vector<std::string>& args) {
  const std::filesystem::path dir = make_temp_dir();
  const std::filesystem::path out = dir / "out";
  std::vector<std::string> argv{binary};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string text;
  try {
    reap(spawn(argv, out.string()), 10s);
    text = read_file(out);
  } catch (const std::exception&) {
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return text;
}

}  // namespace matchd::feed::test
