#include "thread_state.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "wait.h"

namespace matchd::test {
namespace {

using namespace std::chrono_literals;

TEST(thread_state, lists_this_process_threads_with_the_caller) {
  std::atomic<pid_t> other{0};
  std::atomic<bool> done{false};
  std::thread t([&] {
    other = current_thread_id();
    while (!done) std::this_thread::yield();
  });
  ASSERT_TRUE(wait_until([&] { return other.load() != 0; }, 10s));
  const std::vector<pid_t> tids = threads_of_this_process();
  EXPECT_NE(std::find(tids.begin(), tids.end(), current_thread_id()), tids.end());
  EXPECT_NE(std::find(tids.begin(), tids.end(), other.load()), tids.end());
  done = true;
  t.join();
}

TEST(thread_state, sees_a_thread_blocked_on_a_condition_variable_and_not_a_running_one) {
  std::mutex mutex;
  std::condition_variable cv;
  bool go = false;
  std::atomic<pid_t> waiter{0};
  std::thread t([&] {
    waiter = current_thread_id();
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return go; });
  });
  ASSERT_TRUE(wait_until([&] { return waiter.load() != 0; }, 10s));
  // std::condition_variable sleeps in futex(2) on Linux.
  EXPECT_TRUE(wait_until([&] { return futex_wait_of(waiter).has_value(); }, 10s))
      << "/proc/self/task/" << waiter << "/syscall never showed a futex wait";
  EXPECT_FALSE(futex_wait_of(current_thread_id()).has_value()) << "the caller is running";
  {
    std::lock_guard lock(mutex);
    go = true;
  }
  cv.notify_one();
  t.join();
}

TEST(thread_state, finds_a_thread_by_name_and_tells_a_timed_wait_from_an_untimed_one) {
  std::mutex mutex;
  std::condition_variable cv;
  bool timed_done = false;
  bool go = false;
  std::thread t([&] {
    pthread_setname_np(pthread_self(), "state-test");
    std::unique_lock lock(mutex);
    // First a wait with a timeout (long: the test ends it), then one without.
    cv.wait_for(lock, 1h, [&] { return timed_done; });
    cv.wait(lock, [&] { return go; });
  });
  const std::optional<futex_wait> timed =
      wait_until_asleep("state-test", 10s, [](const futex_wait& w) { return w.timed; });
  ASSERT_TRUE(timed.has_value()) << "no timed wait seen";
  {
    std::lock_guard lock(mutex);
    timed_done = true;
  }
  cv.notify_one();
  const std::optional<futex_wait> untimed =
      wait_until_asleep("state-test", 10s, [](const futex_wait& w) { return !w.timed; });
  EXPECT_TRUE(untimed.has_value()) << "no untimed wait seen";
  {
    std::lock_guard lock(mutex);
    go = true;
  }
  cv.notify_one();
  t.join();
  EXPECT_FALSE(thread_named("state-test").has_value()) << "the thread has ended";
}

}  // namespace
}  // namespace matchd::test
