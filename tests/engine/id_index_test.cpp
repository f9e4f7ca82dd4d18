// The id index on its own: every inserted key is found again with its entry, through
// growth, collisions in one home line and probes that wrap past the end of the table
// (also across a doubling); only the 80 key bits a slot keeps decide a match; erase,
// checked against std::unordered_map, leaves every other key findable.

#include <gtest/gtest.h>
#include <matchd/engine/id_index.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <unordered_map>
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

// Runs random inserts, erases and lookups against std::unordered_map, keys drawn from
// `pool` so that erased keys come back. Every `check_every` steps, and at the end, every
// reference key must be found with its entry and the index must hold nothing else.
struct reference_run {
  id_index& index;
  std::mt19937_64 rng;
  std::unordered_map<std::uint64_t, id_entry> model;  // by key.lo; pools keep lo unique

  static id_key key_of(std::uint64_t lo) { return {lo, lo * 0x9e37'79b9'7f4a'7c15}; }

  void check_all() {
    ASSERT_EQ(index.size(), model.size());
    for (const auto& [lo, entry] : model) {
      const id_index::slot* s = index.find(key_of(lo));
      ASSERT_NE(s, nullptr) << "lost key " << lo;
      ASSERT_EQ(s->instrument, entry.instrument);
      ASSERT_EQ(s->node, entry.node);
    }
    std::size_t seen = 0;
    index.for_each([&](const id_index::slot& s) {
      ++seen;
      EXPECT_EQ(model.count(s.lo), 1u) << "stray key " << s.lo;
    });
    ASSERT_EQ(seen, model.size());
  }

  // `insert_weight` in [0, 1]: the chance a step inserts rather than erases.
  void run(const std::vector<std::uint64_t>& pool, std::size_t steps, double insert_weight,
           std::size_t check_every, std::size_t max_size = SIZE_MAX) {
    std::uniform_int_distribution<std::size_t> pick(0, pool.size() - 1);
    std::bernoulli_distribution inserting(insert_weight);
    for (std::size_t step = 0; step < steps; ++step) {
      const std::uint64_t lo = pool[pick(rng)];
      const id_key key = key_of(lo);
      const bool present = model.count(lo) != 0;
      if (inserting(rng) && model.size() < max_size) {
        const id_index::position p = index.lookup(key);
        ASSERT_EQ(p.found, present) << "step " << step;
        if (present) continue;
        const id_entry entry = entry_for(step);
        index.insert(p, key, entry);
        model.emplace(lo, entry);
      } else {
        ASSERT_EQ(index.erase(key), present) << "step " << step;
        model.erase(lo);
        ASSERT_EQ(index.find(key), nullptr) << "step " << step;
      }
      if ((step + 1) % check_every == 0) {
        check_all();
        if (testing::Test::HasFatalFailure()) return;
      }
    }
    check_all();
  }
};

std::vector<std::uint64_t> random_pool(std::mt19937_64& rng, std::size_t n) {
  std::vector<std::uint64_t> pool;
  for (std::size_t i = 0; i < n; ++i) pool.push_back(rng() | 1);
  return pool;
}

TEST(id_index, erase_matches_a_reference_map) {
  id_index index(0);
  reference_run run{index, std::mt19937_64(11), {}};
  std::mt19937_64 rng(12);
  run.run(random_pool(rng, 3'000), 60'000, 0.6, 997);
}

TEST(id_index, erase_of_a_missing_key_changes_nothing) {
  id_index index(0);
  insert_new(index, {5, 6}, entry_for(1));
  EXPECT_FALSE(index.erase({7, 6}));
  EXPECT_FALSE(index.erase({5, 7})) << "same lo, other hi bits the slot keeps";
  EXPECT_EQ(index.size(), 1u);
  expect_entry(index, {5, 6}, entry_for(1));
  EXPECT_TRUE(index.erase({5, 6}));
  EXPECT_FALSE(index.erase({5, 6}));
  EXPECT_EQ(index.size(), 0u);
  insert_new(index, {5, 6}, entry_for(2));
  expect_entry(index, {5, 6}, entry_for(2));
}

// Keys crowded into the last lines and the first ones: runs wrap past the end of the table
// into runs homed at line 0, so backward shifts cross the end, and a key homed at line 0
// must not be shifted back into the last line (before its home).
TEST(id_index, erase_across_a_run_that_wraps_the_table_end) {
  id_index index(0);
  const std::size_t capacity = index.capacity();
  std::mt19937_64 rng(21);
  std::vector<std::uint64_t> pool;
  // A 1024-slot table has 256 lines, picked by the top 8 bits of lo: below 2^57 is one of
  // the first two lines, above ~0 - 2^57 one of the last two.
  for (int i = 0; i < 40; ++i) pool.push_back(~std::uint64_t{0} - (rng() >> 7));
  for (int i = 0; i < 40; ++i) pool.push_back((rng() >> 7) | 1);
  reference_run run{index, std::mt19937_64(22), {}};
  run.run(pool, 20'000, 0.55, 101);
  EXPECT_EQ(index.capacity(), capacity) << "the test meant to stay in one table";
}

// At its growth limit (half full) the table has its longest runs; churn there, with the
// size held at the limit so that it never grows, shifts through them.
TEST(id_index, erase_near_the_growth_limit) {
  id_index index(0);
  const std::size_t capacity = index.capacity();
  const std::size_t limit = capacity / 2;
  std::mt19937_64 rng(31);
  reference_run run{index, std::mt19937_64(32), {}};
  const std::vector<std::uint64_t> pool = random_pool(rng, limit * 3 / 2);
  run.run(pool, 40'000, 0.7, 1'009, limit);
  EXPECT_EQ(index.capacity(), capacity);
  EXPECT_GE(run.model.size(), limit - 32) << "the test meant to run near the limit";
}

TEST(id_index, erase_then_growth_keeps_every_other_key) {
  id_index index(0);
  reference_run run{index, std::mt19937_64(41), {}};
  std::mt19937_64 rng(42);
  run.run(random_pool(rng, 40'000), 200'000, 0.75, 20'011);
  EXPECT_GT(index.capacity(), 16'384u);
}

}  // namespace
}  // namespace matchd::engine
