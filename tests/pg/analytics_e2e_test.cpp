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
#include "ws_client.h"

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

  // The model's trades in buckets of `len_us` whose open_time is within the `count` buckets
  // up to the one holding `at_us`: a rolling window of the ticker.
  std::vector<model_trade> window(std::int64_t at_us, std::int64_t len_us, int count) const {
    const std::int64_t current = at_us / len_us * len_us;
    std::vector<model_trade> in;
    for (const model_trade& t : trades_) {
      const std::int64_t b = t.at_us / len_us * len_us;
      if (b > current - count * len_us && b <= current) in.push_back(t);
    }
    return in;
  }

  // A ticker (GET /analytics/ticker or the stream's data) against the model at its timestamp.
  void expect_ticker(const json& got) {
    ASSERT_TRUE(got.contains("timestamp")) << got.dump();
    const std::int64_t at = *rfc3339_to_micros(got["timestamp"].get<std::string>());
    const std::vector<model_trade> day = window(at, 60'000'000, 1440);
    ASSERT_FALSE(day.empty());
    const json want = expected_candle(day);
    EXPECT_EQ(got["trades"], want["trades"]) << got.dump();
    for (const char* k : {"open", "high", "low", "volume", "quote_volume", "vwap"}) {
      EXPECT_EQ(got[k], want[k]) << k << " in " << got.dump();
    }
    std::vector<model_trade> by_id = trades_;
    std::sort(by_id.begin(), by_id.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    EXPECT_EQ(got["last_price"], decimal(by_id.back().ticks, 2)) << got.dump();
    for (const auto& [suffix, seconds] : {std::pair{"_1m", 60}, std::pair{"_5m", 300}}) {
      const std::vector<model_trade> w = window(at, 1'000'000, seconds);
      EXPECT_EQ(got[std::string("trades") + suffix], w.size()) << got.dump();
      if (w.empty()) {
        EXPECT_TRUE(got[std::string("vwap") + suffix].is_null()) << got.dump();
        continue;
      }
      const json ww = expected_candle(w);
      EXPECT_EQ(got[std::string("volume") + suffix], ww["volume"]) << got.dump();
      EXPECT_EQ(got[std::string("vwap") + suffix], ww["vwap"]) << got.dump();
    }
  }

  // A `candles` stream message's data against the model's bucket at its open_time.
  void expect_streamed_candle(const json& data, std::int64_t len_us) {
    const std::int64_t open_time = *rfc3339_to_micros(data["open_time"].get<std::string>());
    std::vector<model_trade> in_bucket;
    for (const model_trade& t : trades_) {
      if (t.at_us / len_us * len_us == open_time) in_bucket.push_back(t);
    }
    ASSERT_FALSE(in_bucket.empty()) << data.dump();
    json got = data;
    for (const char* k : {"interval", "open_time", "close_time", "closed"}) got.erase(k);
    EXPECT_EQ(got, expected_candle(in_bucket)) << data.dump();
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

namespace matchd::pgtest {
namespace {

bool is_candle(const json& m, const std::string& interval) {
  return m.value("channel", "") == "candles" && m["data"].value("interval", "") == interval;
}

// The candles and ticker streams: coalesced, closed once complete, equal to the trades the
// daemon acknowledged; after a kill -9 they continue from the candles table and the journal.
TEST_F(analytics, candle_and_ticker_streams_follow_the_acknowledged_trades_across_a_kill9) {
  e2e::http_client http(daemon_->port(), 30s);
  many_trades(http, 10);
  e2e::ws_client ws(daemon_->port());
  ws.send_json({{"op", "subscribe"},
                {"channels", {"candles", "ticker"}},
                {"interval", {"1s", "1d"}},
                {"instrument", "BTC-USD"}});
  const auto ack = ws.read_json(5s);
  ASSERT_TRUE(ack && ack->value("type", "") == "subscribed") << (ack ? ack->dump() : "none");
  EXPECT_EQ((*ack)["channels"], json({"candles", "ticker"}));
  // Where things stand: the open day bucket (unless the day just turned) and the ticker.
  std::vector<json> first;
  ASSERT_TRUE(
      ws.read_until([](const json& m) { return m.value("channel", "") == "ticker"; }, 5s, &first));
  for (const json& m : first) {
    if (is_candle(m, "1d")) {
      EXPECT_FALSE(m["data"]["closed"].get<bool>());
      expect_streamed_candle(m["data"], 86'400'000'000);
    }
  }

  // A burst of trades: fewer messages than trades, at most ten a second and interval.
  const auto burst_start = std::chrono::steady_clock::now();
  many_trades(http, 60);
  // Until the last trade's second is sent closed (within about 200 ms of its end on a quiet
  // box) and a ticker came (once a second while trades happen).
  const std::int64_t last_second = trades_.back().at_us / 1'000'000 * 1'000'000;
  std::vector<json> during;
  const auto closing = ws.read_until(
      [&](const json& m) {
        return is_candle(m, "1s") && m["data"]["closed"].get<bool>() &&
               rfc3339_to_micros(m["data"]["open_time"].get<std::string>()) == last_second;
      },
      10s, &during);
  ASSERT_TRUE(closing.has_value()) << "the last second of the burst was not sent closed";
  during.push_back(*closing);
  if (std::none_of(during.begin(), during.end(),
                   [](const json& m) { return m.value("channel", "") == "ticker"; })) {
    const auto ticker = ws.read_until(
        [](const json& m) { return m.value("channel", "") == "ticker"; }, 5s, &during);
    ASSERT_TRUE(ticker.has_value()) << "no ticker while trades happened";
    during.push_back(*ticker);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - burst_start).count();
  std::size_t one_second_messages = 0;
  std::map<std::string, json> last_closed_second;
  for (const json& m : during) {
    if (!is_candle(m, "1s")) continue;
    ++one_second_messages;
    if (m["data"]["closed"].get<bool>()) {
      last_closed_second[m["data"]["open_time"].get<std::string>()] = m["data"];
    }
  }
  EXPECT_LE(one_second_messages, static_cast<std::size_t>(10 * (seconds + 1)));
  EXPECT_LT(one_second_messages, 60u) << "the candle messages were not coalesced";
  // Every second of the burst closed (the last within the 1.5 s read), each exactly as the
  // model has it.
  std::map<std::int64_t, int> burst_seconds;
  for (std::size_t i = trades_.size() - 60; i < trades_.size(); ++i) {
    burst_seconds[trades_[i].at_us / 1'000'000 * 1'000'000] = 1;
  }
  for (const auto& [open_time, ignored] : burst_seconds) {
    const auto it =
        std::find_if(last_closed_second.begin(), last_closed_second.end(),
                     [&](const auto& kv) { return *rfc3339_to_micros(kv.first) == open_time; });
    ASSERT_NE(it, last_closed_second.end()) << "no closed:true for the second at " << open_time;
    expect_streamed_candle(it->second, 1'000'000);
  }
  // The ticker speaks once a second while trades happen, and says what the model says.
  std::vector<json> tickers;
  for (const json& m : during) {
    if (m.value("channel", "") == "ticker") tickers.push_back(m["data"]);
  }
  ASSERT_FALSE(tickers.empty());
  EXPECT_LE(tickers.size(), static_cast<std::size_t>(seconds + 2));
  const e2e::http_response ticker = http.get("/analytics/ticker?instrument=BTC-USD");
  ASSERT_EQ(ticker.status, 200u) << ticker.describe();
  expect_ticker(ticker.json());

  // kill -9 with the day's bucket open: after the restart the ticker and the open bucket
  // continue from what was committed, and new trades add to them.
  daemon_->kill9();
  daemon_->restart();
  ASSERT_EQ(wait_for_readyz(daemon_->port(), 200, 10s).status, 200u);
  e2e::http_client again(daemon_->port(), 30s);
  const e2e::http_response recovered = again.get("/analytics/ticker?instrument=BTC-USD");
  ASSERT_EQ(recovered.status, 200u) << recovered.describe();
  expect_ticker(recovered.json());
  e2e::ws_client ws2(daemon_->port());
  ws2.send_json({{"op", "subscribe"},
                 {"channels", {"candles"}},
                 {"interval", "1d"},
                 {"instrument", "BTC-USD"}});
  ASSERT_TRUE(
      ws2.read_until([](const json& m) { return m.value("type", "") == "subscribed"; }, 5s));
  // The open day bucket as recovered from the candles table and the journal.
  const auto seeded = ws2.read_json(5s);
  ASSERT_TRUE(seeded && is_candle(*seeded, "1d")) << (seeded ? seeded->dump() : "none");
  expect_streamed_candle((*seeded)["data"], 86'400'000'000);
  many_trades(again, 3);
  const std::size_t total = trades_.size();
  const auto update = ws2.read_until(
      [total](const json& m) { return is_candle(m, "1d") && m["data"]["trades"] == total; }, 5s);
  ASSERT_TRUE(update.has_value()) << "no 1d candle with the trades after the restart";
  expect_streamed_candle((*update)["data"], 86'400'000'000);
  expect_ticker(again.get("/analytics/ticker?instrument=BTC-USD").json());
}

TEST_F(analytics, stream_subscriptions_with_bad_intervals_are_refused) {
  e2e::ws_client ws(daemon_->port());
  for (const json& bad :
       {json{{"op", "subscribe"}, {"channels", {"candles"}}, {"instrument", "BTC-USD"}},
        json{{"op", "subscribe"},
             {"channels", {"candles"}},
             {"interval", "2m"},
             {"instrument", "BTC-USD"}},
        json{{"op", "subscribe"},
             {"channels", {"candles"}},
             {"interval", {"1m", 5}},
             {"instrument", "BTC-USD"}}}) {
    ws.send_json(bad);
    const auto reply = ws.read_json(5s);
    ASSERT_TRUE(reply.has_value()) << bad.dump();
    EXPECT_EQ(reply->value("type", ""), "error") << reply->dump();
    const std::string code = (*reply)["error"].value("code", "");
    EXPECT_TRUE(code == "missing_field" || code == "invalid_parameter") << reply->dump();
  }
  e2e::http_client http(daemon_->port(), 30s);
  const e2e::http_response no_interval =
      http.get("/stream/sse?channels=candles&instrument=BTC-USD");
  EXPECT_EQ(no_interval.status, 400u) << no_interval.describe();
  EXPECT_EQ(no_interval.json()["error"].value("code", ""), "missing_field");
  const e2e::http_response bad_interval =
      http.get("/stream/sse?channels=candles&instrument=BTC-USD&interval=7m");
  EXPECT_EQ(bad_interval.status, 400u) << bad_interval.describe();
  EXPECT_EQ(bad_interval.json()["error"].value("code", ""), "invalid_parameter");
  EXPECT_EQ(http.get("/analytics/ticker?instrument=NOPE").status, 400u);
}

}  // namespace
}  // namespace matchd::pgtest
