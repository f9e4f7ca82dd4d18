// What a client can grow is bounded (STYLE.md habit 5): order rate per client, connections,
// and the buffer of a subscriber that stopped reading.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace matchd::e2e {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

bool is_delay_seconds(const std::string& value) {
  return !value.empty() && value.find_first_not_of("0123456789") == std::string::npos;
}

// --- rate limit -----------------------------------------------------------------------

TEST(rate_limit, seventh_rapid_order_of_one_client_is_429_and_others_are_unaffected) {
  daemon_process daemon({"--rate-limit", "5", "--rate-burst", "5"});
  http_client first_connection(daemon.port());
  http_client second_connection(daemon.port());
  first_connection.connect();
  second_connection.connect();

  std::vector<http_response> responses;
  for (int i = 0; i < 6; ++i) {
    responses.push_back(first_connection.post_json(
        "/orders", limit_order("a" + std::to_string(i), "client-A", "buy", "100.00", "0.01")));
  }
  // The limit is per client_id, not per connection.
  responses.push_back(second_connection.post_json(
      "/orders", limit_order("a6", "client-A", "buy", "100.00", "0.01")));
  // Another client on the connection that client-A exhausted is unaffected.
  const http_response other =
      first_connection.post_json("/orders", limit_order("b0", "client-B", "buy", "100.00", "0.01"));

  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(responses[static_cast<std::size_t>(i)].status, 201u)
        << "order " << i << ": " << responses[static_cast<std::size_t>(i)].describe();
  }
  const http_response& limited = responses[6];
  EXPECT_TRUE(is_error(limited, 429, "rate_limited"));
  EXPECT_TRUE(is_delay_seconds(limited.header("Retry-After")))
      << "Retry-After: \"" << limited.header("Retry-After") << "\"";
  EXPECT_EQ(other.status, 201u) << other.describe();
  EXPECT_TRUE(is_error(first_connection.get(order_path("a6")), 404, "order_not_found"))
      << "a rate-limited order is not placed";

  // Tokens come back at 5 per second.
  std::this_thread::sleep_for(1200ms);
  const http_response later =
      first_connection.post_json("/orders", limit_order("a7", "client-A", "buy", "100.00", "0.01"));
  EXPECT_EQ(later.status, 201u) << later.describe();
}

// --- connection limit -----------------------------------------------------------------

