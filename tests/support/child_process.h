#pragma once

#include <signal.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// What every test harness that runs a program as a child needs: the programs differ (the
// daemon, a postmaster, the feed replay server, the load tools), the plumbing does not.
namespace matchd::test {

// How a child process ended.
struct process_exit {
  bool exited = false;  // left main or called exit(); `code` is valid
  int code = -1;
  int signal = 0;          // killed by this signal otherwise
  bool timed_out = false;  // did not end within the wait and was then SIGKILLed
  [[nodiscard]] bool clean() const noexcept { return exited && code == 0 && !timed_out; }
  [[nodiscard]] std::string describe() const;
};

process_exit exit_from_wait_status(int status);

struct spawn_options {
  std::filesystem::path stdout_path;  // appended to (created if missing)
  std::filesystem::path stderr_path;  // empty: the same file as stdout
  std::filesystem::path cwd;          // empty: the parent's
  struct user {
    uid_t uid;
    gid_t gid;
  };
  std::optional<user> run_as;  // switch to this user (the parent must be root)
  // Sent to the child when the thread that spawned it dies, so a crashed or timed-out test
  // leaves nothing behind (SIGQUIT for a postmaster: its immediate shutdown).
  int parent_death_signal = SIGKILL;
};

// The common case: stdout and stderr appended to `log`, nothing else changed.
spawn_options logged_to(const std::filesystem::path& log);

// fork + exec of argv[0] (a path, no PATH search), stdin from /dev/null, the output files
// opened by the parent (so they may belong to another user than the child), no other
// descriptor inherited. Throws std::system_error when the files cannot be opened or fork
// fails; an exec failure shows as exit code 127 (123 chdir, 124 user switch, 126 orphaned).
pid_t spawn_child(const std::vector<std::string>& argv, const spawn_options& options);

// Waits up to `timeout` for `pid` to end: its exit (reaped), or nullopt while it still runs.
std::optional<process_exit> await_child(pid_t pid, std::chrono::milliseconds timeout);

// Waits for `pid` to end; SIGKILLs it after `timeout` (timed_out set) and reaps it.
process_exit wait_for_child(pid_t pid, std::chrono::milliseconds timeout);

// The exit of `pid` if it has ended (reaped), nullopt while it runs.
std::optional<process_exit> poll_child(pid_t pid);

// The file's bytes; empty when it does not exist.
std::string read_whole_file(const std::filesystem::path& path);

// A new directory /tmp/<prefix>-XXXXXX.
std::filesystem::path make_temp_dir(std::string_view prefix);

// The port of a ready file's "HOST:PORT\n"; 0 while the file is incomplete or malformed.
std::uint16_t port_from_ready_text(std::string_view text);

}  // namespace matchd::test
