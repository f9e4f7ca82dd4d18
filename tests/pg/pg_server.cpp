#include "pg_server.h"

#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <pqxx/pqxx>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "loopback_port.h"
#include "wait.h"

namespace matchd::pgtest {
namespace {

using namespace std::chrono_literals;

std::string tail(const std::string& text, std::size_t max_chars = 6000) {
  return text.size() <= max_chars ? text : "...\n" + text.substr(text.size() - max_chars);
}

using test::read_whole_file;

bool file_exists(const std::string& path) {
  return ::access(path.c_str(), X_OK) == 0;
}

std::string run_pg_config_bindir() {
  FILE* pipe = ::popen("pg_config --bindir 2>/dev/null", "r");
  if (pipe == nullptr) return {};
  std::array<char, 512> buffer{};
  std::string out;
  while (std::fgets(buffer.data(), static_cast<int>(buffer.size()), pipe) != nullptr) {
    out += buffer.data();
  }
  ::pclose(pipe);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace

std::string pg_server::bin_dir() {
  if (const char* env = std::getenv("MATCHD_PG_BINDIR"); env != nullptr && *env != '\0') {
    return env;
  }
#ifdef MATCHD_PG_BINDIR
  if (file_exists(std::string(MATCHD_PG_BINDIR) + "/postgres")) return MATCHD_PG_BINDIR;
#endif
  return run_pg_config_bindir();
}

pg_server::~pg_server() {
  try {
    if (running()) stop();
  } catch (const std::exception& e) {
    std::cerr << "[pg_server] stop failed: " << e.what() << "\n";
    if (running()) signal_and_reap(SIGKILL, 5s);
  }
  if (dir_.empty()) return;
  if (std::getenv("MATCHD_PG_KEEP_DIR") != nullptr) {
    std::cerr << "[pg_server] keeping " << dir_.string() << "\n";
    return;
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string pg_server::connection_string(std::string_view database) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) +
         " user=postgres dbname=" + std::string(database) + " connect_timeout=5";
}

// How a server binary of the cluster runs: as `postgres` when we are root, in the cluster's
// directory, its output (both streams) appended to `log`.
test::spawn_options pg_server::child_options(const std::filesystem::path& log,
                                             int parent_death_signal) const {
  test::spawn_options options;
  options.stdout_path = log;
  options.cwd = dir_;
  if (as_postgres_user_) options.run_as = test::spawn_options::user{uid_, gid_};
  options.parent_death_signal = parent_death_signal;
  return options;
}

std::string pg_server::log_text() const {
  return read_whole_file(log_file());
}

void pg_server::start() {
  if (!dir_.empty()) throw std::logic_error("pg_server::start called twice");
  const std::string bin = bin_dir();
  if (bin.empty() || !file_exists(bin + "/initdb") || !file_exists(bin + "/postgres")) {
    throw std::runtime_error("PostgreSQL server binaries not found (bin dir '" + bin +
                             "'); set MATCHD_PG_BINDIR");
  }

  dir_ = test::make_temp_dir("matchd-pg");
  ::chmod(dir_.c_str(), 0700);
  if (::geteuid() == 0) {
    // PostgreSQL refuses to run as root: the cluster belongs to `postgres`. /tmp is
    // world-traversable, so the user can reach its directory.
    const passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr) throw std::runtime_error("running as root but no `postgres` user exists");
    as_postgres_user_ = true;
    uid_ = pw->pw_uid;
    gid_ = pw->pw_gid;
    if (::chown(dir_.c_str(), uid_, gid_) != 0) {
      throw std::system_error(errno, std::generic_category(), "chown " + dir_.string());
    }
  }

  const std::filesystem::path init_log = dir_ / "initdb.log";
  const pid_t init = test::spawn_child(
      {bin + "/initdb", "-D", data_dir().string(), "-U", "postgres", "-A", "trust", "--no-sync",
       "--no-instructions", "--locale=C", "--encoding=UTF8"},
      child_options(init_log, SIGKILL));
  const test::process_exit initdb = test::wait_for_child(init, kInitTimeout);
  if (!initdb.clean()) {
    throw std::runtime_error("initdb failed (" + initdb.describe() + "):\n" +
                             tail(read_whole_file(init_log)));
  }

  // The port is picked before the postmaster binds it (outside the ephemeral range, so that
  // start_again() finds it free); retry if someone else got it first.
  for (int attempt = 1;; ++attempt) {
    port_ = test::pick_loopback_port();
    try {
      spawn_postmaster();
      wait_accepting_connections();
      break;
    } catch (const std::exception&) {
      if (running()) signal_and_reap(SIGQUIT, 10s);
      if (attempt >= 3) throw;
    }
  }

  try {
    pqxx::connection connection(connection_string("postgres"));
    pqxx::nontransaction work(connection);
    work.exec0(std::string("CREATE DATABASE ") + kDatabase);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("CREATE DATABASE failed: ") + e.what() + "\n" +
                             tail(log_text()));
  }
}

void pg_server::start_again() {
  if (dir_.empty()) throw std::logic_error("pg_server::start_again before start");
  if (running()) return;
  spawn_postmaster();
  wait_accepting_connections();
}

void pg_server::stop() {
  if (!running()) return;
  signal_and_reap(SIGINT, kStopTimeout);
}

void pg_server::stop_immediately() {
  if (!running()) return;
  signal_and_reap(SIGQUIT, kStopTimeout);
}

void pg_server::spawn_postmaster() {
  const std::string bin = bin_dir();
  {
    std::ofstream(log_file(), std::ios::app)
        << "=== pg_server: starting postmaster on port " << port_ << "\n";
  }
  pid_ = test::spawn_child(
      {bin + "/postgres", "-D", data_dir().string(), "-p", std::to_string(port_), "-k",
       dir_.string(), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=on", "-c",
       "shared_buffers=32MB", "-c", "max_connections=60", "-c", "log_min_messages=warning",
       // After an immediate shutdown one syncfs() instead of an fsync per file.
       "-c", "recovery_init_sync_method=syncfs", "-c", "log_line_prefix=%m [%p] "},
      child_options(log_file(), SIGQUIT));
}

void pg_server::wait_accepting_connections() {
  const std::string conninfo = connection_string("postgres");
  std::optional<test::process_exit> ended;
  const bool accepting = test::wait_until(
      [&] {
        ended = test::poll_child(pid_);
        return ended || ::PQping(conninfo.c_str()) == PQPING_OK;
      },
      kStartTimeout, 50ms);
  if (ended) {
    pid_ = -1;
    throw std::runtime_error("postgres exited while starting (" + ended->describe() + "):\n" +
                             tail(log_text()));
  }
  if (!accepting) {
    signal_and_reap(SIGQUIT, 10s);
    throw std::runtime_error("postgres did not accept connections within " +
                             std::to_string(kStartTimeout.count()) + " s:\n" + tail(log_text()));
  }
}

// Signals our own postmaster by pid and reaps it. Escalates to SIGQUIT and then SIGKILL if
// it is still there after `timeout`, and throws in that case.
void pg_server::signal_and_reap(int sig, std::chrono::seconds timeout) {
  if (!running()) return;
  ::kill(pid_, sig);
  if (test::await_child(pid_, timeout)) {
    pid_ = -1;
    return;
  }
  ::kill(pid_, SIGQUIT);
  test::wait_for_child(pid_, 5s);
  pid_ = -1;
  throw std::runtime_error("postgres did not stop within " + std::to_string(timeout.count()) +
                           " s after signal " + std::to_string(sig) + "; killed:\n" +
                           tail(log_text()));
}

}  // namespace matchd::pgtest
