// The id index on its own: every inserted key is found again with its entry, through
// growth, collisions in one home line and probes that wrap past the end of the table
// (also across a doubling); only the 80 key bits a slot keeps decide a match.

#include <gtest/gtest.h>
#include <matchd/engine/id_index.h>

#include <cstdint>
#include <random>
#include <vector>

namespace matchd::engine {
namespace {

id_entry entry_for(std::uint64_t n) {
  return id_entry{static_cast<std::uint16_t>(n % 7), static_cast<std::uint32_t>(n)};
}

void insert_new(id_index& index, const id_key& key, const id_entry& entry) {
  const id_index::position p = index.lookup(key);
  ASSERT_FALSE(p.found);
  index.insert(p, key, entry);
}

void expect_entry(const id_index& index, const id_key& key, const id_entry& entry) {
  const id_index::slot* s = index.find(key);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->instrument, entry.instrument);
  EXPECT_EQ(s->node, entry.node);
}

// Homes come from the top bits of `lo`: all ones is the table's last line at any size.
id_key last_line_key(std::uint64_t n) {
  return {~std::uint64_t{0} - n, n};
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
  for (int n = 0; n < 1'000; ++n) EXPECT_EQ(index.find({rng() | 1, rng()}), nullptr);

  std::size_t seen = 0;
  index.for_each([&](const id_index::slot&) { ++seen; });
  EXPECT_EQ(seen, keys.size());
}

TEST(id_index, keys_sharing_a_home_and_wrapping_past_the_end_stay_distinct) {
  id_index index(0);
  std::vector<id_key> keys;
  // All homed in the last line: the run continues at slot 0.
  for (std::uint64_t n = 0; n < 9; ++n) keys.push_back(last_line_key(n));
  // Homed in line 0, behind the wrapped run.
  const id_key first_line{1, 77};
  for (std::uint64_t n = 0; n < keys.size(); ++n) insert_new(index, keys[n], entry_for(n));
  insert_new(index, first_line, entry_for(100));
  for (std::uint64_t n = 0; n < keys.size(); ++n) expect_entry(index, keys[n], entry_for(n));
  expect_entry(index, first_line, entry_for(100));
  EXPECT_EQ(index.find(last_line_key(50)), nullptr);  // same home line, another key
  EXPECT_EQ(index.find({2, 77}), nullptr);            // line 0, another key
}

TEST(id_index, wrapped_keys_survive_doubling) {
  id_index index(0);
  std::vector<id_key> keys;
  for (std::uint64_t n = 0; n < 20; ++n) keys.push_back(last_line_key(n));
  for (std::uint64_t n = 0; n < keys.size(); ++n) insert_new(index, keys[n], entry_for(n));
  const std::size_t capacity = index.capacity();
  std::mt19937_64 rng(3);
  while (index.capacity() < capacity * 4) {
    keys.push_back({rng() | 1, rng()});
    insert_new(index, keys.back(), entry_for(keys.size() - 1));
  }
  for (std::uint64_t n = 0; n < keys.size(); ++n) expect_entry(index, keys[n], entry_for(n));
}

TEST(id_index, a_slot_matches_on_lo_and_the_low_16_bits_of_hi) {
  id_index index(16);
  const id_key key{0x1234, 0xabcd'0000'0000'5678};
  insert_new(index, key, entry_for(1));
  EXPECT_NE(index.find(key), nullptr);
  EXPECT_NE(index.find({0x1234, 0x5678}), nullptr) << "bits the slot does not keep";
  EXPECT_EQ(index.find({0x1234, 0xabcd'0000'0000'5679}), nullptr);
  EXPECT_EQ(index.find({0x1235, 0xabcd'0000'0000'5678}), nullptr);
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
  p.at->instrument = id_entry::kFinished;
  EXPECT_EQ(index.find(key)->instrument, id_entry::kFinished);
}

}  // namespace
}  // namespace matchd::engine
