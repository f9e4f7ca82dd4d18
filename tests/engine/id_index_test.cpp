// The id index on its own: every inserted key is found again with its entry, through
// growth, collisions in one home line and probes that wrap past the end of the table.

#include <gtest/gtest.h>
#include <matchd/engine/id_index.h>

#include <cstdint>
#include <random>
#include <vector>

namespace matchd::engine {
namespace {

id_entry entry_for(std::uint64_t n) {
  return id_entry{static_cast<instrument_id>(n % 7), static_cast<std::uint32_t>(n), n * 3};
}

void insert_new(id_index& index, const id_key& key, const id_entry& entry) {
  const id_index::position p = index.lookup(key);
  ASSERT_FALSE(p.found);
  index.insert(p, key, entry);
}

void expect_entry(const id_index& index, const id_key& key, const id_entry& entry) {
  const id_index::slot* s = index.find(key);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->entry.instrument, entry.instrument);
  EXPECT_EQ(s->entry.node, entry.node);
  EXPECT_EQ(s->entry.generation, entry.generation);
}

TEST(id_index, finds_every_key_through_growth) {
  id_index index(0);
  const std::size_t first_capacity = index.capacity();
  std::mt19937_64 rng(42);
  std::vector<id_key> keys;
  for (std::uint64_t n = 0; n < 50'000; ++n) {
    keys.push_back({rng() | 1, rng()});
    insert_new(index, keys.back(), entry_for(n));
  }
  EXPECT_EQ(index.size(), keys.size());
  EXPECT_GT(index.capacity(), first_capacity);
  EXPECT_LE(index.size(), index.capacity() / 2);
  for (std::uint64_t n = 0; n < keys.size(); ++n) expect_entry(index, keys[n], entry_for(n));
  EXPECT_EQ(index.find({12345, 678}), nullptr);

  std::size_t seen = 0;
  index.for_each([&](const id_key&, const id_entry&) { ++seen; });
  EXPECT_EQ(seen, keys.size());
}

TEST(id_index, keys_sharing_a_home_and_wrapping_past_the_end_stay_distinct) {
  id_index index(0);
  const std::uint64_t last_line = index.capacity() - 2;
  std::vector<id_key> keys;
  // Same low bits (same home line, the table's last) and different high halves: the
  // probe runs off the end and continues at slot 0.
  for (std::uint64_t n = 0; n < 9; ++n) keys.push_back({last_line, n + 1});
  for (std::uint64_t n = 0; n < keys.size(); ++n) insert_new(index, keys[n], entry_for(n));
  for (std::uint64_t n = 0; n < keys.size(); ++n) expect_entry(index, keys[n], entry_for(n));
  EXPECT_EQ(index.find({last_line, 100}), nullptr);
  EXPECT_EQ(index.find({last_line + 1, 1}), nullptr);  // same home line, another key
}

TEST(id_index, reserve_grows_once_up_front) {
  id_index index(0);
  index.reserve(100'000);
  const std::size_t capacity = index.capacity();
  EXPECT_GE(capacity / 2, 100'000u);
  std::mt19937_64 rng(7);
  for (std::uint64_t n = 0; n < 100'000; ++n) insert_new(index, {rng() | 1, rng()}, entry_for(n));
  EXPECT_EQ(index.capacity(), capacity);
}

TEST(id_index, entries_are_updated_in_place) {
  id_index index(16);
  const id_key key{99, 100};
  insert_new(index, key, entry_for(1));
  id_index::position p = index.lookup(key);
  ASSERT_TRUE(p.found);
  p.at->entry.instrument = id_entry::kFinished;
  EXPECT_EQ(index.find(key)->entry.instrument, id_entry::kFinished);
}

}  // namespace
}  // namespace matchd::engine
