#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace matchd::feed::test {

// Path of matchd-feed-replay: $MATCHD_FEED_REPLAY_BINARY if set, else the build's.
std::string replay_binary();

// matchd-feed-replay serving the fixture, run as a child process in a fresh temporary
// directory with `--port 0 --ready-file <dir>/ready` (plus `--wait-for <dir>/go` when
// gated). The constructor returns once the ready file names the port (or throws with the
// output). The destructor stops it (SIGTERM, then SIGKILL), prints its output if the test
// failed, and removes the directory. The child is SIGKILLed if the starting thread dies.
class replay_process {
 public:
  replay_process(std::vector<std::string> args, bool gated);
  ~replay_process();
  replay_process(const replay_process&) = delete;
  replay_process& operator=(const replay_process&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  // "ws://127.0.0.1:<port>/ws/btcusdt@trade"
  [[nodiscard]] std::string url(const std::string& target = "/ws/btcusdt@trade") const;
  // Lets a gated server start sending.
  void open_gate();
  [[nodiscard]] std::string output() const;

 private:
  std::filesystem::path dir_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

// Everything `binary args...` writes to stdout (bounded by a 10 s timeout); "" on failure.
std::string run_and_capture(const std::string& binary, const std::vector<std::string>& args);

}  // namespace matchd::feed::test
