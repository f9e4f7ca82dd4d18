// The bounded SPSC ring: capacity and full/empty answers, FIFO order, element lifetimes,
// and a two-thread stress checking order and sum.

#include <gtest/gtest.h>
#include <matchd/bus/spsc_queue.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

namespace matchd::bus {
namespace {

// Counts live instances through a caller-owned tally, so tests need no globals.
struct tally {
  int constructed = 0;
  int destroyed = 0;
  int live() const { return constructed - destroyed; }
};

class counted {
 public:
  counted(tally& t, int value) noexcept : tally_(&t), value_(value) { ++tally_->constructed; }
  counted(counted&& other) noexcept : tally_(other.tally_), value_(other.value_) {
    ++tally_->constructed;
  }
  counted(const counted&) = delete;
  counted& operator=(const counted&) = delete;
  counted& operator=(counted&&) = delete;
  ~counted() { ++tally_->destroyed; }

  int value() const { return value_; }

 private:
  tally* tally_;
  int value_;
};

// No default constructor, several constructor arguments.
struct order_like {
  order_like(std::uint64_t id_in, std::string symbol_in) noexcept
      : id(id_in), symbol(std::move(symbol_in)) {}
  std::uint64_t id;
  std::string symbol;
};

TEST(spsc_queue, capacity_rounds_up_to_a_power_of_two) {
  EXPECT_EQ(spsc_queue<int>(0).capacity(), 1u);
  EXPECT_EQ(spsc_queue<int>(1).capacity(), 1u);
  EXPECT_EQ(spsc_queue<int>(5).capacity(), 8u);
  EXPECT_EQ(spsc_queue<int>(8).capacity(), 8u);
  EXPECT_EQ(spsc_queue<int>(1000).capacity(), 1024u);
}

TEST(spsc_queue, absurd_capacity_throws_at_construction) {
  EXPECT_THROW(spsc_queue<int>(SIZE_MAX), std::length_error);
}

TEST(spsc_queue, indices_live_on_separate_cache_lines) {
  EXPECT_EQ(alignof(spsc_queue<char>), kCacheLineSize);
  EXPECT_GE(sizeof(spsc_queue<char>), 3 * kCacheLineSize);
}

TEST(spsc_queue, new_queue_is_empty) {
  spsc_queue<int> q(4);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.size(), 0u);
  EXPECT_EQ(q.front(), nullptr);
}

TEST(spsc_queue, fills_to_capacity_then_rejects) {
  spsc_queue<int> q(4);
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(q.try_push(i));
    EXPECT_EQ(q.size(), static_cast<std::size_t>(i + 1));
  }
  EXPECT_FALSE(q.try_push(99));
  EXPECT_FALSE(q.try_emplace(99));
  EXPECT_EQ(q.size(), 4u);

  ASSERT_NE(q.front(), nullptr);
  EXPECT_EQ(*q.front(), 0);
  q.pop();
  EXPECT_TRUE(q.try_push(4));
  EXPECT_FALSE(q.try_push(5));

  for (int expected = 1; expected <= 4; ++expected) {
    ASSERT_NE(q.front(), nullptr);
    EXPECT_EQ(*q.front(), expected);
    q.pop();
  }
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.front(), nullptr);
}

TEST(spsc_queue, keeps_fifo_order_across_many_wraps) {
  spsc_queue<int> q(8);
  int next_in = 0;
  int next_out = 0;
  // Uneven push/pop bursts so the indices wrap at every offset of the ring.
  for (int round = 0; round < 1000; ++round) {
    const int pushes = 1 + round % 7;
    for (int i = 0; i < pushes; ++i) {
      if (q.try_push(next_in)) ++next_in;
    }
    const int pops = 1 + (round * 5) % 6;
    for (int i = 0; i < pops && q.front() != nullptr; ++i) {
      EXPECT_EQ(*q.front(), next_out);
      q.pop();
      ++next_out;
    }
  }
  while (int* v = q.front()) {
    EXPECT_EQ(*v, next_out++);
    q.pop();
  }
  EXPECT_EQ(next_in, next_out);
  EXPECT_GT(next_in, 1000);
}

