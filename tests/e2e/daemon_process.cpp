#include "daemon_process.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <stdexcept>

#include "durable_database.h"
#include "loopback_port.h"
#include "wait.h"

namespace matchd::e2e {
using namespace std::chrono_literals;
using test::read_whole_file;

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
    : args_(std::move(args)), dir_(test::make_temp_dir("matchd-e2e")) {
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
  test::spawn_options options;
  options.stdout_path = stdout_file();
  options.stderr_path = stderr_file();
  pid_ = test::spawn_child(argv_strings, options);
  port_ = 0;
  wait_ready();
}

void daemon_process::wait_ready() {
  std::optional<process_exit> ended;
  const bool ready = test::wait_until(
      [&] {
        ended = test::poll_child(pid_);
        port_ = test::port_from_ready_text(read_whole_file(ready_file()));
        return ended.has_value() || port_ != 0;
      },
      kReadyTimeout);
  if (ended) {
    pid_ = -1;
    port_ = 0;
    last_exit_ = *ended;
    throw std::runtime_error("matchd exited before it was ready: " + last_exit_.describe() +
                             " (exit code 127: could not exec " + matchd_binary() + ")\n" + logs());
  }
  if (!ready) {
    kill9();
    throw std::runtime_error("matchd did not write a valid ready file within " +
                             std::to_string(kReadyTimeout.count()) + " s\n" + logs());
  }
}

void daemon_process::send_signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

process_exit daemon_process::wait_for_exit(std::chrono::milliseconds timeout) {
  if (!running()) return last_exit_;
  last_exit_ = test::wait_for_child(pid_, timeout);
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
