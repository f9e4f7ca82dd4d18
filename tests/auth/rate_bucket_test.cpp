#include <gtest/gtest.h>
#include <matchd/auth/keys.h>

#include <atomic>
#include <thread>
#include <vector>

namespace matchd::auth {
namespace {

constexpr std::int64_t kSecond = 1'000'000'000;
// An arbitrary, large steady-clock reading: the bucket must not depend on its epoch.
constexpr std::int64_t kT0 = 1'234 * kSecond;

TEST(RateBucket, RateZeroAdmitsEverything) {
  rate_bucket b(0, 0);
  EXPECT_FALSE(b.enabled());
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(b.admit(kT0), 0);
}

TEST(RateBucket, ABurstThenExactlyTheRateEachSecond) {
  rate_bucket b(10, 5);
  ASSERT_TRUE(b.enabled());
  for (int i = 0; i < 5; ++i) EXPECT_EQ(b.admit(kT0), 0) << i;
  EXPECT_EQ(b.admit(kT0), 1);  // 100 ms to the next token: one whole second

  for (int second = 1; second <= 3; ++second) {
    int admitted = 0;
    // A request every millisecond of the second (start, end]: a token comes back every 100 ms.
    for (std::int64_t ms = 0; ms < 1000; ++ms) {
      if (b.admit(kT0 + (second - 1) * kSecond + (ms + 1) * 1'000'000) == 0) ++admitted;
    }
    EXPECT_EQ(admitted, 10) << "second " << second;
  }
}

TEST(RateBucket, RetryAfterIsWholeSecondsRoundedUp) {
  rate_bucket b(0.25, 1);  // a token every 4 s
  EXPECT_EQ(b.admit(kT0), 0);
  EXPECT_EQ(b.admit(kT0), 4);
  EXPECT_EQ(b.admit(kT0 + 1), 4);                // 3.999999999 s
  EXPECT_EQ(b.admit(kT0 + 3 * kSecond), 1);      // exactly 1 s left
  EXPECT_EQ(b.admit(kT0 + 3 * kSecond + 1), 1);  // less than 1 s left
  EXPECT_EQ(b.admit(kT0 + 4 * kSecond), 0);
}

TEST(RateBucket, BurstZeroMeansTheRate) {
  rate_bucket b(3, 0);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(b.admit(kT0), 0);
  EXPECT_EQ(b.admit(kT0), 1);
}

TEST(RateBucket, IdleTimeRefillsNoMoreThanTheBurst) {
  rate_bucket b(100, 2);
  EXPECT_EQ(b.admit(kT0), 0);
  EXPECT_EQ(b.admit(kT0), 0);
  EXPECT_EQ(b.admit(kT0), 1);
  const std::int64_t later = kT0 + 3600 * kSecond;
  EXPECT_EQ(b.admit(later), 0);
  EXPECT_EQ(b.admit(later), 0);
  EXPECT_EQ(b.admit(later), 1);
}

TEST(RateBucket, FourThreadsAtOneInstantAdmitExactlyTheBurst) {
  // Large enough that the threads overlap for many milliseconds, even on two cores.
  constexpr int kBurst = 1'000'000;
  rate_bucket b(1, kBurst);
  std::atomic<int> admitted{0};
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      ready.fetch_add(1);
      while (ready.load() < 4) std::this_thread::yield();
      int mine = 0;
      for (int i = 0; i < 2 * kBurst; ++i) {
        if (b.admit(kT0) == 0) ++mine;
      }
      admitted.fetch_add(mine);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(admitted.load(), kBurst);
}

}  // namespace
}  // namespace matchd::auth
