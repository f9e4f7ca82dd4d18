// Candles, range statistics and the trade history against the real daemon and PostgreSQL
// (docs/api.md "Analytics and history"): what the API answers equals a model built here from
// the trades the daemon acknowledged, before and after a kill -9 in the middle of a bucket,
// with trades added to that bucket after the restart; and every bad query is a 400 with the
// stable code.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "daemon_process.h"
#include "db_state.h"
#include "durability_checks.h"
#include "http_client.h"
#include "order_builders.h"
#include "pg_server.h"

namespace matchd::pgtest {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// BTC-USD: prices at 2 decimals (ticks), quantities at 8 (lots). The trades here keep every
// sum in 64 bits: 300 trades of at most 104.99 x 0.05 give quote sums below 2e13 (x 10^4
// for the VWAP's decimals, below 2e17).
std::int64_t units(const std::string& decimal) {
  std::string digits;
  for (char c : decimal) {
    if (c != '.') digits += c;
  }
  return std::stoll(digits);
}

std::string decimal(std::int64_t v, int scale) {
  std::string s;
  do {
    s.insert(s.begin(), static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  } while (v != 0 || static_cast<int>(s.size()) <= scale);
  if (scale > 0) s.insert(s.end() - scale, '.');
  return s;
}

std::int64_t half_even(std::int64_t n, std::int64_t d) {
  std::int64_t q = n / d;
  const std::int64_t r = n % d;
  if (2 * r > d || (2 * r == d && q % 2 == 1)) ++q;
  return q;
}

struct model_trade {
  std::uint64_t id;
  std::int64_t at_us;
  std::int64_t ticks;
  std::int64_t lots;
};

// A bucket as the API should write it, from first principles.
json expected_candle(const std::vector<model_trade>& in_bucket) {
  std::vector<model_trade> t = in_bucket;
  std::sort(t.begin(), t.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  std::int64_t high = t[0].ticks;
  std::int64_t low = t[0].ticks;
  std::int64_t volume = 0;
  std::int64_t quote = 0;
  for (const model_trade& x : t) {
    high = std::max(high, x.ticks);
    low = std::min(low, x.ticks);
    volume += x.lots;
    quote += static_cast<std::int64_t>(x.ticks) * x.lots;
  }
  return {{"open", decimal(t.front().ticks, 2)},
          {"high", decimal(high, 2)},
          {"low", decimal(low, 2)},
          {"close", decimal(t.back().ticks, 2)},
          {"volume", decimal(volume, 8)},
          {"quote_volume", decimal(quote, 10)},
          {"vwap", decimal(half_even(quote * 10'000, volume), 6)},
          {"trades", t.size()}};
}

class analytics : public ::testing::Test {
 protected:
  void SetUp() override {
    pg_.start();
    daemon_ = std::make_unique<e2e::daemon_process>(durable_daemon_args(pg_.connection_string()));
  }

  // A resting sell and an IOC buy that takes it: one trade, recorded in the model.
  void trade(e2e::http_client& http, const std::string& price, const std::string& quantity) {
    const int n = next_++;
    const e2e::http_response maker = http.post_json(
        "/orders", e2e::limit_order("m" + std::to_string(n), "maker", "sell", price, quantity));
    ASSERT_EQ(maker.status, 201u) << maker.describe();
    const e2e::http_response taker = http.post_json(
        "/orders",
        e2e::limit_order("t" + std::to_string(n), "taker", "buy", price, quantity, "ioc"));
    ASSERT_EQ(taker.status, 201u) << taker.describe();
    const json trades = taker.json()["trades"];
    ASSERT_EQ(trades.size(), 1u) << taker.describe();
    const json& t = trades[0];
    trades_.push_back({std::stoull(t["trade_id"].get<std::string>()),
                       *rfc3339_to_micros(t["timestamp"].get<std::string>()),
                       units(t["price"].get<std::string>()),
                       units(t["quantity"].get<std::string>())});
  }

  void many_trades(e2e::http_client& http, int count) {
    for (int i = 0; i < count; ++i) {
      trade(http, decimal(10'000 + (i * 37) % 500, 2),
            decimal(1'000'000 + (i * 7919) % 4'000'000, 8));
    }
  }

  // Every bucket of `interval` the model has, oldest first, against GET /candles.
  void expect_candles(e2e::http_client& http, const std::string& interval, std::int64_t len_us) {
    std::map<std::int64_t, std::vector<model_trade>> buckets;
    for (const model_trade& t : trades_) buckets[t.at_us / len_us * len_us].push_back(t);
    const e2e::http_response r =
        http.get("/candles?instrument=BTC-USD&interval=" + interval + "&limit=1500");
    ASSERT_EQ(r.status, 200u) << r.describe();
    const json body = r.json();
    EXPECT_EQ(body["instrument"], "BTC-USD");
    EXPECT_EQ(body["interval"], interval);
    ASSERT_EQ(body["candles"].size(), buckets.size()) << interval << ": " << r.body;
    std::size_t i = 0;
    for (const auto& [open_time, in_bucket] : buckets) {
      json got = body["candles"][i++];
      EXPECT_EQ(rfc3339_to_micros(got["open_time"].get<std::string>()), open_time) << got.dump();
      EXPECT_EQ(rfc3339_to_micros(got["close_time"].get<std::string>()), open_time + len_us)
          << got.dump();
      for (const char* k : {"open_time", "close_time", "closed"}) got.erase(k);
      EXPECT_EQ(got, expected_candle(in_bucket)) << interval << " bucket at " << open_time;
    }
  }

  // The range [from_us, to_us), cut to the milliseconds the query sends.
  void expect_stats(e2e::http_client& http, std::int64_t from_us, std::int64_t to_us) {
    from_us = from_us / 1000 * 1000;
    to_us = to_us / 1000 * 1000;
    std::vector<model_trade> in;
    for (const model_trade& t : trades_) {
      if (t.at_us >= from_us && t.at_us < to_us) in.push_back(t);
    }
    const e2e::http_response r = http.get(
        "/analytics/stats?instrument=BTC-USD&start_time=" + std::to_string(from_us / 1000) +
        "&end_time=" + std::to_string(to_us / 1000));
    ASSERT_EQ(r.status, 200u) << r.describe();
    json got = r.json();
    ASSERT_EQ(got["trades"], in.size()) << r.body;
    if (in.empty()) {
      EXPECT_TRUE(got["vwap"].is_null());
      return;
    }
    json want = expected_candle(in);
    std::int64_t price_sum = 0;
    for (const model_trade& t : in) price_sum += t.ticks;
    want["average_price"] =
        decimal(half_even(price_sum * 10'000, static_cast<std::int64_t>(in.size())), 6);
    for (const char* k : {"instrument", "start_time", "end_time"}) got.erase(k);
    EXPECT_EQ(got, want) << "range " << from_us << " to " << to_us;
  }

  pg_server pg_;
  std::unique_ptr<e2e::daemon_process> daemon_;
  std::vector<model_trade> trades_;
  int next_ = 0;
};

TEST_F(analytics, candles_and_stats_equal_the_acknowledged_trades_across_a_kill9) {
  {
    e2e::http_client http(daemon_->port(), 30s);
    many_trades(http, 150);
  }
  // Killed with the last buckets open; the trades after the restart extend them.
  daemon_->kill9();
  daemon_->restart();
  ASSERT_EQ(wait_for_readyz(daemon_->port(), 200, 10s).status, 200u);
  e2e::http_client http(daemon_->port(), 30s);
  many_trades(http, 150);
  wait_for_tables(pg_.connection_string());

  expect_candles(http, "1s", 1'000'000);
  expect_candles(http, "1m", 60'000'000);
  expect_candles(http, "1d", 86'400'000'000);
  const std::int64_t first = trades_.front().at_us;
  const std::int64_t last = trades_.back().at_us;
  expect_stats(http, first, last + 1000);               // every trade
  expect_stats(http, first + 1000, last);               // all but the two ends
  expect_stats(http, (first + last) / 2, last + 1000);  // a sub-second edge on the left
  expect_stats(http, last + 1000, last + 2000);         // none

  // The history, page by page, newest first: each trade exactly once.
  std::vector<std::uint64_t> seen;
  std::string before;
  for (int page = 0; page < 100; ++page) {
    const e2e::http_response r = http.get("/trades?instrument=BTC-USD&limit=70&start_time=0" +
                                          (before.empty() ? std::string() : "&before=" + before));
    ASSERT_EQ(r.status, 200u) << r.describe();
    const json list = r.json()["trades"];
    if (list.empty()) break;
    for (const json& t : list) seen.push_back(std::stoull(t["trade_id"].get<std::string>()));
    before = list.back()["trade_id"].get<std::string>();
  }
  std::vector<std::uint64_t> want;
  for (const model_trade& t : trades_) want.push_back(t.id);
  std::sort(want.rbegin(), want.rend());
  EXPECT_EQ(seen, want);
}

// While PostgreSQL is down the reads are 503 not_ready with Retry-After, nothing else; once
// it is back the trades acknowledged before, and those after, are in the candles once each.
TEST_F(analytics, a_database_outage_answers_503_and_loses_or_doubles_nothing) {
  e2e::http_client http(daemon_->port(), 30s);
  many_trades(http, 40);
  pg_.stop_immediately();
  for (const char* target : {"/candles?instrument=BTC-USD&interval=1m",
                             "/analytics/stats?instrument=BTC-USD&start_time=0&end_time=1"}) {
    const e2e::http_response r = http.get(target);
    EXPECT_EQ(r.status, 503u) << target << ": " << r.describe();
    EXPECT_EQ(r.json()["error"].value("code", ""), "not_ready") << r.describe();
    EXPECT_FALSE(r.header("Retry-After").empty()) << r.describe();
  }
  pg_.start_again();
  ASSERT_EQ(wait_for_readyz(daemon_->port(), 200, 30s).status, 200u);
  many_trades(http, 40);
  wait_for_tables(pg_.connection_string());
  // The reader's session broke with the outage; its backoff ends within two seconds.
  std::this_thread::sleep_for(2100ms);
  expect_candles(http, "1s", 1'000'000);
  expect_candles(http, "1h", 3'600'000'000);
}

TEST_F(analytics, candle_limits_and_ranges_pick_the_newest_buckets_of_the_range) {
  e2e::http_client http(daemon_->port(), 30s);
  many_trades(http, 60);
  wait_for_tables(pg_.connection_string());
  std::vector<std::int64_t> seconds;
  for (const model_trade& t : trades_) seconds.push_back(t.at_us / 1'000'000 * 1'000'000);
  std::sort(seconds.begin(), seconds.end());
  seconds.erase(std::unique(seconds.begin(), seconds.end()), seconds.end());
  const e2e::http_response r = http.get("/candles?instrument=BTC-USD&interval=1s&limit=1");
  ASSERT_EQ(r.status, 200u) << r.describe();
  ASSERT_EQ(r.json()["candles"].size(), 1u);
  EXPECT_EQ(rfc3339_to_micros(r.json()["candles"][0]["open_time"].get<std::string>()),
            seconds.back());
  // A range that ends at the newest bucket's open_time leaves it out.
  const e2e::http_response before = http.get("/candles?instrument=BTC-USD&interval=1s&end_time=" +
                                             std::to_string(seconds.back() / 1000));
  ASSERT_EQ(before.status, 200u) << before.describe();
  EXPECT_EQ(before.json()["candles"].size(), seconds.size() - 1);
}

TEST_F(analytics, bad_queries_are_400_with_a_stable_code) {
  e2e::http_client http(daemon_->port(), 30s);
  const auto code = [&](const std::string& target) -> std::string {
    const e2e::http_response r = http.get(target);
    EXPECT_EQ(r.status, 400u) << target << ": " << r.describe();
    return r.json()["error"].value("code", "");
  };
  const std::pair<const char*, const char*> cases[] = {
      {"/candles?instrument=BTC-USD", "invalid_parameter"},
      {"/candles?instrument=BTC-USD&interval=2m", "invalid_parameter"},
      {"/candles?instrument=BTC-USD&interval=1M", "invalid_parameter"},
      {"/candles?instrument=BTC-USD&interval=1m&limit=1501", "invalid_parameter"},
      {"/candles?instrument=BTC-USD&interval=1m&limit=0", "invalid_parameter"},
      {"/candles?instrument=BTC-USD&interval=1m&start_time=yesterday", "invalid_parameter"},
      {"/candles?instrument=BTC-USD&interval=1m&start_time=2026-02-30T00:00:00Z",
       "invalid_parameter"},
      {"/candles?instrument=BTC-USD&interval=1m&start_time=2000&end_time=1000",
       "invalid_parameter"},
      {"/candles?instrument=ETH-EUR&interval=1m", "unknown_instrument"},
      {"/candles?interval=1m", "invalid_parameter"},
      {"/analytics/stats?instrument=BTC-USD&start_time=0", "invalid_parameter"},
      {"/analytics/stats?instrument=BTC-USD&end_time=0", "invalid_parameter"},
      {"/analytics/stats?instrument=BTC-USD&start_time=5&end_time=4", "invalid_parameter"},
      {"/trades?instrument=BTC-USD&before=abc", "invalid_parameter"},
      {"/trades?instrument=BTC-USD&before=0", "invalid_parameter"},
      {"/trades?instrument=BTC-USD&start_time=1.5", "invalid_parameter"},
  };
  for (const auto& [target, expected] : cases) EXPECT_EQ(code(target), expected) << target;
  // An empty range is no error: nothing in it.
  const e2e::http_response empty =
      http.get("/analytics/stats?instrument=BTC-USD&start_time=5&end_time=5");
  ASSERT_EQ(empty.status, 200u) << empty.describe();
  EXPECT_EQ(empty.json()["trades"], 0);
}

}  // namespace
}  // namespace matchd::pgtest
