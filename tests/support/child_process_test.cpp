#include "child_process.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <optional>

namespace matchd::test {
namespace {

using namespace std::chrono_literals;

class child_process_test : public ::testing::Test {
 protected:
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::filesystem::path dir = make_temp_dir("matchd-support-test");
};

TEST_F(child_process_test, runs_a_program_with_its_output_in_files_and_reports_its_exit_code) {
  spawn_options options;
  options.stdout_path = dir / "out";
  options.stderr_path = dir / "err";
  options.cwd = dir;
  const pid_t pid =
      spawn_child({"/bin/sh", "-c", "echo out; echo err >&2; pwd > where; exit 3"}, options);
  const process_exit result = wait_for_child(pid, 10s);
  EXPECT_TRUE(result.exited);
  EXPECT_EQ(result.code, 3);
  EXPECT_FALSE(result.timed_out);
  EXPECT_FALSE(result.clean());
  EXPECT_EQ(read_whole_file(dir / "out"), "out\n");
  EXPECT_EQ(read_whole_file(dir / "err"), "err\n");
  EXPECT_EQ(read_whole_file(dir / "where"), dir.string() + "\n");
}

TEST_F(child_process_test, one_file_takes_both_streams_and_is_appended_to) {
  spawn_options options;
  options.stdout_path = dir / "log";
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(
        wait_for_child(spawn_child({"/bin/sh", "-c", "echo a; echo b >&2"}, options), 10s).clean());
  }
  EXPECT_EQ(read_whole_file(dir / "log"), "a\nb\na\nb\n");
}

TEST_F(child_process_test, a_child_past_its_deadline_is_killed_and_reaped) {
  spawn_options options;
  options.stdout_path = dir / "log";
  const pid_t pid = spawn_child({"/bin/sleep", "30"}, options);
  EXPECT_FALSE(poll_child(pid).has_value()) << "still running";
  const process_exit result = wait_for_child(pid, 50ms);
  EXPECT_TRUE(result.timed_out);
  EXPECT_EQ(result.signal, SIGKILL);
  EXPECT_FALSE(result.clean());
  EXPECT_NE(result.describe().find("SIGKILLed"), std::string::npos) << result.describe();
}

TEST_F(child_process_test, await_child_gives_the_exit_once_there_is_one_and_kills_nothing) {
  const pid_t pid = spawn_child({"/bin/sh", "-c", "read line; exit 5"}, logged_to(dir / "log"));
  // stdin is /dev/null: `read` sees EOF at once, so it ends by itself.
  const std::optional<process_exit> ended = await_child(pid, 10s);
  ASSERT_TRUE(ended.has_value());
  EXPECT_TRUE(ended->exited);
  EXPECT_EQ(ended->code, 5);
  EXPECT_FALSE(ended->timed_out);

  const pid_t sleeper = spawn_child({"/bin/sleep", "30"}, logged_to(dir / "log"));
  EXPECT_FALSE(await_child(sleeper, 20ms).has_value()) << "ended before its time";
  EXPECT_FALSE(poll_child(sleeper).has_value()) << "await_child must not kill it";
  EXPECT_TRUE(wait_for_child(sleeper, 0ms).timed_out);
}

TEST_F(child_process_test, a_missing_program_exits_127) {
  spawn_options options;
  options.stdout_path = dir / "log";
  const process_exit result = wait_for_child(spawn_child({"/nonexistent/program"}, options), 10s);
  EXPECT_TRUE(result.exited);
  EXPECT_EQ(result.code, 127);
}

TEST(port_from_ready_text, reads_only_a_complete_host_port_line) {
  EXPECT_EQ(port_from_ready_text("127.0.0.1:8080\n"), 8080);
  EXPECT_EQ(port_from_ready_text("[::1]:65535\n"), 65535);
  EXPECT_EQ(port_from_ready_text("127.0.0.1:8080"), 0) << "not yet complete";
  EXPECT_EQ(port_from_ready_text(""), 0);
  EXPECT_EQ(port_from_ready_text("127.0.0.1:\n"), 0);
  EXPECT_EQ(port_from_ready_text("127.0.0.1:80a\n"), 0);
  EXPECT_EQ(port_from_ready_text("127.0.0.1:65536\n"), 0);
}

}  // namespace
}  // namespace matchd::test
