// The retention horizon in memory mode (docs/api.md, Orders): a finished order is
// forgotten after the horizon (GET /orders/{id} is 404), and memory stops growing with the
// number of orders: the daemon's resident memory after 2N orders, past the horizon, is
// about what it was after N. Memory mode only: in durable mode a forgotten order is read
// from PostgreSQL.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>

#include "harness.h"
#include "wait.h"

namespace matchd::e2e {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr auto kPastTheHorizon = 10s;

TEST(retention_memory, a_finished_order_is_served_within_the_horizon_and_404_after_it) {
  daemon_process daemon({"--rate-limit", "0", "--retention", "1s"});
  http_client http(daemon.port());
  ASSERT_EQ(http.post_json("/orders", market_order("gone-1", "client-A", "buy", "1")).status, 201u);
  const http_response within = http.get(order_path("gone-1"));
  ASSERT_EQ(within.status, 200u) << within.describe();
  EXPECT_EQ(within.json()["order"]["status"], "cancelled");
  // Nothing else is sent: an idle daemon forgets too.
  ASSERT_TRUE(test::wait_until([&] { return http.get(order_path("gone-1")).status == 404u; },
                               kPastTheHorizon, 50ms))
      << "still served " << kPastTheHorizon.count() << " s after a 1 s horizon";
  EXPECT_TRUE(is_error(http.get(order_path("gone-1")), 404, "order_not_found"));
}

// VmRSS of `pid`, in KiB.
std::int64_t resident_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  ADD_FAILURE() << "no VmRSS for pid " << pid;
  return 0;
}

// Sends `count` IOC orders into an empty book (each finished at once), each of its own
// client with its own idempotency key and a server-assigned id: every structure that
// grew per order before the horizon existed gets an entry per order. Pipelined over one
// WebSocket, `kWindow` at a time.
void send_orders(ws_client& ws, int first, int count) {
  constexpr int kWindow = 256;
  for (int sent = 0; sent < count;) {
    const int n = std::min(kWindow, count - sent);
    for (int i = 0; i < n; ++i) {
      const std::string k = std::to_string(first + sent + i);
      ws.send_text(R"({"op":"place","req_id":)" + k + R"(,"client_id":"c)" + k +
                   R"(","idempotency_key":"k)" + k +
                   R"(","instrument":"BTC-USD","side":"buy","type":"limit","price":"100.00",)"
                   R"("quantity":"0.001","time_in_force":"ioc"})");
    }
    for (int i = 0; i < n; ++i) {
      const auto reply = ws.read_json(30s);
      ASSERT_TRUE(reply.has_value()) << "no reply to order " << first + sent + i;
      ASSERT_EQ((*reply)["status"], 201) << reply->dump();
    }
    sent += n;
  }
}

// Long (about 20 s on two cores): 2 x 150,000 orders.
TEST(retention_memory, resident_memory_stays_flat_past_the_horizon) {
  constexpr int kOrders = 150'000;
  daemon_process daemon({"--rate-limit", "0", "--retention", "1s"});
  http_client http(daemon.port());
  ws_client ws(daemon.port());
  const std::int64_t at_start = resident_kib(daemon.pid());

  // N orders, then until the horizon has passed over all of them (the first one is
  // forgotten, then the last).
  const auto forgotten = [&](int order) {
    // req_id k was client c<k>; its order's id is the server's, so ask by a known one.
    return http.get(order_path("probe-" + std::to_string(order))).status == 404u;
  };
  ASSERT_EQ(http.post_json("/orders", market_order("probe-1", "p", "buy", "1")).status, 201u);
  send_orders(ws, 0, kOrders);
  if (::testing::Test::HasFatalFailure()) return;
  ASSERT_EQ(http.post_json("/orders", market_order("probe-2", "p", "buy", "1")).status, 201u);
  ASSERT_TRUE(test::wait_until([&] { return forgotten(2); }, kPastTheHorizon, 50ms))
      << "the last order of the first half was never forgotten";
  const std::int64_t after_n = resident_kib(daemon.pid());

  send_orders(ws, kOrders, kOrders);
  if (::testing::Test::HasFatalFailure()) return;
  ASSERT_EQ(http.post_json("/orders", market_order("probe-3", "p", "buy", "1")).status, 201u);
  ASSERT_TRUE(test::wait_until([&] { return forgotten(3); }, kPastTheHorizon, 50ms))
      << "the last order of the second half was never forgotten";
  const std::int64_t after_2n = resident_kib(daemon.pid());

  // Before the horizon existed, each such order kept about 1 KiB for ever: 150,000 more
  // orders were 150 MiB more. Past the horizon the second half reuses what the first one
  // freed; a table switching to its next size may still be under way, hence the slack.
  EXPECT_LT(after_2n - after_n, 24 * 1024)
      << "resident KiB: at start " << at_start << ", after " << kOrders << " orders " << after_n
      << ", after " << 2 * kOrders << " orders " << after_2n;
  RecordProperty("rss_kib_start", static_cast<int>(at_start));
  RecordProperty("rss_kib_after_n", static_cast<int>(after_n));
  RecordProperty("rss_kib_after_2n", static_cast<int>(after_2n));
}

}  // namespace
}  // namespace matchd::e2e
