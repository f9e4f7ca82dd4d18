#include "replay_process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <system_error>

#include "child_process.h"
#include "wait.h"

namespace matchd::feed::test {
namespace {

using namespace std::chrono_literals;

using matchd::test::read_whole_file;

}  // namespace

std::string replay_binary() {
  if (const char* env = std::getenv("MATCHD_FEED_REPLAY_BINARY"); env != nullptr && *env != '\0') {
    return env;
  }
#ifdef MATCHD_FEED_REPLAY_BINARY
  return MATCHD_FEED_REPLAY_BINARY;
#else
  return "matchd-feed-replay";
#endif
}

replay_process::replay_process(std::vector<std::string> args, bool gated)
    : dir_(matchd::test::make_temp_dir("matchd-feed-e2e")) {
  std::vector<std::string> argv{replay_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  const std::filesystem::path ready = dir_ / "ready";
  argv.insert(argv.end(), {"--host", "127.0.0.1", "--port", "0", "--ready-file", ready.string()});
  if (gated) argv.insert(argv.end(), {"--wait-for", (dir_ / "go").string()});
  pid_ = matchd::test::spawn_child(argv, matchd::test::logged_to(dir_ / "output.log"));
  bool ended = false;
  const bool got_ready = matchd::test::wait_until(
      [&] {
        ended = matchd::test::poll_child(pid_).has_value();
        port_ = matchd::test::port_from_ready_text(read_whole_file(ready));
        return ended || port_ != 0;
      },
      10s);
  if (ended) {
    pid_ = -1;
    const std::string out = output();
    std::filesystem::remove_all(dir_);
    throw std::runtime_error("matchd-feed-replay exited before it was ready:\n" + out);
  }
  if (!got_ready) {
    matchd::test::wait_for_child(pid_, 0ms);  // SIGKILL and reap
    pid_ = -1;
    const std::string out = output();
    std::filesystem::remove_all(dir_);
    throw std::runtime_error("matchd-feed-replay did not get ready:\n" + out);
  }
}

replay_process::~replay_process() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    matchd::test::wait_for_child(pid_, 5s);
  }
  if (::testing::Test::HasFailure()) {
    std::cerr << "----- matchd-feed-replay output -----\n"
              << output() << "----- end of matchd-feed-replay output -----\n";
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string replay_process::url(const std::string& target) const {
  return "ws://127.0.0.1:" + std::to_string(port_) + target;
}

void replay_process::open_gate() {
  std::ofstream(dir_ / "go") << "go\n";
}

std::string replay_process::output() const {
  return read_whole_file(dir_ / "output.log");
}

std::string run_and_capture(const std::string& binary, const std::vector<std::string>& args) {
  const std::filesystem::path dir = matchd::test::make_temp_dir("matchd-feed-e2e");
  const std::filesystem::path out = dir / "out";
  std::vector<std::string> argv{binary};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string text;
  try {
    matchd::test::wait_for_child(matchd::test::spawn_child(argv, matchd::test::logged_to(out)),
                                 10s);
    text = read_whole_file(out);
  } catch (const std::exception&) {
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return text;
}

}  // namespace matchd::feed::test
