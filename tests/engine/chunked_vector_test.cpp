// The chunked array under the order book, and the book's promise built on it: growing past
// the reserve moves no node (a std::vector copied every resting order to grow).

#include <gtest/gtest.h>
#include <matchd/engine/chunked_vector.h>
#include <matchd/engine/matching_engine.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "builders.h"

namespace matchd::engine {
namespace {

using namespace test_support;

TEST(chunked_vector, indexes_across_chunks_and_never_moves_an_element) {
  chunked_vector<std::uint64_t, 4> v;  // 16 a chunk
  std::vector<const std::uint64_t*> addresses;
  for (std::uint64_t i = 0; i < 1'000; ++i) {
    std::uint64_t& e = v.emplace_back();
    EXPECT_EQ(e, 0u) << "value-initialized";
    e = i * 3;
    addresses.push_back(&e);
  }
  ASSERT_EQ(v.size(), 1'000u);
  EXPECT_EQ(v.capacity(), 1'008u);
  for (std::size_t i = 0; i < v.size(); ++i) {
    EXPECT_EQ(v[i], i * 3);
    EXPECT_EQ(&v[i], addresses[i]);
  }
}

TEST(chunked_vector, reserve_allocates_whole_chunks_up_front) {
  chunked_vector<int, 4> v;
  v.reserve(33);
  EXPECT_EQ(v.capacity(), 48u);
  EXPECT_EQ(v.size(), 0u);
  for (int i = 0; i < 48; ++i) v.emplace_back() = i;
  EXPECT_EQ(v.capacity(), 48u);
  v.emplace_back();
  EXPECT_EQ(v.capacity(), 64u);
}

TEST(chunked_vector, destroys_what_it_constructed) {
  {
    chunked_vector<std::string, 2> v;
    for (int i = 0; i < 9; ++i) v.emplace_back() = std::string(40, static_cast<char>('a' + i));
    EXPECT_EQ(v[8], std::string(40, 'i'));
  }  // ASan/LSan builds would report a string left behind
}

// Structural: with room reserved for 64 orders, resting thousands more must leave the
// first one's node where it was. A std::vector of nodes reallocated (and copied them all)
// on the way; here no node moves, so growth copies nothing.
TEST(order_book_growth, resting_orders_stay_in_place_as_the_book_grows) {
  engine_options options;
  options.expected_orders_per_book = 64;
  matching_engine engine({instrument::btc_usd()}, options);
  event_buffer out;
  ASSERT_TRUE(engine.place(buy_limit("first", ticks(1'000), lots(5)), out).ok());
  const order* first = engine.find_resting("first");
  ASSERT_NE(first, nullptr);
  for (int i = 0; i < 20'000; ++i) {
    out.clear();
    // Distinct prices, so the levels grow past their reserve too.
    ASSERT_TRUE(
        engine.place(buy_limit("o" + std::to_string(i), ticks(2'000 + i), lots(1)), out).ok());
  }
  EXPECT_EQ(engine.book(0).order_count(), 20'001u);
  EXPECT_EQ(engine.find_resting("first"), first);
  EXPECT_EQ(engine.find_resting("first")->quantity, lots(5));
  EXPECT_EQ(engine.check_invariants(), "");
}

}  // namespace
}  // namespace matchd::engine
