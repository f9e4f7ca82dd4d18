#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "child_process.h"

namespace matchd::pgtest {

// A throwaway PostgreSQL cluster for one test: its own temporary directory, its own
// loopback port, its own postmaster. Nothing is shared with other tests, so suites that
// use it may run in parallel.
//
// start() runs `initdb --no-sync` in a fresh mkdtemp directory under /tmp (owned by the
// `postgres` user when we run as root, since PostgreSQL refuses to run as root), starts the
// postmaster on 127.0.0.1 only (unix socket in the same directory, fsync on) and creates
// the database `matchd`. The postmaster is our own child process: stop() sends it SIGINT
// (a "fast" shutdown, as `pg_ctl stop -m fast`) and reaps it by pid, and it gets SIGQUIT
// (immediate shutdown) if the thread that started it dies, so a crashed or timed-out test
// leaves no cluster running. Start it from the test's main thread. Every wait is bounded;
// failures throw std::runtime_error with the server log. Not thread-safe.
//
// The binaries come from $MATCHD_PG_BINDIR, else the directory found at configure time,
// else `pg_config --bindir`.
class pg_server {
 public:
  static constexpr std::chrono::seconds kInitTimeout{60};
  static constexpr std::chrono::seconds kStartTimeout{30};
  static constexpr std::chrono::seconds kStopTimeout{30};
  static constexpr const char* kDatabase = "matchd";

  pg_server() = default;
  ~pg_server();
  pg_server(const pg_server&) = delete;
  pg_server& operator=(const pg_server&) = delete;

  // initdb, start, create database `matchd`. Once per object.
  void start();
  // Fast shutdown; waits until the postmaster has exited. No-op when not running.
  void stop();
  // Immediate shutdown (SIGQUIT): what a database crash looks like to clients.
  void stop_immediately();
  // Starts the postmaster again on the same data directory and port.
  void start_again();

  [[nodiscard]] bool running() const noexcept { return pid_ > 0; }
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  [[nodiscard]] const std::filesystem::path& dir() const noexcept { return dir_; }
  // "host=127.0.0.1 port=<port> user=postgres dbname=<database>"
  [[nodiscard]] std::string connection_string(std::string_view database = kDatabase) const;
  // The postmaster's log (all runs).
  [[nodiscard]] std::string log_text() const;

  // Directory holding initdb and postgres.
  static std::string bin_dir();

 private:
  void spawn_postmaster();
  void wait_accepting_connections();
  void signal_and_reap(int sig, std::chrono::seconds timeout);
  [[nodiscard]] test::spawn_options child_options(const std::filesystem::path& log,
                                                  int parent_death_signal) const;
  [[nodiscard]] std::filesystem::path data_dir() const { return dir_ / "data"; }
  [[nodiscard]] std::filesystem::path log_file() const { return dir_ / "postgres.log"; }

  std::filesystem::path dir_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  bool as_postgres_user_ = false;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
};

}  // namespace matchd::pgtest
