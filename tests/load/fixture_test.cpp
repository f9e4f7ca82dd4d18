// The fixture reader of the load generator (load-test/fixture.h): replays keep order_ids
// unique across passes and tags, and bodies otherwise byte for byte.

#include "fixture.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

namespace matchd::load {
namespace {

class fixture_file : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = "/tmp/matchd-fixture-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::string write(const std::string& text) {
    const std::string path = (dir_ / "f.ndjson").string();
    std::ofstream(path) << text;
    return path;
  }
  static std::string body(const fixture& f, std::uint64_t i) {
    std::string out;
    f.append_body(i, out);
    return out;
  }

  std::filesystem::path dir_;
};

TEST_F(fixture_file, first_pass_is_verbatim_and_later_passes_get_a_cycle_suffix) {
  const auto f = fixture::load(write(R"({"order_id": "a-1", "client_id":"c","quantity":"1"})"
                                     "\n\n"
                                     R"({"client_id":"c","quantity":"2"})"
                                     "\n"),
                               "");
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(body(f, 0), R"({"order_id": "a-1", "client_id":"c","quantity":"1"})");
  EXPECT_EQ(body(f, 1), R"({"client_id":"c","quantity":"2"})");
  EXPECT_EQ(body(f, 2), R"({"order_id": "a-1.c1", "client_id":"c","quantity":"1"})");
  EXPECT_EQ(body(f, 3), R"({"client_id":"c","quantity":"2"})");  // no id: the server makes one
  EXPECT_EQ(body(f, 2 * 12 + 0), R"({"order_id": "a-1.c12", "client_id":"c","quantity":"1"})");
}

TEST_F(fixture_file, a_tag_marks_every_order_id_of_a_run) {
  const auto f = fixture::load(write(R"({"order_id":"x","side":"buy"})"
                                     "\n"),
                               "rest");
  EXPECT_EQ(body(f, 0), R"({"order_id":"x.rest","side":"buy"})");
  EXPECT_EQ(body(f, 1), R"({"order_id":"x.rest.c1","side":"buy"})");
  EXPECT_EQ(f.longest_order_id(1), 6u);
  EXPECT_EQ(f.longest_order_id(100), 6u + 4u);  // ".c99"
}

TEST_F(fixture_file, members_can_be_spliced_behind_other_fields) {
  const auto f = fixture::load(write(R"({"order_id":"x","side":"buy"})"
                                     "\n{}\n"),
                               "");
  std::string out = R"({"op":"place",)";
  bool comma = false;
  f.append_members(2, out, comma);
  EXPECT_TRUE(comma);
  EXPECT_EQ(out, R"({"op":"place","order_id":"x.c1","side":"buy"})");
  out.clear();
  f.append_members(1, out, comma);
  EXPECT_FALSE(comma);
  EXPECT_EQ(out, "}");
}

TEST_F(fixture_file, bad_lines_are_refused_with_their_line_number) {
  EXPECT_THROW((void)fixture::load(write("{\"a\":1}\nnot json\n"), ""), std::runtime_error);
  EXPECT_THROW((void)fixture::load(write("[1,2]\n"), ""), std::runtime_error);
  EXPECT_THROW((void)fixture::load(write(R"({"order_id":7})"
                                         "\n"),
                                   ""),
               std::runtime_error);
  EXPECT_THROW((void)fixture::load(write(R"({"order_id":"a b"})"
                                         "\n"),
                                   ""),
               std::runtime_error);
  EXPECT_THROW((void)fixture::load(write("\n\n"), ""), std::runtime_error);
  EXPECT_THROW((void)fixture::load(write(R"({"order_id":"a"})"
                                         "\n"),
                                   "bad tag"),
               std::runtime_error);
  try {
    (void)fixture::load(write("{}\n{}\n{\n"), "");
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(":3:"), std::string::npos) << e.what();
  }
}

// fixtures/gen_orders.py output: unique ids, limit orders that never cross, lot sizes.
TEST_F(fixture_file, generated_fixture_builds_a_book_without_crossing) {
  const std::string path = (dir_ / "gen.ndjson").string();
  const std::string cmd = std::string("python3 '") + MATCHD_GEN_ORDERS +
                          "' --count 2000 --seed 3 --market-burst 10 --out '" + path + "'";
  if (std::system("python3 -c 'pass' >/dev/null 2>&1") != 0) GTEST_SKIP() << "no python3";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const auto f = fixture::load(path, "");
  ASSERT_EQ(f.size(), 2010u);
  std::set<std::string> ids;
  long long best_bid = 0;
  long long best_ask = 1LL << 62;
  std::ifstream in(path);
  std::string line;
  std::size_t markets = 0;
  while (std::getline(in, line)) {
    const auto o = nlohmann::json::parse(line);
    EXPECT_TRUE(ids.insert(o["order_id"].get<std::string>()).second);
    // Quantities are whole lots of 1e-8 with exactly 8 decimals.
    const std::string q = o["quantity"];
    ASSERT_EQ(q.size() - q.find('.'), 9u) << q;
    if (o["type"] == "market") {
      ++markets;
      EXPECT_FALSE(o.contains("price"));
      continue;
    }
    const std::string p = o["price"];
    const auto dot = p.find('.');
    ASSERT_EQ(p.size() - dot, 3u) << p;  // tick 0.01
    const long long cents = std::stoll(p.substr(0, dot)) * 100 + std::stoll(p.substr(dot + 1));
    if (o["side"] == "buy") {
      best_bid = std::max(best_bid, cents);
    } else {
      best_ask = std::min(best_ask, cents);
    }
  }
  EXPECT_EQ(markets, 10u);
  EXPECT_LT(best_bid, 7'000'000);  // below the default mid 70000.00
  EXPECT_GT(best_ask, 7'000'000);
}

}  // namespace
}  // namespace matchd::load
