#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

namespace matchd::pgtest {

// A throwaway nats-server with JetStream for one test: its own temporary store directory,
// its own loopback port, our own child process (stopped by pid, SIGKILLed if the thread that
// started it dies). stop() and start_again() keep the directory and the port, so a restart
// finds its streams as they were. The binary is $MATCHD_NATS_SERVER, else nats-server on PATH
// (Debian's package installs /usr/bin/nats-server).
class nats_server {
 public:
  static constexpr std::chrono::seconds kStartTimeout{20};
  static constexpr std::chrono::seconds kStopTimeout{20};

  nats_server() = default;
  ~nats_server();
  nats_server(const nats_server&) = delete;
  nats_server& operator=(const nats_server&) = delete;

  void start();
  // SIGTERM (JetStream flushes its store) and reap.
  void stop();
  void start_again();

  [[nodiscard]] bool running() const noexcept { return pid_ > 0; }
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] std::string log_text() const;

 private:
  void spawn();

  std::filesystem::path dir_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

}  // namespace matchd::pgtest
