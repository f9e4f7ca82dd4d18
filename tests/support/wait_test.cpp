#include "wait.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace matchd::test {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

TEST(wait_until, returns_at_once_when_the_condition_holds) {
  int calls = 0;
  EXPECT_TRUE(wait_until(
      [&] {
        ++calls;
        return true;
      },
      0ms));
  EXPECT_EQ(calls, 1);
}

TEST(wait_until, returns_once_another_thread_makes_the_condition_true) {
  std::atomic<bool> flag{false};
  std::thread setter([&] { flag = true; });
  const auto start = steady::now();
  EXPECT_TRUE(wait_until([&] { return flag.load(); }, 10s, 1ms));
  EXPECT_LT(steady::now() - start, 10s);
  setter.join();
}

TEST(wait_until, gives_up_at_the_deadline_after_a_last_look) {
  const auto start = steady::now();
  steady::time_point last_call{};
  EXPECT_FALSE(wait_until(
      [&] {
        last_call = steady::now();
        return false;
      },
      50ms, 20ms));
  EXPECT_GE(last_call - start, 50ms) << "the condition was not looked at after the deadline";
  EXPECT_LT(steady::now() - start, 5s);  // loose: CI machines are noisy
}

}  // namespace
}  // namespace matchd::test
