// How a WebSocket subscriber that stopped reading is closed (docs/api.md, Limits and
// closing): the frames not yet on their way are dropped, what is on its way goes out whole,
// then the 1008 close frame, which the subscriber gets if it reads again within the
// deadline; one that never does loses the connection, and the log says which happened.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "harness.h"
#include "wait.h"

namespace matchd::e2e {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::size_t occurrences(const std::string& text, std::string_view what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

TEST(slow_subscriber_close, a_paused_reader_gets_whole_frames_then_1008_and_a_gone_one_is_cut) {
  // websocket_session.cpp's deadline; the pause below is longer than the 5 s the daemon
  // used to wait before dropping the connection mid-frame.
  constexpr auto kCloseDeadline = 10s;
  constexpr auto kPause = 6500ms;
  daemon_process daemon({"--rate-limit", "0", "--subscriber-buffer", "256"});
  const json subscribe = {{"op", "subscribe"},
                          {"channels", {"trades", "orderbook_deltas", "orders"}},
                          {"instrument", "BTC-USD"}};
  const auto is_snapshot = [](const json& m) {
    return m.is_object() && m.value("channel", "") == "orderbook_snapshot";
  };
  ws_client::options small;
  small.receive_buffer_bytes = 4096;
  ws_client paused(daemon.port(), small);
  paused.send_json(subscribe);
  ASSERT_TRUE(paused.read_until(is_snapshot, 5s)) << "no snapshot";
  ws_client gone(daemon.port(), small);
  gone.send_json(subscribe);
  ASSERT_TRUE(gone.read_until(is_snapshot, 5s)) << "no snapshot";

  // Neither reads while the flood goes on, until the daemon has given up on both.
  {
    order_flood flood(daemon.port());
    const bool both = test::wait_until(
        [&] { return occurrences(daemon.stderr_text(), "subscriber too slow") >= 2; }, 60s, 50ms);
    flood.stop();
    for (const std::string& e : flood.errors()) EXPECT_TRUE(e.empty()) << "producer: " << e;
    ASSERT_TRUE(both) << "the stalled subscribers were not found too slow after " << flood.posted()
                      << " orders";
  }

  // A reader that pauses a while (a stopped process, a long collection) and comes back
  // within the deadline: nothing can be observed meanwhile, the daemon waits on the client.
  std::this_thread::sleep_for(kPause);
  const ws_client::close_info closed = paused.drain_until_closed(kCloseDeadline);
  EXPECT_TRUE(closed.closed) << closed.describe();
  // Every frame before it was whole (a cut frame ends the read with an error instead).
  EXPECT_TRUE(closed.close_frame) << "no close frame after " << closed.discarded
                                  << " messages: " << closed.describe();
  EXPECT_EQ(closed.code, 1008) << closed.describe();
  EXPECT_EQ(closed.reason, "slow consumer") << closed.describe();
  EXPECT_TRUE(test::wait_until(
      [&] { return daemon.stderr_text().find("closed with 1008") != std::string::npos; }, 5s, 50ms))
      << "the log does not say the close completed";

  // The other never reads again: by the deadline its connection is closed, and the log
  // says the close frame never went out.
  EXPECT_TRUE(test::wait_until(
      [&] {
        return daemon.stderr_text().find("connection closed without the close frame") !=
               std::string::npos;
      },
      kCloseDeadline + 5s, 50ms))
      << "the log does not say the unread subscriber was cut off";
  const ws_client::close_info cut = gone.drain_until_closed(5s);
  EXPECT_TRUE(cut.closed) << cut.describe();
  EXPECT_FALSE(cut.close_frame) << cut.describe();

  // Both are counted, and the daemon serves on.
  http_client http(daemon.port());
  const auto metrics = parse_prometheus(http.get("/metrics").body);
  EXPECT_EQ(metric_value(metrics, "stream_slow_consumers_total"), 2.0);
  EXPECT_EQ(http.get("/healthz").status, 200u);
}

// Batched (/stream?batch=true): a stalled subscriber is found too slow as an unbatched one
// is, and what reaches it is whole arrays, then the close frame.
TEST(slow_subscriber_close, a_stalled_batched_reader_gets_whole_arrays_then_1008) {
  daemon_process daemon({"--rate-limit", "0", "--subscriber-buffer", "256"});
  ws_client::options small;
  small.receive_buffer_bytes = 4096;
  small.target = "/stream?batch=true";
  ws_client stalled(daemon.port(), small);
  stalled.send_json({{"op", "subscribe"},
                     {"channels", {"trades", "orderbook_deltas", "orders"}},
                     {"instrument", "BTC-USD"}});
  const auto holds_snapshot = [](const json& m) {
    return m.is_array() && std::any_of(m.begin(), m.end(), [](const json& item) {
             return item.value("channel", "") == "orderbook_snapshot";
           });
  };
  ASSERT_TRUE(stalled.read_until(holds_snapshot, 5s)) << "no snapshot";
  {
    order_flood flood(daemon.port());
    const bool found = test::wait_until(
        [&] { return daemon.stderr_text().find("subscriber too slow") != std::string::npos; }, 60s,
        50ms);
    flood.stop();
    ASSERT_TRUE(found) << "the stalled batched subscriber was not found too slow after "
                       << flood.posted() << " orders";
  }
  for (;;) {
    const std::optional<json> m = stalled.read_json(10s);
    if (!m) break;
    ASSERT_TRUE(m->is_array() && !m->empty()) << m->dump();
  }
  const ws_client::close_info& closed = stalled.close_state();
  EXPECT_TRUE(closed.close_frame) << closed.describe();
  EXPECT_EQ(closed.code, 1008) << closed.describe();
  EXPECT_EQ(closed.reason, "slow consumer") << closed.describe();
}

}  // namespace
}  // namespace matchd::e2e
