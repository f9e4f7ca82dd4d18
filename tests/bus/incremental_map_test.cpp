// The incremental map: it answers like an ordinary map through many growth steps, erases
// and assignments during a migration, and no single insert moves more than a handful of
// entries (an ordinary table moves all of them when it grows).

#include <gtest/gtest.h>
#include <matchd/bus/incremental_map.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace matchd::bus {
namespace {

using string_map = incremental_map<std::string, std::uint64_t>;

std::string key_of(std::uint64_t i) {
  return "order-" + std::to_string(i);
}

// Every key of the model is found with its value, and nothing else is.
void expect_same(const string_map& map, const std::map<std::string, std::uint64_t>& model,
                 std::uint64_t key_space) {
  ASSERT_EQ(map.size(), model.size());
  for (std::uint64_t i = 0; i < key_space; ++i) {
    const std::string key = key_of(i);
    const auto expected = model.find(key);
    const std::uint64_t* found = map.find(key);
    if (expected == model.end()) {
      EXPECT_EQ(found, nullptr) << key;
    } else {
      ASSERT_NE(found, nullptr) << key;
      EXPECT_EQ(*found, expected->second) << key;
    }
  }
}

// Inserts keys 0, 1, ... until the map starts a migration; returns how many it inserted.
std::uint64_t fill_until_migrating(string_map& map) {
  std::uint64_t inserted = 0;
  while (!map.migrating() && inserted < 1'000'000) {
    map.insert_or_assign(key_of(inserted), inserted);
    ++inserted;
  }
  EXPECT_TRUE(map.migrating()) << "no migration after " << inserted << " inserts";
  return inserted;
}

TEST(IncrementalMap, StartsEmpty) {
  string_map map;
  EXPECT_TRUE(map.empty());
  EXPECT_EQ(map.find("x"), nullptr);
  EXPECT_FALSE(map.erase("x"));
  EXPECT_FALSE(map.migrating());
}

TEST(IncrementalMap, TryEmplaceKeepsTheFirstValueAndInsertOrAssignReplacesIt) {
  string_map map;
  const auto [first, inserted] = map.try_emplace("a", 1u);
  EXPECT_TRUE(inserted);
  EXPECT_EQ(*first, 1u);
  const auto [again, inserted_again] = map.try_emplace("a", 2u);
  EXPECT_FALSE(inserted_again);
  EXPECT_EQ(*again, 1u);
  EXPECT_EQ(*map.insert_or_assign("a", 3u), 3u);
  EXPECT_EQ(*map.find("a"), 3u);
  EXPECT_EQ(map.size(), 1u);
}

// Sequential inserts through twelve growth steps; every key stays findable at each step,
// including the ones still waiting in the previous table.
TEST(IncrementalMap, EveryKeyStaysFindableThroughGrowth) {
  string_map map;
  bool saw_migration = false;
  constexpr std::uint64_t kKeys = 200'000;
  for (std::uint64_t i = 0; i < kKeys; ++i) {
    map.insert_or_assign(key_of(i), i);
    saw_migration = saw_migration || map.migrating();
    if ((i & (i + 1)) == 0 || i % 9973 == 0) {  // at powers of two minus one, and spread out
      for (std::uint64_t j = 0; j <= i; j += 1 + i / 512) {
        const std::uint64_t* found = map.find(key_of(j));
        ASSERT_NE(found, nullptr) << "key " << j << " after " << i << " inserts";
        EXPECT_EQ(*found, j);
      }
    }
  }
  EXPECT_TRUE(saw_migration);
  EXPECT_EQ(map.size(), kKeys);
  for (std::uint64_t i = 0; i < kKeys; ++i) ASSERT_NE(map.find(key_of(i)), nullptr) << i;
}

// Random inserts, assignments, erases and lookups against std::map, over a key space that
// makes the map grow, shrink and grow again, with a full comparison now and then.
TEST(IncrementalMap, MatchesAnOrdinaryMapUnderRandomOperations) {
  std::mt19937_64 rng(20261201);
  string_map map;
  std::map<std::string, std::uint64_t> model;
  constexpr std::uint64_t kKeySpace = 6'000;
  for (int step = 0; step < 300'000; ++step) {
    const std::uint64_t k = rng() % kKeySpace;
    const std::string key = key_of(k);
    const std::uint64_t value = rng();
    switch (rng() % 8) {
      case 0:
      case 1: {
        map.insert_or_assign(key, value);
        model[key] = value;
        break;
      }
      case 2:
      case 3: {
        const auto [entry, inserted] = map.try_emplace(key, value);
        const auto [expected, model_inserted] = model.try_emplace(key, value);
        ASSERT_EQ(inserted, model_inserted) << key;
        ASSERT_EQ(*entry, expected->second) << key;
        break;
      }
      case 4: {
        ASSERT_EQ(map.erase(key), model.erase(key) == 1) << key;
        break;
      }
      default: {
        const auto expected = model.find(key);
        std::uint64_t* found = map.find(key);
        ASSERT_EQ(found != nullptr, expected != model.end()) << key;
        if (found != nullptr) {
          ASSERT_EQ(*found, expected->second) << key;
          *found += 1;  // writes through the pointer land in the map
          expected->second += 1;
        }
      }
    }
    if (step % 50'000 == 0) expect_same(map, model, kKeySpace);
  }
  expect_same(map, model, kKeySpace);
}

// Erasing every entry while a migration runs, including the one the migration would move
// next, leaves nothing behind and keeps the map usable.
TEST(IncrementalMap, EraseDuringMigration) {
  string_map map;
  const std::uint64_t inserted = fill_until_migrating(map);
  for (std::uint64_t i = 0; i < inserted; ++i) ASSERT_TRUE(map.erase(key_of(i))) << i;
  EXPECT_TRUE(map.empty());
  EXPECT_FALSE(map.migrating());
  for (std::uint64_t i = 0; i < inserted; ++i) EXPECT_EQ(map.find(key_of(i)), nullptr) << i;
  map.insert_or_assign("again", 7u);
  EXPECT_EQ(*map.find("again"), 7u);
}

TEST(IncrementalMap, ReserveFinishesAMigration) {
  string_map map;
  const std::uint64_t inserted = fill_until_migrating(map);
  map.reserve(4 * inserted);
  EXPECT_FALSE(map.migrating());
  for (std::uint64_t i = 0; i < inserted; ++i) ASSERT_NE(map.find(key_of(i)), nullptr) << i;
}

// A value that counts how often any instance is moved or copied.
struct transfers {
  std::uint64_t count = 0;
};
class counted_value {
 public:
  counted_value(transfers& t, std::uint64_t v) : transfers_(&t), value_(v) {}
  counted_value(const counted_value& o) : transfers_(o.transfers_), value_(o.value_) {
    ++transfers_->count;
  }
  counted_value(counted_value&& o) noexcept : transfers_(o.transfers_), value_(o.value_) {
    ++transfers_->count;
  }
  counted_value& operator=(const counted_value& o) {
    transfers_ = o.transfers_;
    value_ = o.value_;
    ++transfers_->count;
    return *this;
  }
  counted_value& operator=(counted_value&& o) noexcept {
    transfers_ = o.transfers_;
    value_ = o.value_;
    ++transfers_->count;
    return *this;
  }
  std::uint64_t value() const { return value_; }

 private:
  transfers* transfers_;
  std::uint64_t value_;
};

// The property the map exists for: growth is paid a few entries per insert, never all at
// once. A plain boost::unordered_flat_map moves every entry on the insert that grows it.
TEST(IncrementalMap, NoInsertMovesMoreThanAFewEntries) {
  transfers moved;
  incremental_map<std::uint64_t, counted_value> map;
  std::uint64_t worst = 0;
  constexpr std::uint64_t kKeys = 100'000;
  for (std::uint64_t i = 0; i < kKeys; ++i) {
    const std::uint64_t before = moved.count;
    map.try_emplace(i, moved, i);
    worst = std::max(worst, moved.count - before);
  }
  // The new entry itself, plus one move per migrated entry.
  constexpr std::uint64_t kStep = incremental_map<std::uint64_t, counted_value>::kMigrateStep;
  EXPECT_LE(worst, 1 + kStep);
  for (std::uint64_t i = 0; i < kKeys; ++i) {
    const counted_value* v = map.find(i);
    ASSERT_NE(v, nullptr) << i;
    EXPECT_EQ(v->value(), i);
  }
}

}  // namespace
}  // namespace matchd::bus

