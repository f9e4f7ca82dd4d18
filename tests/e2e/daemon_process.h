#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "child_process.h"

namespace matchd::e2e {

class durable_database;

using test::process_exit;

// Path of the daemon under test: $MATCHD_E2E_BINARY if set, else the build's `matchd`.
std::string matchd_binary();

// The daemon under test, run as a child process in a fresh temporary directory.
//
// In durable mode (durable_database.h) a daemon started without --db gets a fresh database
// of its own, kept across restart() and dropped by the destructor.
//
// The constructor starts it with the given arguments plus `--listen 127.0.0.1:<port>
// --ready-file <dir>/ready`, the port from pick_loopback_port() (outside the ephemeral range,
// so that restart() finds it free again), and returns once the ready file names it (or throws
// with the daemon's output). stdout and stderr go to files in the directory; they are
// printed when the current test has failed. The destructor stops the daemon (SIGTERM, then
// SIGKILL after kStopTimeout), reaps it and removes the directory. The child gets SIGKILL if
// the thread that started it dies, so a crashed or timed-out test leaves no daemon behind;
// start it from the test's main thread. Not thread-safe. Signals only ever go to its own pid.
class daemon_process {
 public:
  static constexpr std::chrono::seconds kReadyTimeout{20};
  static constexpr std::chrono::seconds kStopTimeout{10};

  // What most tests want: the daemon's defaults with the rate limiter off.
  static std::vector<std::string> default_args();

  explicit daemon_process(std::vector<std::string> args = default_args());
  ~daemon_process();
  daemon_process(const daemon_process&) = delete;
  daemon_process& operator=(const daemon_process&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  [[nodiscard]] bool running() const noexcept { return pid_ > 0; }
  [[nodiscard]] const std::filesystem::path& dir() const noexcept { return dir_; }
  [[nodiscard]] std::string stdout_text() const;
  [[nodiscard]] std::string stderr_text() const;
  // Both outputs with headers, for failure messages.
  [[nodiscard]] std::string logs() const;

  // Sends `sig` to the daemon's own pid. No-op when it is not running.
  void send_signal(int sig);
  // Waits for the daemon to exit by itself; after `timeout` it is SIGKILLed (timed_out set).
  process_exit wait_for_exit(std::chrono::milliseconds timeout);
  // SIGTERM, then wait_for_exit.
  process_exit terminate_and_wait(std::chrono::milliseconds timeout = kStopTimeout);
  // SIGKILL and reap: a crash as far as the daemon can tell.
  void kill9();
  // Starts the daemon again with the same arguments, directory and port (stopping it with
  // SIGTERM first if it still runs). Existing clients reconnect to the same port.
  void restart();

 private:
  void start_on_a_new_port();
  void start(std::uint16_t listen_port);
  void wait_ready();
  [[nodiscard]] std::filesystem::path ready_file() const { return dir_ / "ready"; }
  [[nodiscard]] std::filesystem::path stdout_file() const { return dir_ / "stdout.log"; }
  [[nodiscard]] std::filesystem::path stderr_file() const { return dir_ / "stderr.log"; }

  std::unique_ptr<durable_database> database_;  // before args_: they name it
  std::vector<std::string> args_;
  std::filesystem::path dir_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  process_exit last_exit_;
};

}  // namespace matchd::e2e
