// Connections a client can hold against everyone else (issue 26, defect 4): the operators'
// reserve above --max-connections, the limit per client address, WebSocket keep-alive
// pings and the deadline of an unfinished WebSocket message. Clients come from several
// loopback addresses (127.0.0.2, ...) so that each address is a different client.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "harness.h"
#include "raw_connection.h"
#include "wait.h"

namespace matchd::e2e {
namespace {

using namespace std::chrono_literals;

using connections = std::vector<std::unique_ptr<raw_connection>>;

// A WebSocket from `source` that says nothing after its upgrade and reads nothing (so it
// never answers a ping): the issue's idle attacker.
std::unique_ptr<raw_connection> silent_websocket(std::uint16_t port, const std::string& source) {
  auto c = std::make_unique<raw_connection>(port, source);
  c->send(websocket_upgrade_request());
  const std::string& head = c->read_until("\r\n\r\n", 5s);
  EXPECT_EQ(status_of(head), 101u) << "upgrade from " << source << ": " << head;
  return c;
}

// `n` silent WebSockets, five from each of 127.0.0.2, 127.0.0.3, ...: the cap of 20 is
// filled without any address going over its default share (a quarter of the cap).
connections fill_with_silent_websockets(std::uint16_t port, int n) {
  connections out;
  for (int i = 0; i < n; ++i) out.push_back(silent_websocket(port, loopback(2 + i / 5)));
  return out;
}

// One GET on a fresh connection from `source`: the whole answer, or what came before the
// server closed it or the timeout.
std::string get_once(std::uint16_t port, const std::string& source, std::string_view target) {
  raw_connection c(port, source);
  c.send(get_request(target));
  return c.read_until("\r\n\r\n", 5s);
}

bool all_closed(connections& cs) {
  for (auto& c : cs) {
    if (!c->wait_closed(0ms)) return false;
  }
  return true;
}

// The issue's reproduction: idle WebSockets fill --max-connections. On main the next
// connection was closed at accept, /healthz included, for as long as they stayed.
TEST(lockout, health_readiness_and_metrics_answer_while_idle_websockets_fill_the_cap) {
  daemon_process daemon({"--rate-limit", "0", "--max-connections", "20"});
  connections idle = fill_with_silent_websockets(daemon.port(), 20);

  for (const char* path : {"/healthz", "/readyz", "/metrics"}) {
    const std::string answer = get_once(daemon.port(), loopback(1), path);
    EXPECT_EQ(status_of(answer), 200u) << path << " at the connection cap: \"" << answer << "\"";
  }
  // Only those: anything else in the reserve is the answer of a full server.
  raw_connection other(daemon.port(), loopback(1));
  other.send(get_request("/orderbook?instrument=BTC-USD"));
  EXPECT_TRUE(other.wait_closed(5s)) << "a refused request's connection stays open";
  EXPECT_EQ(status_of(other.received()), 503u) << other.received();
  EXPECT_NE(other.received().find("\"overloaded\""), std::string::npos) << other.received();
}

// With a short --ws-idle-timeout the silent WebSockets are pinged, do not answer and are
// closed; a client that answers pings stays; new clients get in again.
TEST(lockout, silent_websockets_are_closed_and_new_clients_get_in) {
  daemon_process daemon({"--rate-limit", "0", "--max-connections", "21", "--ws-idle-timeout", "2"});
  connections idle = fill_with_silent_websockets(daemon.port(), 20);
  ws_client live(daemon.port());  // Beast answers the server's pings while it reads

  const bool closed = test::wait_until(
      [&] {
        live.pump(50ms);
        return all_closed(idle);
      },
      15s, 1ms);
  EXPECT_TRUE(closed) << "silent WebSockets still open after 15 s with --ws-idle-timeout 2";
  // Longer than the idle timeout: the client that answered is still served.
  live.pump(2500ms);
  EXPECT_FALSE(live.closed()) << live.close_state().describe();
  live.send_json({{"op", "subscribe"}, {"instrument", "BTC-USD"}, {"channels", {"trades"}}});
  EXPECT_TRUE(live.read_json(5s).has_value()) << live.close_state().describe();

  const std::string answer = get_once(daemon.port(), loopback(9), "/orderbook?instrument=BTC-USD");
  EXPECT_EQ(status_of(answer), 200u) << answer;
}

// By default one address may hold a quarter of the cap; the next connection from it is
// answered 503 overloaded and closed, while other addresses are still served. On main one
// address could take every connection.
TEST(per_address_limit, an_address_over_its_share_is_refused_and_others_are_served) {
  daemon_process daemon({"--rate-limit", "0", "--max-connections", "20"});
  connections held;
  for (int i = 0; i < 5; ++i) {
    held.push_back(std::make_unique<raw_connection>(daemon.port(), loopback(2)));
    held.back()->send(get_request("/healthz"));
    const std::string& answer = held.back()->read_until("\r\n\r\n", 5s);
    ASSERT_EQ(status_of(answer), 200u) << "connection " << i << ": " << answer;
  }

  raw_connection sixth(daemon.port(), loopback(2));
  sixth.send(get_request("/healthz"));
  EXPECT_TRUE(sixth.wait_closed(5s)) << "the connection over the limit stays open";
  EXPECT_EQ(status_of(sixth.received()), 503u) << sixth.received();
  EXPECT_NE(sixth.received().find("\"overloaded\""), std::string::npos) << sixth.received();
  EXPECT_NE(sixth.received().find("Retry-After: 1"), std::string::npos) << sixth.received();

  EXPECT_EQ(status_of(get_once(daemon.port(), loopback(3), "/healthz")), 200u);

  // A connection given back is a place for the same address again.
  held.front()->close();
  const bool served_again = test::wait_until(
      [&] { return status_of(get_once(daemon.port(), loopback(2), "/healthz")) == 200; }, 5s, 50ms);
  EXPECT_TRUE(served_again) << "no place for 127.0.0.2 after one of its connections closed";
}

TEST(per_address_limit, the_flag_sets_the_share) {
  daemon_process daemon({"--rate-limit", "0", "--max-connections-per-address", "2"});
  raw_connection first(daemon.port(), loopback(2));
  raw_connection second(daemon.port(), loopback(2));
  for (raw_connection* c : {&first, &second}) {
    c->send(get_request("/healthz"));
    ASSERT_EQ(status_of(c->read_until("\r\n\r\n", 5s)), 200u) << c->received();
  }
  EXPECT_EQ(status_of(get_once(daemon.port(), loopback(2), "/healthz")), 503u);
}

// A client that never answers the server's pings is closed after --ws-idle-timeout; one
// that answers them is not.
TEST(websocket_keepalive, a_client_that_never_answers_pings_is_closed) {
  daemon_process daemon({"--rate-limit", "0", "--ws-idle-timeout", "2"});
  auto silent = silent_websocket(daemon.port(), loopback(2));
  ws_client live(daemon.port());

  const bool closed = test::wait_until(
      [&] {
        live.pump(50ms);
        return silent->wait_closed(0ms);
      },
      10s, 1ms);
  EXPECT_TRUE(closed) << "a WebSocket that never answered a ping is still open after 10 s";
  // The server pinged before it gave up: the first frame it sent is a ping (opcode 9).
  const std::string& got = silent->received();
  const std::size_t body = got.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos);
  ASSERT_GT(got.size(), body + 4) << "no ping was sent";
  EXPECT_EQ(static_cast<unsigned char>(got[body + 4]) & 0x0f, 0x9);