namespace {

// Pages of [p, p + bytes) that are resident, by mincore(2).
std::size_t resident_pages(const void* p, std::size_t bytes) {
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const auto start = reinterpret_cast<std::uintptr_t>(p) / page * page;
  const auto end = reinterpret_cast<std::uintptr_t>(p) + bytes;
  std::vector<unsigned char> flags((end - start + page - 1) / page);
  if (::mincore(reinterpret_cast<void*>(start), end - start, flags.data()) != 0) return 0;
  return static_cast<std::size_t>(
      std::count_if(flags.begin(), flags.end(), [](unsigned char f) { return (f & 1) != 0; }));
}

}  // namespace

TEST(prefault_allocator, a_block_allocated_while_asked_is_resident_and_others_are_not) {
  using alloc = matchd::bus::detail::prefault_allocator<std::uint64_t>;
  constexpr std::size_t kWords = 8 << 20;  // 64 MiB: malloc maps it fresh, not resident
  constexpr std::size_t kPages = kWords * sizeof(std::uint64_t) / 4096;

  std::uint64_t* lazy = alloc{}.allocate(kWords);
  EXPECT_LT(resident_pages(lazy, kWords * sizeof(std::uint64_t)), kPages / 2);
  alloc{}.deallocate(lazy, kWords);

  matchd::bus::detail::prefault_allocations = true;
  std::uint64_t* present = alloc{}.allocate(kWords);
  matchd::bus::detail::prefault_allocations = false;
  EXPECT_GE(resident_pages(present, kWords * sizeof(std::uint64_t)), kPages);
  alloc{}.deallocate(present, kWords);
}

TEST(incremental_map, a_table_reserved_present_takes_entries_like_any_other) {
  matchd::bus::incremental_map<std::string, int> m;
  m.reserve(100000, true);
  EXPECT_FALSE(matchd::bus::detail::prefault_allocations);
  m.reserve(10);  // recovery sizing for fewer rows must not take the room away
  EXPECT_GE(m.capacity(), 100000u);
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
// GCC 12 at -O3 reports a bogus -Wrestrict inside libstdc++'s `"literal" + std::string&&`
// (GCC bug 105651; Debian 12 ships GCC 12.2).
#pragma GCC diagnostic ignored "-Wrestrict"
#endif
  for (int i = 0; i < 100000; ++i) m.insert_or_assign("k" + std::to_string(i), i);
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
  EXPECT_FALSE(m.migrating());  // it had room for all of them
  ASSERT_NE(m.find("k99999"), nullptr);
  EXPECT_EQ(*m.find("k99999"), 99999);
}