TEST(connection_limit, connections_beyond_the_limit_are_refused_or_closed) {
  constexpr int kLimit = 10;
  daemon_process daemon({"--rate-limit", "0", "--max-connections", std::to_string(kLimit)});
  std::vector<std::unique_ptr<http_client>> held;
  for (int i = 0; i < kLimit; ++i) {
    held.push_back(std::make_unique<http_client>(daemon.port()));
    const http_response r = held.back()->get("/healthz");
    ASSERT_EQ(r.status, 200u) << "connection " << i << ": " << r.describe();
  }

  // Refused, closed, never served, or answered 503: anything but being served.
  http_client extra(daemon.port(), 2000ms);
  std::string outcome;
  try {
    const http_response r = extra.get("/healthz");
    outcome = r.describe();
    EXPECT_EQ(r.status, 503u) << "connection " << kLimit + 1 << " was served: " << outcome;
  } catch (const transport_error& e) {
    outcome = e.what();
  }
  extra.close();

  for (int i = 0; i < kLimit; ++i) {
    EXPECT_EQ(held[static_cast<std::size_t>(i)]->get("/healthz").status, 200u)
        << "held connection " << i << " stopped working";
  }

  // A freed slot can be used again.
  held.front()->close();
  held.erase(held.begin());
  bool served = false;
  const auto deadline = clock_type::now() + 5s;
  for (int attempt = 0; attempt < 50 && !served && clock_type::now() < deadline; ++attempt) {
    try {
      http_client again(daemon.port(), 1000ms);
      served = again.get("/healthz").status == 200;
    } catch (const transport_error&) {
    }
    if (!served) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(served) << "no connection accepted after one of " << kLimit << " was closed";
}

// --- overload -------------------------------------------------------------------------

// With room for one command in flight, 64 connections sending at once must see some 503s
// (with Retry-After), and an order answered 503 was not accepted.
TEST(overload, full_queue_answers_503_and_accepts_nothing) {
  constexpr int kThreads = 64;
  constexpr int kOrdersPerThread = 20;
  daemon_process daemon({"--rate-limit", "0", "--queue-capacity", "1"});
  std::vector<std::vector<std::pair<std::string, http_response>>> results(kThreads);
  std::vector<std::string> errors(kThreads);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      try {
        http_client client(daemon.port());
        client.connect();
        ++ready;
        for (int spin = 0; spin < 100000 && ready < kThreads; ++spin) std::this_thread::yield();
        for (int i = 0; i < kOrdersPerThread; ++i) {
          const std::string id = "q" + std::to_string(t) + "-" + std::to_string(i);
          results[static_cast<std::size_t>(t)].emplace_back(
              id, client.post_json("/orders", limit_order(id, "client-" + std::to_string(t), "buy",
                                                          "100.00", "0.01")));
        }
      } catch (const std::exception& e) {
        errors[static_cast<std::size_t>(t)] = e.what();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (const std::string& e : errors) ASSERT_TRUE(e.empty()) << e;

  http_client http(daemon.port());
  int created = 0;
  int overloaded = 0;
  for (const auto& per_thread : results) {
    for (const auto& [id, r] : per_thread) {
      if (r.status == 201) {
        ++created;
        continue;
      }
      ASSERT_TRUE(is_error(r, 503, "overloaded")) << id;
      ++overloaded;
      EXPECT_TRUE(is_delay_seconds(r.header("Retry-After")))
          << "Retry-After: \"" << r.header("Retry-After") << "\"";
      EXPECT_EQ(http.get(order_path(id)).status, 404u) << id << " was answered 503 but exists";
    }
  }
  EXPECT_GT(overloaded, 0) << "no 503 with one command of room and " << kThreads
                           << " concurrent senders";
  const json book = http.get(orderbook_path(5)).json();
  ASSERT_EQ(book["bids"].size(), 1u) << book.dump();
  EXPECT_EQ(book["bids"][0]["orders"], created);
  EXPECT_EQ(book["bids"][0]["quantity"], format_units(created * 1000000LL, 8));
}

// --- slow subscriber ------------------------------------------------------------------

std::size_t kernel_max_send_buffer() {
  std::ifstream in("/proc/sys/net/ipv4/tcp_wmem");
  std::size_t min = 0, def = 0, max = 0;
  if (in >> min >> def >> max) return max;
  return 4u << 20;
}

// A subscriber that stops reading (small receive buffer, never pumped) while a flood of
// events goes out must be disconnected with close code 1008; a subscriber that reads keeps
// its connection and REST keeps working.
TEST(slow_subscriber, is_disconnected_with_1008_while_a_normal_one_keeps_working) {
  constexpr std::size_t kSubscriberBuffer = 1024;  // frames
  daemon_process daemon(
      {"--rate-limit", "0", "--subscriber-buffer", std::to_string(kSubscriberBuffer)});
  const json subscribe = {{"op", "subscribe"},
                          {"channels", {"trades", "orderbook_deltas", "orders"}},
                          {"instrument", "BTC-USD"}};
  auto is_snapshot = [](const json& m) {
    return m.is_object() && m.value("channel", "") == "orderbook_snapshot";
  };

  ws_client::options small;
  small.receive_buffer_bytes = 4096;
  ws_client slow(daemon.port(), small);
  slow.send_json(subscribe);
  ASSERT_TRUE(slow.read_until(is_snapshot, 5s)) << "slow subscriber got no snapshot";
  ws_client normal(daemon.port());
  normal.send_json(subscribe);
  ASSERT_TRUE(normal.read_until(is_snapshot, 5s)) << "normal subscriber got no snapshot";

  // Everything the slow subscriber's kernel buffers can hold, plus plenty for the daemon's
  // own per-subscriber buffer: once the normal subscriber has seen this much, the slow one
  // has fallen behind by more than any bounded buffer allows.
  // (Events here are a few hundred bytes; 2 KiB per frame is generous.)
  const std::size_t target_bytes = kernel_max_send_buffer() + kSubscriberBuffer * 2048 + (1u << 20);
  std::atomic<bool> stop{false};
  std::atomic<long> posted{0};
  std::vector<std::string> producer_errors(2);
  std::vector<std::thread> producers;
  for (int p = 0; p < 2; ++p) {
    producers.emplace_back([&, p] {
      try {
        http_client client(daemon.port());
        const std::string pad(40, 'x');
        for (long i = 0; i < 200000 && !stop; ++i) {
          const std::string base = "p" + std::to_string(p) + "-" + std::to_string(i) + "-" + pad;
          const http_response s = client.post_json(
              "/orders", limit_order(base + "s", "client-flood-" + std::to_string(p), "sell",
                                     "100.00", "0.01"));
          const http_response b = client.post_json(
              "/orders", limit_order(base + "b", "client-flood-" + std::to_string(p), "buy",
                                     "100.00", "0.01"));
          if (s.status != 201 || b.status != 201) {
            producer_errors[static_cast<std::size_t>(p)] = s.describe() + " / " + b.describe();
            return;
          }
          posted += 2;
        }
      } catch (const std::exception& e) {
        producer_errors[static_cast<std::size_t>(p)] = e.what();
      }
    });
  }
  // The flood also stops once the daemon says it is closing the stalled subscriber: that
  // close frame waits behind a write the stalled peer is not reading, and the daemon gives
  // up on it (TCP close) if the peer still reads nothing 5 s later. With durable acks the
  // flood is slower and would outlast that grace.
  const auto closing_reported = [&daemon] {
    return daemon.stderr_text().find("subscriber too slow") != std::string::npos;
  };
  const auto flood_deadline = clock_type::now() + 25s;
  while (clock_type::now() < flood_deadline && normal.bytes_received() < target_bytes &&
         !normal.closed() && !closing_reported()) {
    normal.pump(50ms);
    normal.clear_pending();
  }
  stop = true;
  for (std::thread& t : producers) t.join();
  for (const std::string& e : producer_errors) EXPECT_TRUE(e.empty()) << "producer: " << e;
  EXPECT_TRUE(normal.bytes_received() >= target_bytes || closing_reported())
      << "flood too small: " << posted << " orders in 25 s";
  ASSERT_FALSE(normal.closed()) << "the reading subscriber was dropped: "
                                << normal.close_state().describe();

  const ws_client::close_info closed = slow.drain_until_closed(15s);
  EXPECT_TRUE(closed.closed) << "the stalled subscriber was never disconnected ("
                             << closed.discarded << " messages buffered, " << posted
                             << " orders posted)";
  EXPECT_TRUE(closed.close_frame) << closed.describe();
  EXPECT_EQ(closed.code, 1008) << closed.describe();
  EXPECT_FALSE(closed.reason.empty()) << "close reason missing";

  // The normal subscriber still gets new events, and order entry still works.
  http_client http(daemon.port());
  const http_response r =
      http.post_json("/orders", limit_order("after-flood", "client-Z", "buy", "1.00", "1"));
  ASSERT_EQ(r.status, 201u) << r.describe();
  const std::optional<json> event = normal.read_until(
      [](const json& m) {
        return m.is_object() && m.value("channel", "") == "orders" && m.contains("data") &&
               m["data"].value("order_id", "") == "after-flood";
      },
      15s);
  EXPECT_TRUE(event.has_value()) << "normal subscriber: " << normal.close_state().describe();
}

}  // namespace
}  // namespace matchd::e2e
