// SIGTERM and SIGINT stop the daemon cleanly (exit code 0) within a few seconds, also with
// clients connected and orders in flight.

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "harness.h"
#include "wait.h"

namespace matchd::e2e {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

constexpr auto kShutdownBound = 5s;

TEST(shutdown, sigterm_when_idle_exits_0) {
  daemon_process daemon;
  const auto start = clock_type::now();
  const process_exit result = daemon.terminate_and_wait(10s);
  EXPECT_TRUE(result.clean()) << result.describe();
  EXPECT_LT(clock_type::now() - start, kShutdownBound);
}

TEST(shutdown, sigterm_with_every_kind_of_client_connected_exits_0) {
  daemon_process daemon;
  http_client http(daemon.port());
  ASSERT_EQ(http.post_json("/orders", limit_order("o1", "client-A", "buy", "100.00", "1")).status,
            201u);
  http_client idle(daemon.port());
  idle.connect();  // a connection that never sends a request
  ws_client ws(daemon.port());
  ws.send_json({{"op", "subscribe"},
                {"channels", {"trades", "orderbook_deltas", "orders"}},
                {"instrument", "BTC-USD"}});
  ASSERT_TRUE(ws.read_json(5s).has_value());
  sse_client sse(daemon.port(), "/stream/sse?channels=trades,orders&instrument=BTC-USD");
  EXPECT_EQ(sse.status(), 200u);

  const auto start = clock_type::now();
  const process_exit result = daemon.terminate_and_wait(10s);
  EXPECT_TRUE(result.clean()) << result.describe();
  EXPECT_LT(clock_type::now() - start, kShutdownBound);

  // The clients see the end of their connections rather than hanging.
  const ws_client::close_info closed = ws.drain_until_closed(3s);
  EXPECT_TRUE(closed.closed) << closed.describe();
}

// A subscriber that stopped reading cannot take the close handshake; the daemon must
// still exit cleanly, and not wait for it for long.
TEST(shutdown, sigterm_with_a_stalled_subscriber_exits_0) {
  daemon_process daemon;
  ws_client::options small;
  small.receive_buffer_bytes = 4096;
  ws_client stalled(daemon.port(), small);
  stalled.send_json({{"op", "subscribe"},
                     {"channels", {"trades", "orderbook_deltas", "orders"}},
                     {"instrument", "BTC-USD"}});
  ASSERT_TRUE(stalled.read_json(5s).has_value());
  http_client http(daemon.port());
  for (int i = 0; i < 1000; ++i) {
    const std::string price = std::to_string(100 + i % 50) + ".00";
    ASSERT_EQ(http.post_json("/orders", limit_order("s" + std::to_string(i), "client-S", "sell",
                                                    price, "0.01"))
                  .status,
              201u);
  }
  const auto start = clock_type::now();
  const process_exit result = daemon.terminate_and_wait(10s);
  const auto elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - start);
  ::testing::Test::RecordProperty("shutdown_ms", std::to_string(elapsed.count()));
  std::printf("shutdown with a stalled subscriber took %lld ms\n",
              static_cast<long long>(elapsed.count()));
  EXPECT_TRUE(result.clean()) << result.describe();
  EXPECT_LT(elapsed, 8s);
}

TEST(shutdown, sigint_exits_0) {
  daemon_process daemon;
  http_client http(daemon.port());
  ASSERT_EQ(http.get("/healthz").status, 200u);
  const auto start = clock_type::now();
  daemon.send_signal(SIGINT);
  const process_exit result = daemon.wait_for_exit(10s);
  EXPECT_TRUE(result.clean()) << result.describe();
  EXPECT_LT(clock_type::now() - start, kShutdownBound);
}

TEST(shutdown, sigterm_with_orders_in_flight_exits_0) {
  daemon_process daemon;
  std::atomic<bool> stop{false};
  std::atomic<int> acknowledged{0};
  std::thread sender([&] {
    try {
      http_client http(daemon.port(), 3000ms);
      for (int i = 0; i < 1'000'000 && !stop; ++i) {
        const std::string side = i % 2 == 0 ? "buy" : "sell";
        const http_response r = http.post_json(
            "/orders", limit_order("f" + std::to_string(i), "client-F", side, "100.00", "0.01"));
        if (r.status != 201) return;  // the daemon may answer 503 while stopping
        ++acknowledged;
      }
    } catch (const transport_error&) {
      // The connection goes away with the daemon.
    }
  });
  (void)test::wait_until([&] { return acknowledged >= 200; }, 10s, 1ms);

  const auto start = clock_type::now();
  const process_exit result = daemon.terminate_and_wait(10s);
  stop = true;
  sender.join();
  EXPECT_GE(acknowledged, 200);
  EXPECT_TRUE(result.clean()) << result.describe();
  EXPECT_LT(clock_type::now() - start, kShutdownBound);
}

// The helpers later failure tests build on: a crash (SIGKILL) and a restart on the same port,
// with an existing client reconnecting by itself.
TEST(harness, kill9_then_restart_serves_again_on_the_same_port) {
  daemon_process daemon;
  const std::uint16_t port = daemon.port();
  http_client http(port, 2000ms);
  ASSERT_EQ(http.get("/healthz").status, 200u);
  const pid_t first_pid = daemon.pid();

  daemon.kill9();
  EXPECT_FALSE(daemon.running());
  EXPECT_THROW(http.get("/healthz"), transport_error);

  daemon.restart();
  EXPECT_TRUE(daemon.running());
  EXPECT_NE(daemon.pid(), first_pid);
  EXPECT_EQ(daemon.port(), port);
  EXPECT_EQ(http.get("/healthz").status, 200u);
  const process_exit result = daemon.terminate_and_wait();
  EXPECT_TRUE(result.clean()) << result.describe();
}

}  // namespace
}  // namespace matchd::e2e
