#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "child_process.h"
#include "daemon_process.h"

namespace matchd::e2e {

// What a run of matchd that is expected to end by itself left behind.
struct finished_run {
  test::process_exit exit;
  std::string out;  // stdout
  std::string err;  // stderr
  [[nodiscard]] std::string describe() const {
    return exit.describe() + "\n--- stdout\n" + out + "--- stderr\n" + err;
  }
};

// Runs `matchd args...` in a fresh temporary directory and waits for it to exit (SIGKILL
// after `timeout`, then timed_out is set). For start-up paths that end the process: --help,
// --version, bad flags, errors the operator must fix.
inline finished_run run_to_exit(const std::vector<std::string>& args,
                                std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  const std::filesystem::path dir = test::make_temp_dir("matchd-run");
  test::spawn_options options;
  options.stdout_path = dir / "stdout";
  options.stderr_path = dir / "stderr";
  options.cwd = dir;
  std::vector<std::string> argv{matchd_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  const pid_t pid = test::spawn_child(argv, options);
  finished_run run;
  run.exit = test::wait_for_child(pid, timeout);
  run.out = test::read_whole_file(options.stdout_path);
  run.err = test::read_whole_file(options.stderr_path);
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return run;
}

}  // namespace matchd::e2e
