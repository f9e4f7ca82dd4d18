// What a client can grow is bounded (docs/api.md, Limits): order rate per client, header size,
// connections, the buffer of a subscriber that stopped reading, and how long a connection
// may sit idle.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "harness.h"
#include "wait.h"

namespace matchd::e2e {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

bool is_delay_seconds(const std::string& value) {
  return !value.empty() && value.find_first_not_of("0123456789") == std::string::npos;
}

// --- request size ---------------------------------------------------------------------

// A request line and headers above 8 KiB are refused with 431 headers_too_large from the
// error table, and the connection is closed; just under the limit is served.
TEST(header_limit, headers_above_8_kib_are_431_headers_too_large_and_close) {
  daemon_process daemon;
  http_client http(daemon.port());
  const http_response under =
      http.request("GET", "/healthz", {}, {{"X-Padding", std::string(7 * 1024, 'x')}});
  EXPECT_EQ(under.status, 200u) << under.describe();
  const http_response over =
      http.request("GET", "/healthz", {}, {{"X-Padding", std::string(9 * 1024, 'x')}});
  EXPECT_TRUE(is_error(over, 431, "headers_too_large")) << over.describe();
  EXPECT_EQ(over.header("Connection"), "close") << over.describe();
  const http_response after = http.get("/healthz");  // on a new connection
  EXPECT_EQ(after.status, 200u) << after.describe();
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
  std::this_thread::sleep_for(1200ms);  // the refill is the clock: no state to observe
  const http_response later =
      first_connection.post_json("/orders", limit_order("a7", "client-A", "buy", "100.00", "0.01"));
  EXPECT_EQ(later.status, 201u) << later.describe();
}

// --- connection limit -----------------------------------------------------------------

// Above the limit only the operators' routes are served (lockout_e2e_test.cpp has the
// reserve itself); everything else is refused.
TEST(connection_limit, connections_beyond_the_limit_are_refused_or_closed) {
  constexpr int kLimit = 10;
  constexpr const char* kBook = "/orderbook?instrument=BTC-USD";
  daemon_process daemon({"--rate-limit", "0", "--max-connections", std::to_string(kLimit),
                         "--max-connections-per-address", std::to_string(kLimit + 1)});
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
    const http_response r = extra.get(kBook);
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
  const bool served = test::wait_until(
      [&] {
        try {
          http_client again(daemon.port(), 1000ms);
          return again.get(kBook).status == 200;
        } catch (const transport_error&) {
          return false;
        }
      },
      5s, 100ms);
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

// What a reading subscriber has seen once a stalled one has fallen behind by more than its
// kernel buffers and the daemon's buffer of `subscriber_buffer` frames can hold.
// (Events here are a few hundred bytes; 2 KiB per frame is generous.)
std::size_t bytes_beyond_every_buffer(std::size_t subscriber_buffer) {
  return kernel_max_send_buffer() + subscriber_buffer * 2048 + (1u << 20);
}

// Whether the daemon said it is closing a stalled subscriber (WebSocket or SSE).
bool closing_reported(const daemon_process& daemon) {
  return daemon.stderr_text().find("subscriber too slow") != std::string::npos;
}

// The daemon counts the one subscriber it cut off.
void expect_one_slow_consumer_counted(http_client& http) {
  const auto metrics = parse_prometheus(http.get("/metrics").body);
  EXPECT_EQ(metric_value(metrics, "stream_slow_consumers_total"), 1.0)
      << "the disconnect is not counted";
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

  // Once the normal subscriber has seen this much, the slow one has fallen behind by more
  // than any bounded buffer allows.
  const std::size_t target_bytes = bytes_beyond_every_buffer(kSubscriberBuffer);
  order_flood flood(daemon.port());
  // The flood also stops once the daemon says it is closing the stalled subscriber: that
  // close frame waits behind a write the stalled peer is not reading, and the daemon gives
  // up on it (TCP close) if the peer still reads nothing 10 s later. With durable acks the
  // flood is slower and would outlast that deadline.
  const auto flood_deadline = clock_type::now() + 25s;
  while (clock_type::now() < flood_deadline && normal.bytes_received() < target_bytes &&
         !normal.closed() && !closing_reported(daemon)) {
    normal.pump(50ms);
    normal.clear_pending();
  }
  flood.stop();
  for (const std::string& e : flood.errors()) EXPECT_TRUE(e.empty()) << "producer: " << e;
  EXPECT_TRUE(normal.bytes_received() >= target_bytes || closing_reported(daemon))
      << "flood too small: " << flood.posted() << " orders in 25 s";
  ASSERT_FALSE(normal.closed()) << "the reading subscriber was dropped: "
                                << normal.close_state().describe();

  const ws_client::close_info closed = slow.drain_until_closed(15s);
  EXPECT_TRUE(closed.closed) << "the stalled subscriber was never disconnected ("
                             << closed.discarded << " messages buffered, " << flood.posted()
                             << " orders posted)";
  EXPECT_TRUE(closed.close_frame) << closed.describe();
  EXPECT_EQ(closed.code, 1008) << closed.describe();
  EXPECT_FALSE(closed.reason.empty()) << "close reason missing";

  http_client http(daemon.port());
  expect_one_slow_consumer_counted(http);

  // The normal subscriber still gets new events, and order entry still works.
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

// The other bound on a stalled WebSocket subscriber: the bytes its session holds. Few but
// large frames (order book snapshots, one per re-subscription) stay far below the frame
// cap, and the session is still closed with 1008 once it holds 32 MiB, rather than growing
// with whatever it is sent.
TEST(slow_subscriber, is_disconnected_by_the_bytes_it_holds_before_its_frame_cap) {
  constexpr std::size_t kSubscriberBuffer = 100000;  // frames: never reached here
  constexpr std::size_t kMaxHeldBytes = 32u << 20;   // websocket_session.cpp
  daemon_process daemon(
      {"--rate-limit", "0", "--subscriber-buffer", std::to_string(kSubscriberBuffer)});

  // A deep book, so that each snapshot is large: 1,000 price levels a side.
  http_client http(daemon.port());
  constexpr int kLevels = 1000;
  for (int i = 0; i < kLevels; ++i) {
    const auto price = [](int cents) {
      return std::to_string(cents / 100) + "." + (cents % 100 < 10 ? "0" : "") +
             std::to_string(cents % 100);
    };
    const std::string n = std::to_string(i);
    ASSERT_EQ(http.post_json("/orders",
                             limit_order("bid-" + n, "client-B", "buy", price(100'000 - i), "0.5"))
                  .status,
              201u);
    ASSERT_EQ(http.post_json("/orders",
                             limit_order("ask-" + n, "client-S", "sell", price(200'000 + i), "0.5"))
                  .status,
              201u);
  }

  const json subscribe = {
      {"op", "subscribe"}, {"channels", {"orderbook"}}, {"instrument", "BTC-USD"}};
  const json unsubscribe = {
      {"op", "unsubscribe"}, {"channels", {"orderbook"}}, {"instrument", "BTC-USD"}};
  std::size_t snapshot_bytes = 0;
  {
    ws_client reader(daemon.port());
    reader.send_json(subscribe);
    const auto deadline = clock_type::now() + 5s;
    while (snapshot_bytes == 0 && clock_type::now() < deadline) {
      const std::optional<std::string> m = reader.read_text(1s);
      if (m && m->find("\"orderbook_snapshot\"") != std::string::npos) snapshot_bytes = m->size();
    }
  }
  ASSERT_GT(snapshot_bytes, 50'000u) << "the book is not deep enough for this test";

  // Every subscribe after an unsubscribe sends a fresh snapshot to a client that reads
  // nothing; enough of them fill the kernel's buffers and then 32 MiB in the session.
  ws_client::options small;
  small.receive_buffer_bytes = 4096;
  ws_client slow(daemon.port(), small);
  const std::size_t needed = (kMaxHeldBytes + kernel_max_send_buffer()) / snapshot_bytes + 10;
  std::size_t rounds = 0;
  const auto deadline = clock_type::now() + 30s;
  while (rounds < 2 * needed && !closing_reported(daemon) && clock_type::now() < deadline) {
    slow.send_json(subscribe);
    slow.send_json(unsubscribe);
    ++rounds;
  }
  // The daemon answers them after they were sent.
  ASSERT_TRUE(test::wait_until(
      [&] { return closing_reported(daemon); },
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now()), 50ms))
      << rounds << " snapshots of " << snapshot_bytes << " bytes did not close the session";
  // Three frames a round at most (two acknowledgements and the snapshot).
  EXPECT_LT(3 * rounds, kSubscriberBuffer / 10) << "the frame cap could have closed it";

  const ws_client::close_info closed = slow.drain_until_closed(30s);
  EXPECT_TRUE(closed.closed) << closed.describe();
  EXPECT_TRUE(closed.close_frame) << closed.describe();
  EXPECT_EQ(closed.code, 1008) << closed.describe();
  expect_one_slow_consumer_counted(http);
  EXPECT_EQ(http.get("/healthz").status, 200u);
}

// An SSE stream has no close code: a subscriber that stops reading is cut off. The daemon
// drops the frames it had queued for it and closes the connection in order, sending nothing
// more, so the client reads what was already on its way (the subscription comment, the
// snapshot, then events in order), then EOF; and its subscription is gone. A subscriber that
// reads keeps its stream, and order entry keeps working.
TEST(slow_subscriber, sse_stream_is_closed_while_a_normal_one_keeps_receiving) {
  constexpr std::size_t kSubscriberBuffer = 1024;  // frames
  daemon_process daemon(
      {"--rate-limit", "0", "--subscriber-buffer", std::to_string(kSubscriberBuffer)});
  const std::string every_channel = "/stream/sse?instrument=BTC-USD";
  http_client http(daemon.port());
  // Polls the stream_subscribers gauge until it is `n`; returns the last value seen.
  const auto subscribers_reach = [&http](double n) {
    std::optional<double> value;
    (void)test::wait_until(
        [&] {
          value = metric_value(parse_prometheus(http.get("/metrics").body), "stream_subscribers");
          return value == n;
        },
        5s, 20ms);
    return value;
  };
  const auto id_of = [](const sse_client::event& e) { return std::atoll(e.id.c_str()); };

  sse_client::options small;
  small.receive_buffer_bytes = 4096;
  small.comments = true;
  sse_client slow(daemon.port(), every_channel, small);
  ASSERT_EQ(slow.status(), 200u) << slow.body();
  sse_client normal(daemon.port(), every_channel);
  ASSERT_EQ(normal.status(), 200u) << normal.body();
  ASSERT_EQ(subscribers_reach(2), 2.0);

  // With one instrument and every channel, a subscriber gets every event: after the
  // snapshot at N, the ids go on N + 1, N + 2, ...
  long long normal_last_id = -1;
  std::vector<std::string> normal_gaps;
  const auto read_normal = [&](std::chrono::milliseconds timeout) {
    std::optional<sse_client::event> e = normal.next(timeout);
    if (e) {
      if (normal_last_id >= 0 && id_of(*e) != normal_last_id + 1) {
        normal_gaps.push_back(std::to_string(normal_last_id) + " -> " + e->id);
      }
      normal_last_id = id_of(*e);
    }
    return e;
  };

  const std::size_t target_bytes = bytes_beyond_every_buffer(kSubscriberBuffer);
  order_flood flood(daemon.port());
  const auto flood_deadline = clock_type::now() + 25s;
  while (clock_type::now() < flood_deadline && normal.bytes_received() < target_bytes &&
         !normal.ended() && !closing_reported(daemon)) {
    for (int i = 0; i < 256 && read_normal(50ms); ++i) {
    }
  }
  flood.stop();
  for (const std::string& e : flood.errors()) EXPECT_TRUE(e.empty()) << "producer: " << e;
  EXPECT_TRUE(normal.bytes_received() >= target_bytes || closing_reported(daemon))
      << "flood too small: " << flood.posted() << " orders in 25 s";
  ASSERT_FALSE(normal.ended()) << "the reading subscriber was dropped: " << normal.end_error();
  const long long published = http.get(orderbook_path(1)).json().value("sequence", 0LL);

  std::vector<sse_client::event> got;
  const auto drain_deadline = clock_type::now() + 15s;
  while (!slow.ended() && clock_type::now() < drain_deadline) {
    if (std::optional<sse_client::event> e = slow.next(500ms)) got.push_back(std::move(*e));
  }
  EXPECT_TRUE(slow.ended()) << "the stalled SSE subscriber was never disconnected: " << got.size()
                            << " frames read in 15 s after a flood of " << flood.posted()
                            << " orders";
  EXPECT_EQ(slow.end_error(), "") << "the stream did not end with the server's orderly close";
  // Keep-alive comments aside, what arrived is the start of the stream, none of it missing;
  // the end is cut off (a last frame may be cut in two, which EventSource drops).
  std::erase_if(
      got, [](const sse_client::event& e) { return e.event.empty() && e.comment == "keepalive"; });
  ASSERT_GE(got.size(), 2u) << "not even the snapshot arrived before the close";
  EXPECT_EQ(got[1].event, "orderbook_snapshot");
  EXPECT_EQ(got[0].comment, "subscribed sequence=" + got[1].id)
      << "first frame: event \"" << got[0].event << "\" comment \"" << got[0].comment << "\"";
  std::size_t mismatches = 0;
  for (std::size_t i = 2; i < got.size() && mismatches < 5; ++i) {
    const sse_client::event& e = got[i];
    const bool channel_event =
        e.event == "trades" || e.event == "orders" || e.event == "orderbook_deltas";
    if (!channel_event || id_of(e) != id_of(got[i - 1]) + 1) {
      ++mismatches;
      ADD_FAILURE() << "frame " << i << " after id " << got[i - 1].id << ": event \"" << e.event
                    << "\" id \"" << e.id << "\" comment \"" << e.comment << "\"";
    }
  }
  EXPECT_LT(id_of(got.back()), published)
      << "the stalled subscriber got every event up to the end of the flood: nothing was cut off";
  EXPECT_EQ(subscribers_reach(1), 1.0) << "the closed stream's subscription was kept";
  expect_one_slow_consumer_counted(http);

  // The normal subscriber still gets new events, in order, and order entry still works.
  const http_response r =
      http.post_json("/orders", limit_order("after-flood", "client-Z", "buy", "1.00", "1"));
  ASSERT_EQ(r.status, 201u) << r.describe();
  bool seen = false;
  const auto deadline = clock_type::now() + 15s;
  while (!seen && !normal.ended() && clock_type::now() < deadline) {
    const std::optional<sse_client::event> e = read_normal(500ms);
    if (e && e->event == "orders") {
      const json order = json::parse(e->data, nullptr, false);
      seen = order.is_object() && order.value("order_id", "") == "after-flood";
    }
  }
  EXPECT_TRUE(seen) << "the normal subscriber never got the order placed after the flood ("
                    << (normal.ended() ? "stream ended: " + normal.end_error() : "still open")
                    << ")";
  EXPECT_TRUE(normal_gaps.empty())
      << "the normal subscriber missed events: " << json(normal_gaps).dump();
}

// --- idle connections -----------------------------------------------------------------

// A raw TCP connection to the daemon, for clients that misbehave on purpose. Reads wait at
// most 50 ms, so a test can interleave sends and checks against its own deadline.
class raw_connection {
 public:
  explicit raw_connection(std::uint16_t port)
      : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    if (fd_ < 0) throw std::runtime_error("socket() failed");
    const timeval wait{0, 50'000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      throw std::runtime_error("connect() failed");
    }
  }
  ~raw_connection() { ::close(fd_); }
  raw_connection(const raw_connection&) = delete;
  raw_connection& operator=(const raw_connection&) = delete;

  // False once the server has closed the connection.
  bool send(std::string_view bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }
  // What arrived within 50 ms (appended to `received`); false once the server closed.
  bool poll(std::string& received) {
    char chunk[4096];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n > 0) {
      received.append(chunk, static_cast<std::size_t>(n));
      return true;
    }
    if (n == 0) return false;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  }

 private:
  int fd_;
};

// --idle-timeout 1: a connection that says nothing, and one that trickles a request's
// headers a line at a time (slowloris), are both closed within the timeout plus the once a
// second sweep, and not before the timeout; a connection that pauses 0.5 s between requests
// stays open however the sweeps fall.
TEST(idle_timeout, silent_and_trickling_connections_are_closed_and_a_pausing_one_is_not) {
  daemon_process daemon({"--idle-timeout", "1"});
  const auto started = clock_type::now();
  raw_connection silent(daemon.port());
  raw_connection trickling(daemon.port());
  raw_connection pausing(daemon.port());
  ASSERT_TRUE(trickling.send("POST /orders HTTP/1.1\r\nHost: 127.0.0.1\r\n"));

  std::optional<clock_type::duration> silent_closed_after;
  std::optional<clock_type::duration> trickling_closed_after;
  int answers = 0;  // on the pausing connection
  std::string received;
  std::string ignored;
  auto next_line = clock_type::now();
  auto next_request = clock_type::now();
  const auto deadline = started + 5s;
  while (clock_type::now() < deadline && (!silent_closed_after || !trickling_closed_after)) {
    const auto now = clock_type::now();
    if (!trickling_closed_after && now >= next_line) {
      (void)trickling.send("X-Slow: 1\r\n");  // a failed send shows up in poll below
      next_line = now + 200ms;
    }
    if (now >= next_request) {
      ASSERT_TRUE(pausing.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
          << "the pausing connection was closed after " << answers << " answers";
      next_request = now + 500ms;
    }
    if (!silent_closed_after && !silent.poll(ignored)) silent_closed_after = now - started;
    if (!trickling_closed_after && !trickling.poll(ignored)) {
      trickling_closed_after = now - started;
    }
    ASSERT_TRUE(pausing.poll(received))
        << "the pausing connection was closed after " << answers << " answers";
    for (std::size_t at = received.find("HTTP/1.1 200"); at != std::string::npos;
         at = received.find("HTTP/1.1 200")) {
      ++answers;
      received.erase(0, at + 12);
    }
  }

  ASSERT_TRUE(silent_closed_after) << "a silent connection was still open after 5 s";
  ASSERT_TRUE(trickling_closed_after) << "a trickling request was still open after 5 s";
  EXPECT_GE(*silent_closed_after, 900ms) << "closed before the idle timeout";
  EXPECT_GE(*trickling_closed_after, 900ms) << "closed before the idle timeout";
  EXPECT_GE(answers, 3) << "the pausing connection, open as long as the others, got " << answers
                        << " answers";
  const http_response health = http_client(daemon.port()).get("/healthz");
  EXPECT_EQ(health.status, 200u) << health.describe();
}

}  // namespace
}  // namespace matchd::e2e
