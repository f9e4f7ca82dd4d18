#include "nats_server.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>
#include <thread>
#include <vector>

#include "child_process.h"
#include "loopback_port.h"

namespace matchd::pgtest {

namespace {

std::string binary() {
  if (const char* env = std::getenv("MATCHD_NATS_SERVER"); env != nullptr && *env != '\0') {
    return env;
  }
  for (const char* dir : {"/usr/bin", "/usr/local/bin", "/usr/sbin"}) {
    const std::filesystem::path p = std::filesystem::path(dir) / "nats-server";
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  throw std::runtime_error(
      "nats-server not found (apt-get install nats-server, or set "
      "MATCHD_NATS_SERVER)");
}

}  // namespace

nats_server::~nats_server() {
  try {
    stop();
  } catch (...) {  // NOLINT(bugprone-empty-catch): a destructor reaps what it can
  }
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

void nats_server::start() {
  if (!dir_.empty()) throw std::logic_error("nats_server::start called twice");
  dir_ = test::make_temp_dir("matchd-nats");
  port_ = test::pick_loopback_port();
  spawn();
}

void nats_server::start_again() {
  if (running()) return;
  spawn();
}

void nats_server::spawn() {
  const std::vector<std::string> argv = {
      binary(),    "--jetstream", "--store_dir",         (dir_ / "store").string(), "--addr",
      "127.0.0.1", "--port",      std::to_string(port_), "--server_name",           "matchd-test"};
  const std::size_t log_before = log_text().size();  // the log is appended to by each run
  pid_ = test::spawn_child(argv, test::logged_to(dir_ / "nats.log"));
  const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  // Ready once JetStream is: the log line comes after the store was read back.
  while (std::chrono::steady_clock::now() < deadline) {
    if (const auto ended = test::poll_child(pid_)) {
      pid_ = -1;
      throw std::runtime_error("nats-server ended at start: " + ended->describe() + "\n" +
                               log_text());
    }
    if (test::accepts_connections(port_) &&
        log_text().find("Server is ready", log_before) != std::string::npos) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  test::wait_for_child(pid_, std::chrono::milliseconds(0));
  pid_ = -1;
  throw std::runtime_error("nats-server not ready within " + std::to_string(kStartTimeout.count()) +
                           " s\n" + log_text());
}

void nats_server::stop() {
  if (!running()) return;
  ::kill(pid_, SIGTERM);
  test::wait_for_child(pid_, kStopTimeout);
  pid_ = -1;
}

std::string nats_server::log_text() const {
  return test::read_whole_file(dir_ / "nats.log");
}

}  // namespace matchd::pgtest