  live.pump(2500ms);
  EXPECT_FALSE(live.closed()) << live.close_state().describe();
}

// The first fragment of a message, then nothing: closed with 1008 after --ws-message-timeout
// (checked once a second). A message sent in fragments without a pause is answered.
TEST(websocket_message_timeout, a_half_sent_message_is_closed_with_1008) {
  daemon_process daemon(
      {"--rate-limit", "0", "--ws-message-timeout", "1", "--ws-idle-timeout", "60"});
  auto whole = silent_websocket(daemon.port(), loopback(2));
  whole->send(client_frame(0x1, false, R"({"op":"subscribe",)"));
  whole->send(client_frame(0x0, true, R"("instrument":"BTC-USD","channels":["trades"]})"));
  EXPECT_NE(whole->read_until("subscribed", 5s).find("subscribed"), std::string::npos)
      << whole->received();

  auto half = silent_websocket(daemon.port(), loopback(3));
  half->send(client_frame(0x1, false, R"({"op":"subscribe",)"));
  EXPECT_TRUE(half->wait_closed(6s)) << "a half-sent message is still waited for after 6 s";
  EXPECT_EQ(close_code_of(half->received()), 1008) << half->received();

  EXPECT_FALSE(whole->wait_closed(0ms)) << "the client that finished its message was closed";
}

// An event stream whose client stopped reading is closed once a write has waited
// --idle-timeout, long before the subscriber buffer (set huge here) would close it. On main
// it stayed open, its frames piling up.
TEST(sse_deadline, a_stream_whose_client_stopped_reading_is_closed) {
  daemon_process daemon(
      {"--rate-limit", "0", "--idle-timeout", "1", "--subscriber-buffer", "1000000"});
  http_client http(daemon.port());
  const auto subscribers = [&http] {
    return metric_value(parse_prometheus(http.get("/metrics").body), "stream_subscribers");
  };
  sse_client::options small;
  small.receive_buffer_bytes = 4096;
  sse_client stalled(daemon.port(), "/stream/sse?instrument=BTC-USD", small);
  ASSERT_EQ(stalled.status(), 200u) << stalled.body();
  ASSERT_EQ(subscribers(), 1.0);

  // Events until the socket buffers are full and the server's write waits: orders placed
  // over a WebSocket, 200 in flight at a time (a commit each would be slow in durable mode).
  ws_client trader(daemon.port());
  int placed = 0;
  const bool closed = test::wait_until(
      [&] {
        for (int i = 0; i < 200; ++i, ++placed) {
          nlohmann::json order =
              limit_order("", "flood", "buy", std::to_string(100 + placed % 500) + ".00", "0.01");
          order["op"] = "place";
          order["req_id"] = placed;
          trader.send_json(order);
        }
        for (int i = 0; i < 200; ++i) {
          if (!trader.read_json(5s)) return false;
        }
        return subscribers() == 0.0;
      },
      30s, 1ms);
  EXPECT_TRUE(closed) << "the stalled stream is still subscribed after " << placed << " orders";
}

}  // namespace
}  // namespace matchd::e2e
