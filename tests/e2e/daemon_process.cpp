#include "daemon_process.h"

#include "durable_database.h"
#include "loopback_port.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <algorithm>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace matchd::e2e {
namespace {

using namespace std::chrono_literals;

std::string read_whole_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream out;
  out << in.rdbuf();
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

std::filesystem::path make_temp_dir() {
  std::string pattern = "/tmp/matchd-e2e-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "mkdtemp");
  }
  return pattern;
}

// Parses "HOST:PORT\n"; 0 when the file is incomplete or malformed.
std::uint16_t port_from_ready_text(const std::string& text) {
  if (text.empty() || text.back() != '\n') return 0;
  const std::string line = text.substr(0, text.size() - 1);
  const std::size_t colon = line.rfind(':');
  if (colon == std::string::npos || colon + 1 >= line.size()) return 0;
  unsigned long value = 0;
  for (std::size_t i = colon + 1; i < line.size(); ++i) {
    if (line[i] < '0' || line[i] > '9') return 0;
    value = value * 10 + static_cast<unsigned long>(line[i] - '0');
    if (value > 65535) return 0;
  }
  return static_cast<std::uint16_t>(value);
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

std::string matchd_binary() {
  if (const char* env = std::getenv("MATCHD_E2E_BINARY"); env != nullptr && *env != '\0') {
    return env;
  }
#ifdef MATCHD_BINARY
  return MATCHD_BINARY;
#else
  return "matchd";
#endif
}

std::vector<std::string> daemon_process::default_args() {
  return {"--rate-limit", "0"};
}

daemon_process::daemon_process(std::vector<std::string> args)
    : args_(std::move(args)), dir_(make_temp_dir()) {
  try {
    if (durable_mode() && std::find(args_.begin(), args_.end(), "--db") == args_.end()) {
      database_ = std::make_unique<durable_database>();
      args_.push_back("--db");
      args_.push_back(database_->conninfo());
    }
    start_on_a_new_port();
  } catch (...) {
    if (running()) kill9();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
    throw;
  }
}

daemon_process::~daemon_process() {
  if (running()) {
    const process_exit result = terminate_and_wait(kStopTimeout);
    if (!result.clean()) {
      std::cerr << "[matchd-e2e] daemon did not stop cleanly on SIGTERM: " << result.describe()
                << "\n";
    }
  }
  if (::testing::Test::HasFailure()) {
    std::cerr << "[matchd-e2e] the test failed; daemon output (" << dir_.string() << "):\n"
              << logs();
  }
  if (std::getenv("MATCHD_E2E_KEEP_DIR") == nullptr) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

std::string daemon_process::stdout_text() const {
  return read_whole_file(stdout_file());
}
std::string daemon_process::stderr_text() const {
  return read_whole_file(stderr_file());
}

std::string daemon_process::logs() const {
  std::string text = "----- matchd stdout -----\n" + stdout_text();
  text += "\n----- matchd stderr -----\n" + stderr_text();
  text += "\n----- end of matchd output -----\n";
  return text;
}

void daemon_process::start_on_a_new_port() {
  constexpr int kAttempts = 5;
  for (int attempt = 1;; ++attempt) {
    try {
      start(test::pick_loopback_port());
      return;
    } catch (const std::exception&) {
      // Someone bound the port between the pick and the daemon's own bind: pick another.
      const bool port_taken = !running() && last_exit_.exited && last_exit_.code == 1 &&
                              stderr_text().find("Address already in use") != std::string::npos;
      if (!port_taken || attempt == kAttempts) throw;
      std::error_code ignored;
      std::filesystem::remove(stderr_file(), ignored);
    }
  }
}

void daemon_process::start(std::uint16_t listen_port) {
  std::error_code ignored;
  std::filesystem::remove(ready_file(), ignored);

  std::vector<std::string> argv_strings;
  argv_strings.push_back(matchd_binary());
  argv_strings.insert(argv_strings.end(), args_.begin(), args_.end());
  argv_strings.push_back("--listen");
  argv_strings.push_back("127.0.0.1:" + std::to_string(listen_port));
  argv_strings.push_back("--ready-file");
  argv_strings.push_back(ready_file().string());
  std::vector<char*> argv;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  const std::string out_path = stdout_file().string();
  const std::string err_path = stderr_file().string();
  {
    // Marks each run in the logs, so a restart's output can be told apart.
    std::ofstream(out_path, std::ios::app) << "=== start:";
    std::ofstream(err_path, std::ios::app) << "=== start\n";
    std::ofstream out(out_path, std::ios::app);
    for (const std::string& s : argv_strings) out << ' ' << s;
    out << '\n';
  }

  const pid_t parent = ::getpid();
  const pid_t child = ::fork();
  if (child < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (child == 0) {
    // Only async-signal-safe calls from here to exec.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    const int out_fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    const int err_fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (out_fd < 0 || err_fd < 0 || null_fd < 0) ::_exit(125);
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(err_fd, STDERR_FILENO);
    // The test's own sockets must not stay open in the daemon.
    ::close_range(3, ~0U, 0);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  pid_ = child;
  port_ = 0;
  wait_ready();
}

void daemon_process::wait_ready() {
  const auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
  while (true) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      last_exit_ = exit_from_wait_status(status);
      throw std::runtime_error("matchd exited before it was ready: " + last_exit_.describe() +
                               " (exit code 127: could not exec " + matchd_binary() + ")\n" +
                               logs());
    }
    const std::uint16_t port = port_from_ready_text(read_whole_file(ready_file()));
    if (port != 0) {
      port_ = port;
      return;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      kill9();
      throw std::runtime_error("matchd did not write a valid ready file within " +
                               std::to_string(kReadyTimeout.count()) + " s\n" + logs());
    }
    std::this_thread::sleep_for(10ms);
  }
}

void daemon_process::send_signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

process_exit daemon_process::wait_for_exit(std::chrono::milliseconds timeout) {
  if (!running()) return last_exit_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (true) {
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      last_exit_ = exit_from_wait_status(status);
      break;
    }
    if (r < 0 && errno != EINTR) {
      last_exit_ = process_exit{};
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      last_exit_ = exit_from_wait_status(status);
      last_exit_.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(5ms);
  }
  pid_ = -1;
  return last_exit_;
}

process_exit daemon_process::terminate_and_wait(std::chrono::milliseconds timeout) {
  send_signal(SIGTERM);
  return wait_for_exit(timeout);
}

void daemon_process::kill9() {
  send_signal(SIGKILL);
  wait_for_exit(kStopTimeout);
}

void daemon_process::restart() {
  const std::uint16_t previous_port = port_;
  if (running()) terminate_and_wait(kStopTimeout);
  start(previous_port);
}

}  // namespace matchd::e2e
