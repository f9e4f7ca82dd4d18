// feed_client against an in-process replay server over 127.0.0.1: every trade becomes one
// order, and the connection survives drops, closes, silence and a full engine queue.

#include <gtest/gtest.h>
#include <matchd/engine/instrument.h>
#include <matchd/feed/feed_client.h>
#include <matchd/feed/order_mapping.h>
#include <matchd/feed/trade_message.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>

#include "feed_harness.h"

namespace matchd::feed::test {
namespace {

using namespace std::chrono_literals;

feed_replay::replay_options fast_replay() {
  feed_replay::replay_options r;
  r.lines = fixture_lines();
  r.speed = 0;
  return r;
}

// The fixture's trades by order id.
std::map<std::string, parsed_trade> expected_orders() {
  std::map<std::string, parsed_trade> out;
  for (const std::string& line : fixture_lines()) {
    const auto t = parse_trade_message(line);
    EXPECT_TRUE(t.has_value()) << line;
    if (t) out.emplace(feed_order_id(t->symbol, t->trade_id), *t);
  }
  return out;
}

std::set<std::string> distinct_ids(const std::vector<bus::engine_request>& requests) {
  std::set<std::string> ids;
  for (const auto& r : requests) ids.emplace(r.place.id.view());
  return ids;
}

TEST(feed_client, turns_every_fixture_trade_into_one_market_order) {
  local_replay replay(fast_replay());
  local_feed feed(test_options(replay.url()));
  const auto before = std::chrono::system_clock::now();
  feed.start();
  const std::size_t n = fixture_lines().size();
  ASSERT_TRUE(wait_until([&] { return feed.accepted_count() >= n; }, 5s))
      << "got " << feed.accepted_count() << " of " << n;

  const auto expected = expected_orders();
  const auto requests = feed.accepted();
  ASSERT_EQ(requests.size(), n);
  const engine::instrument btc = engine::instrument::btc_usd();
  const auto before_us =
      std::chrono::duration_cast<std::chrono::microseconds>(before.time_since_epoch()).count();
  std::uint64_t previous_trade_id = 0;
  for (const bus::engine_request& r : requests) {
    const std::string id(r.place.id.view());
    ASSERT_TRUE(expected.contains(id)) << id;
    const parsed_trade& t = expected.at(id);
    EXPECT_GT(t.trade_id, previous_trade_id) << "orders keep the stream's order";
    previous_trade_id = t.trade_id;
    EXPECT_EQ(r.kind, bus::request_kind::place);
    EXPECT_FALSE(r.reply.wanted()) << "nobody waits for a feed order";
    EXPECT_GT(r.received_ns, 0);
    EXPECT_EQ(r.place.client.view(), "binance-feed");
    EXPECT_EQ(r.place.instrument, 0u);
    EXPECT_EQ(r.place.type, engine::order_type::market);
    EXPECT_EQ(r.place.tif, engine::time_in_force::ioc);
    EXPECT_EQ(r.place.order_side, t.buyer_is_maker ? engine::side::sell : engine::side::buy);
    EXPECT_EQ(r.place.quantity.value, engine::parse_quantity(btc, t.quantity).value.value)
        << id << " q=" << t.quantity;
    EXPECT_GE(r.place.received_at, before_us);
  }
  const feed_stats s = feed.stats();
  EXPECT_EQ(s.messages, n);
  EXPECT_EQ(s.submitted, n);
  EXPECT_EQ(s.parse_errors, 0u);
  EXPECT_EQ(s.dropped, 0u);
  EXPECT_EQ(s.reconnects, 0u);
  EXPECT_EQ(s.connections, 1u);
  EXPECT_TRUE(s.connected);
  const std::string metrics = feed.metrics();
  for (const char* name :
       {"feed_messages_total", "feed_orders_submitted_total", "feed_orders_dropped_total",
        "feed_parse_errors_total", "feed_reconnects_total", "feed_lag_seconds", "feed_connected"}) {
    EXPECT_NE(metrics.find(name), std::string::npos) << name << " missing from\n" << metrics;
  }
  EXPECT_NE(metrics.find("feed_connected 1"), std::string::npos) << metrics;
  EXPECT_TRUE(feed.stop_and_drain()) << "the io thread must run out of work after stop()";
  EXPECT_FALSE(feed.stats().connected);
}

TEST(feed_client, reads_combined_stream_events) {
  feed_replay::replay_options r = fast_replay();
  for (std::string& line : r.lines) line = R"({"stream":"btcusdt@trade","data":)" + line + "}";
  local_replay replay(std::move(r));
  local_feed feed(test_options(replay.url("/stream?streams=btcusdt@trade")));
  feed.start();
  const std::size_t n = fixture_lines().size();
  ASSERT_TRUE(wait_until([&] { return feed.accepted_count() >= n; }, 5s));
  EXPECT_EQ(distinct_ids(feed.accepted()).size(), n);
  EXPECT_EQ(feed.stats().parse_errors, 0u);
}

TEST(feed_client, skips_and_counts_malformed_messages) {
  feed_replay::replay_options r = fast_replay();
  r.inject_malformed_every = 10;
  local_replay replay(std::move(r));
  local_feed feed(test_options(replay.url()));
  feed.start();
  const std::size_t n = fixture_lines().size();
  ASSERT_TRUE(wait_until([&] { return feed.stats().messages >= n + n / 10; }, 5s));
  const feed_stats s = feed.stats();
  EXPECT_EQ(s.submitted, n);
  EXPECT_EQ(s.parse_errors, n / 10);
  EXPECT_EQ(s.reconnects, 0u) << "a bad message is no reason to reconnect";
  const std::string metrics = feed.metrics();
  // The replay server cycles through four kinds of bad message.
  for (const char* reason : {"bad_json", "missing_field", "bad_decimal", "unknown_symbol"}) {
    EXPECT_NE(metrics.find(std::string("feed_parse_errors_total{reason=\"") + reason + "\"} 5"),
              std::string::npos)
        << reason << "\n"
        << metrics;
  }
}

TEST(feed_client, reconnects_after_dropped_connections_and_loses_nothing_on_resume) {
  feed_replay::replay_options r = fast_replay();
  r.drop_after = 60;
  local_replay replay(std::move(r));
  local_feed feed(test_options(replay.url()));
  feed.start();
  const std::size_t n = fixture_lines().size();
  ASSERT_TRUE(wait_until([&] { return feed.accepted_count() >= n; }, 5s))
      << feed.accepted_count() << " reconnects=" << feed.stats().reconnects;
  EXPECT_EQ(distinct_ids(feed.accepted()).size(), n);
  const feed_stats s = feed.stats();
  EXPECT_GE(s.reconnects, 3u);
  EXPECT_EQ(s.connections, replay.server().connections());
  EXPECT_TRUE(wait_until([&] { return feed.stats().connected; }, 5s));
}

TEST(feed_client, treats_a_server_close_like_the_24_hour_disconnect) {
  feed_replay::replay_options r = fast_replay();
  r.speed = 100;  // ~0.13 s of trades
  r.close_after = 40ms;
  local_replay replay(std::move(r));
  local_feed feed(test_options(replay.url()));
  feed.start();
  ASSERT_TRUE(wait_until([&] { return feed.stats().reconnects >= 2; }, 5s));
  ASSERT_TRUE(wait_until([&] { return feed.stats().connections >= 3; }, 5s));
  EXPECT_NE(feed.metrics().find("feed_connection_errors_total{stage=\"closed\"}"),
            std::string::npos);
}

TEST(feed_client, reconnects_at_once_on_a_server_shutdown_notice) {
  feed_replay::replay_options r = fast_replay();
  r.lines.insert(r.lines.begin() + 100, R"({"e":"serverShutdown","E":1717243210000})");
  r.speed = 20;  // the notice arrives after ~0.3 s
  local_replay replay(std::move(r));
  feed_options o = test_options(replay.url());
  o.reconnect_initial = 5000ms;  // a backoff delay would show
  o.reconnect_max = 5000ms;
  local_feed feed(o);
  feed.start();
  ASSERT_TRUE(wait_until([&] { return replay.server().connections() >= 2; }, 3000ms));
  EXPECT_EQ(feed.stats().reconnects, 1u);
  EXPECT_EQ(feed.stats().parse_errors, 0u);
  // The stream goes on over the new connection.
  const std::string last =
      feed_order_id("BTCUSDT", parse_trade_message(fixture_lines().back())->trade_id);
  EXPECT_TRUE(wait_until([&] { return distinct_ids(feed.accepted()).contains(last); }, 5s));
}

TEST(feed_client, counts_pings_which_beast_answers) {
  feed_replay::replay_options r = fast_replay();
  r.ping_interval = 20ms;
  local_replay replay(std::move(r));
  local_feed feed(test_options(replay.url()));
  feed.start();
  EXPECT_TRUE(wait_until([&] { return feed.stats().pings >= 3; }, 5s));
  EXPECT_EQ(feed.stats().reconnects, 0u);
}

TEST(feed_client, reconnects_a_stream_that_goes_silent) {
  feed_replay::replay_options r = fast_replay();
  r.wait_for_file = "/nonexistent/matchd-feed-never";  // connected, pinging, no data
  r.ping_interval = 20ms;
  local_replay replay(std::move(r));
  feed_options o = test_options(replay.url());
  o.message_timeout = 150ms;
  local_feed feed(o);
  feed.start();
  EXPECT_TRUE(wait_until([&] { return feed.stats().reconnects >= 2; }, 3000ms));
  EXPECT_GE(replay.server().connections(), 2u);
  EXPECT_EQ(feed.stats().messages, 0u);
}

TEST(feed_client, drops_orders_the_queue_refuses_without_blocking) {
  local_replay replay(fast_replay());
  std::atomic<int> calls{0};
  local_feed feed(test_options(replay.url()),
                  [&](const bus::engine_request&) { return calls.fetch_add(1) % 2 == 0; });
  feed.start();
  const std::size_t n = fixture_lines().size();
  ASSERT_TRUE(wait_until([&] { return feed.stats().messages >= n; }, 5s));
  const feed_stats s = feed.stats();
  EXPECT_EQ(s.submitted, n / 2);
  EXPECT_EQ(s.dropped, n / 2);
  EXPECT_EQ(feed.accepted_count(), n / 2);
  EXPECT_NE(feed.metrics().find("feed_orders_dropped_total " + std::to_string(n / 2)),
            std::string::npos);
}

TEST(feed_client, scales_quantities_and_counts_what_rounds_to_nothing) {
  local_replay replay(fast_replay());
  feed_options o = test_options(replay.url());
  o.quantity_scale = "0.0001";
  local_feed feed(o);
  feed.start();
  const std::size_t n = fixture_lines().size();
  ASSERT_TRUE(wait_until([&] { return feed.stats().messages >= n; }, 5s));
  const auto expected = expected_orders();
  std::size_t below_lot = 0;
  for (const auto& [id, t] : expected) {
    // q * 0.0001 in lots of 1e-8, rounded down: q's units at 1e-8 divided by 10^4.
    if (engine::parse_quantity(engine::instrument::btc_usd(), t.quantity).value.value / 10'000 ==
        0) {
      ++below_lot;
    }
  }
  const feed_stats s = feed.stats();
  EXPECT_EQ(s.skipped, below_lot);
  EXPECT_EQ(s.submitted, n - below_lot);
  EXPECT_GT(below_lot, 0u) << "the fixture has trades under 0.0001 BTC";
  for (const auto& r : feed.accepted()) {
    const parsed_trade& t = expected.at(std::string(r.place.id.view()));
    EXPECT_EQ(
        r.place.quantity.value,
        engine::parse_quantity(engine::instrument::btc_usd(), t.quantity).value.value / 10'000);
  }
}

TEST(feed_client, keeps_retrying_an_unreachable_server_with_backoff_and_stops_promptly) {
  std::uint16_t port = 0;
  {
    // A port that was free a moment ago: nothing listens there now.
    local_replay probe(fast_replay());
    port = probe.port();
  }
  local_feed feed(test_options("ws://127.0.0.1:" + std::to_string(port) + "/ws/btcusdt@trade"));
  feed.start();
  EXPECT_TRUE(wait_until([&] { return feed.stats().reconnects >= 3; }, 3000ms));
  EXPECT_FALSE(feed.stats().connected);
  EXPECT_NE(feed.metrics().find("feed_connection_errors_total{stage=\"connect\"}"),
            std::string::npos);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(feed.stop_and_drain(2000ms));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms);
}

TEST(feed_client, refuses_bad_options_at_construction) {
  boost::asio::io_context ioc;
  auto registry = obs::make_registry();
  const std::vector<engine::instrument> instruments{engine::instrument::btc_usd()};
  const auto make = [&](feed_options o) {
    feed_client c(
        ioc, std::move(o), instruments, [](bus::engine_request&&) { return true; }, *registry);
  };
  feed_options bad_url;
  bad_url.url = "https://stream.binance.com/ws/btcusdt@trade";
  EXPECT_THROW(make(bad_url), std::invalid_argument);
  feed_options bad_ca;
  bad_ca.ca_file = "/nonexistent/ca.pem";
  EXPECT_THROW(make(bad_ca), std::invalid_argument);
  feed_options bad_symbol;
  bad_symbol.symbol_map = {{"BTCUSDT", "NOPE"}};
  EXPECT_THROW(make(bad_symbol), std::invalid_argument);
  EXPECT_THROW(feed_client(ioc, feed_options{}, instruments, nullptr, *registry),
               std::invalid_argument);
}

}  // namespace
}  // namespace matchd::feed::test
