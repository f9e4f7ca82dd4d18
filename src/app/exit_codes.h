#pragma once

#include <stdexcept>
#include <string>

namespace matchd::app {

// matchd's exit status, one meaning each (listed in `matchd --help` and the README), so a
// supervisor or a script can tell a mistake it must fix from a crash worth restarting.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFatal = 1;             // anything else that stopped the daemon
inline constexpr int kExitUsage = 2;             // unknown flag or bad value
inline constexpr int kExitCannotListen = 3;      // --listen address in use or not ours
inline constexpr int kExitDatabaseRejected = 4;  // --db malformed, or refused by the server
// Another matchd holds the database's writer lock: at start (nothing was recovered or
// served), or found on a reconnect (this daemon stopped acknowledging and stopped).
inline constexpr int kExitDatabaseInUse = 5;

// A start-up failure that the operator must fix (no retry can help), with the exit status
// that says which. Thrown while starting only; main() prints the message and exits.
class startup_error : public std::runtime_error {
 public:
  startup_error(int exit_code, const std::string& message)
      : std::runtime_error(message), exit_code_(exit_code) {}
  [[nodiscard]] int exit_code() const noexcept { return exit_code_; }

 private:
  int exit_code_;
};

}  // namespace matchd::app
