// The eventcount that lets a consumer of several SPSC queues sleep: timeouts, wake-ups,
// and a bursty multi-producer stress that fails if a notification is ever lost.

#include <gtest/gtest.h>
#include <matchd/bus/idle_waiter.h>
#include <matchd/bus/spsc_queue.h>
#include <pthread.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "thread_state.h"
#include "wait.h"

namespace matchd::bus {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

// A lost wake-up makes a waiter sleep until this deadline, failing the test instead of
// hanging it. Legitimate wake-ups here take microseconds.
constexpr auto kGenerous = 3s;

// The consumer thread of the wake-up tests names itself so, and the test waits until it is
// asleep in the futex: what follows then wakes a sleeper rather than racing its announcement.
constexpr const char* kConsumer = "consumer";

void wait_until_consumer_asleep() {
  ASSERT_TRUE(test::wait_until_asleep(kConsumer, 10s).has_value())
      << "the consumer never went to sleep in the futex";
}

TEST(idle_waiter, returns_at_once_when_already_ready) {
  idle_waiter w;
  int calls = 0;
  w.wait([&] {
    ++calls;
    return true;
  });
  EXPECT_EQ(calls, 1);
  // Ready wins over an expired deadline.
  EXPECT_TRUE(w.wait_until([] { return true; }, steady::now() - 1s));
}

TEST(idle_waiter, wait_until_times_out_without_producer) {
  idle_waiter w;
  const auto start = steady::now();
  EXPECT_FALSE(w.wait_until([] { return false; }, start + 50ms));
  const auto elapsed = steady::now() - start;
  EXPECT_GE(elapsed, 50ms);
  EXPECT_LT(elapsed, kGenerous);  // loose on purpose: CI machines are noisy
}

TEST(idle_waiter, wait_for_times_out_without_producer) {
  idle_waiter w(0);
  const auto start = steady::now();
  EXPECT_FALSE(w.wait_for([] { return false; }, 20ms));
  EXPECT_GE(steady::now() - start, 20ms);
}

TEST(idle_waiter, notifications_do_not_make_ready_true) {
  // An eventcount is not a semaphore: notifies without a sleeper leave nothing behind,
  // and a waiter returns only on its own condition.
  idle_waiter w(0);
  for (int i = 0; i < 1000; ++i) w.notify();
  EXPECT_FALSE(w.wait_until([] { return false; }, steady::now() + 10ms));
}

TEST(idle_waiter, notify_wakes_a_sleeping_wait) {
  idle_waiter w(0);
  std::atomic<bool> flag{false};
  std::thread consumer([&] {
    pthread_setname_np(pthread_self(), kConsumer);
    w.wait([&] { return flag.load(std::memory_order_acquire); });
  });
  wait_until_consumer_asleep();
  flag.store(true, std::memory_order_release);
  w.notify();
  consumer.join();  // ctest TIMEOUT catches a lost wake-up here
  EXPECT_TRUE(flag.load());
}

TEST(idle_waiter, notify_wakes_a_sleeping_wait_until) {
  idle_waiter w(0);
  spsc_queue<int> q(4);
  bool ready = false;
  steady::duration waited{};
  std::thread consumer([&] {
    pthread_setname_np(pthread_self(), kConsumer);
    const auto start = steady::now();
    ready = w.wait_until([&] { return q.front() != nullptr; }, start + kGenerous);
    waited = steady::now() - start;
  });
  wait_until_consumer_asleep();
  ASSERT_TRUE(q.try_push(7));
  w.notify();
  consumer.join();
  EXPECT_TRUE(ready);
  EXPECT_LT(waited, kGenerous);
}

// Producers send bursts separated by pauses of varying length, so the consumer keeps
// going to sleep and being woken at every point of the protocol. Each producer owns one
// SPSC queue; the consumer drains all of them and sleeps on one idle_waiter. A missed
// notification leaves the consumer asleep until its deadline, which fails the test.
void run_burst_stress(std::uint32_t spin_iterations) {
  constexpr int kProducers = 2;
  constexpr std::uint64_t kPerProducer = 20'000;

  idle_waiter waiter(spin_iterations);
  std::vector<std::unique_ptr<spsc_queue<std::uint64_t>>> queues;
  for (int p = 0; p < kProducers; ++p) {
    queues.push_back(std::make_unique<spsc_queue<std::uint64_t>>(16));
  }
  std::atomic<bool> abort{false};

  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      spsc_queue<std::uint64_t>& q = *queues[p];
      std::minstd_rand rng(static_cast<std::uint32_t>(p + 1));
      std::uint64_t next = 0;
      while (next < kPerProducer) {
        const std::uint64_t burst = 1 + rng() % 8;
        for (std::uint64_t i = 0; i < burst && next < kPerProducer; ++i) {
          while (!q.try_push(next)) {
            if (abort.load(std::memory_order_relaxed)) return;
            std::this_thread::yield();
          }
          ++next;
          waiter.notify();
        }
        switch (rng() % 4) {
          case 0:
            break;  // back-to-back bursts: notify races the consumer's announcement
          case 1:
            std::this_thread::yield();
            break;
          default: {
            const auto pause = std::chrono::microseconds(rng() % 50);
            std::this_thread::sleep_for(pause);  // pacing: the consumer sleeps in some gaps
            break;
          }
        }
      }
    });
  }

  const auto any_ready = [&] {
    for (const auto& q : queues) {
      if (q->front() != nullptr) return true;
    }
    return false;
  };

  std::array<std::uint64_t, kProducers> expected{};
  std::uint64_t received = 0;
  std::uint64_t out_of_order = 0;
  int idle_waits = 0;
  bool lost_wakeup = false;
  while (received < kProducers * kPerProducer) {
    bool drained_any = false;
    for (int p = 0; p < kProducers; ++p) {
      while (const std::uint64_t* v = queues[p]->front()) {
        if (*v != expected[p]) ++out_of_order;
        ++expected[p];
        ++received;
        queues[p]->pop();
        drained_any = true;
      }
    }
    if (drained_any) continue;
    ++idle_waits;
    // wait_until re-checks ready() at the deadline, so a lost wake-up would still return
    // true there: only returning well before the deadline proves the notify woke us.
    const auto deadline = steady::now() + kGenerous;
    if (!waiter.wait_until(any_ready, deadline) || steady::now() >= deadline) {
      lost_wakeup = true;
      break;
    }
  }
  abort.store(true);
  for (auto& t : producers) t.join();

  EXPECT_FALSE(lost_wakeup) << "consumer slept through a notification after " << received
                            << " items";
  EXPECT_EQ(received, kProducers * kPerProducer);
  EXPECT_EQ(out_of_order, 0u);
  EXPECT_GT(idle_waits, 100);  // the consumer really went idle, repeatedly
}

TEST(idle_waiter, bursty_producers_never_lose_a_wakeup_without_spinning) {
  run_burst_stress(0);
}

TEST(idle_waiter, bursty_producers_never_lose_a_wakeup_with_default_spin) {
  run_burst_stress(idle_waiter::kDefaultSpinIterations);
}

}  // namespace
}  // namespace matchd::bus