TEST(spsc_queue, peek_sees_queued_elements_in_order_across_wraps) {
  spsc_queue<int> q(8);
  int next_in = 0;
  int next_out = 0;
  for (int round = 0; round < 500; ++round) {
    for (int i = 0; i < 1 + round % 5; ++i) {
      if (q.try_push(next_in)) ++next_in;
    }
    const int queued = next_in - next_out;
    for (int k = 0; k < queued; ++k) {
      ASSERT_NE(q.peek(static_cast<std::size_t>(k)), nullptr);
      EXPECT_EQ(*q.peek(static_cast<std::size_t>(k)), next_out + k);
    }
    EXPECT_EQ(q.peek(static_cast<std::size_t>(queued)), nullptr);
    EXPECT_EQ(q.peek(0), q.front());
    for (int i = 0; i < 1 + (round * 3) % 5 && q.front() != nullptr; ++i) {
      q.pop();
      ++next_out;
    }
  }
}

TEST(spsc_queue, const_lvalue_push_copies) {
  spsc_queue<std::string> q(2);
  const std::string s = "BTC-USD";
  ASSERT_TRUE(q.try_push(s));
  EXPECT_EQ(s, "BTC-USD");
  EXPECT_EQ(*q.front(), "BTC-USD");
}

TEST(spsc_queue, holds_move_only_elements) {
  spsc_queue<std::unique_ptr<int>> q(2);
  ASSERT_TRUE(q.try_push(std::make_unique<int>(1)));
  ASSERT_TRUE(q.try_emplace(new int(2)));
  auto rejected = std::make_unique<int>(3);
  EXPECT_FALSE(q.try_push(std::move(rejected)));

  std::unique_ptr<int> first = std::move(*q.front());
  q.pop();
  EXPECT_EQ(*first, 1);
  EXPECT_EQ(**q.front(), 2);
  q.pop();
  EXPECT_TRUE(q.empty());
}

TEST(spsc_queue, emplaces_types_without_default_constructor) {
  spsc_queue<order_like> q(2);
  ASSERT_TRUE(q.try_emplace(42u, "ETH-USD"));
  ASSERT_NE(q.front(), nullptr);
  EXPECT_EQ(q.front()->id, 42u);
  EXPECT_EQ(q.front()->symbol, "ETH-USD");
  q.pop();
}

TEST(spsc_queue, destroys_each_element_exactly_once) {
  tally t;
  {
    spsc_queue<counted> q(4);
    for (int round = 0; round < 10; ++round) {
      ASSERT_TRUE(q.try_emplace(t, round));
      ASSERT_TRUE(q.try_push(counted(t, round)));
      EXPECT_EQ(q.front()->value(), round);
      q.pop();
      q.pop();
      EXPECT_EQ(t.live(), 0);
    }
    // A rejected emplace constructs nothing.
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(q.try_emplace(t, i));
    const int before = t.constructed;
    EXPECT_FALSE(q.try_emplace(t, 99));
    EXPECT_EQ(t.constructed, before);
    EXPECT_EQ(t.live(), 4);
  }
  // The destructor released the four elements still queued.
  EXPECT_EQ(t.live(), 0);
}

TEST(spsc_queue, destroys_remaining_elements_after_wrap) {
  tally t;
  {
    spsc_queue<counted> q(4);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(q.try_emplace(t, i));
    q.pop();
    q.pop();
    for (int i = 3; i < 6; ++i) ASSERT_TRUE(q.try_emplace(t, i));  // wraps the ring
    EXPECT_EQ(t.live(), 4);
  }
  EXPECT_EQ(t.live(), 0);
}

TEST(spsc_queue, two_threads_move_ten_million_integers_in_order) {
  constexpr std::uint64_t kCount = 10'000'000;
  spsc_queue<std::uint64_t> q(64);

  std::thread producer([&q] {
    for (std::uint64_t i = 0; i < kCount; ++i) {
      while (!q.try_push(i)) std::this_thread::yield();
    }
  });

  std::uint64_t expected = 0;
  std::uint64_t sum = 0;
  std::uint64_t out_of_order = 0;
  while (expected < kCount) {
    const std::uint64_t* v = q.front();
    if (v == nullptr) {
      std::this_thread::yield();
      continue;
    }
    if (*v != expected) ++out_of_order;
    sum += *v;
    ++expected;
    q.pop();
  }
  producer.join();

  EXPECT_EQ(out_of_order, 0u);
  EXPECT_EQ(sum, kCount * (kCount - 1) / 2);
  EXPECT_TRUE(q.empty());
}

}  // namespace
}  // namespace matchd::bus
