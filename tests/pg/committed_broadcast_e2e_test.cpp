// "Only committed events are ever sent" (docs/api.md, Streams): while PostgreSQL is down
// nothing of a new order reaches a subscriber, neither its trade nor its order state nor
// the book change, and the HTTP answer waits too; once the database is back and the group
// commits, the events arrive, in sequence, and the answer with them. /readyz tells the
// outage although the daemon is idle when it starts (docs/api.md: 200 only when "the database
// is reachable").

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <optional>
#include <string>

#include "api_checks.h"
#include "daemon_process.h"
#include "durability_checks.h"
#include "order_builders.h"
#include "pg_server.h"
#include "ws_client.h"

namespace matchd::pgtest {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using steady = std::chrono::steady_clock;

// Whether an event is about `order_id` (a trade names it as its buy or sell order).
bool names_order(const json& m, const std::string& order_id) {
  if (!m.is_object() || !m.contains("data")) return false;
  const json& d = m["data"];
  return d.value("order_id", "") == order_id || d.value("buy_order_id", "") == order_id ||
         d.value("sell_order_id", "") == order_id;
}

TEST(committed_broadcast, nothing_reaches_a_subscriber_while_the_database_is_down) {
  pg_server pg;
  pg.start();
  e2e::daemon_process daemon(durable_daemon_args(pg.connection_string()));
  ASSERT_EQ(wait_for_readyz(daemon.port(), 200, 10s).status, 200u);

  e2e::ws_client ws(daemon.port());
  ws.send_json({{"op", "subscribe"},
                {"channels", {"trades", "orders", "orderbook_deltas"}},
                {"instrument", "BTC-USD"}});
  const std::optional<json> ack = ws.read_json(5s);
  ASSERT_TRUE(ack && ack->value("type", "") == "subscribed") << (ack ? ack->dump() : "none");
  const std::optional<json> snapshot = ws.read_json(5s);
  ASSERT_TRUE(snapshot && e2e::is_channel(*snapshot, "orderbook_snapshot"));

  e2e::http_client http(daemon.port());
  ASSERT_EQ(http.post_json("/orders", e2e::limit_order("maker", "client-M", "sell", "100.00", "1"))
                .status,
            201u);
  const std::optional<json> maker_state = ws.read_until(
      [](const json& m) { return e2e::is_channel(m, "orders") && names_order(m, "maker"); }, 5s);
  ASSERT_TRUE(maker_state.has_value()) << "the committed maker was not broadcast";
  // Whatever else the maker caused (its book delta) is read before the outage.
  while (ws.read_json(300ms)) {
  }

  pg.stop();
  ASSERT_EQ(wait_for_readyz(daemon.port(), 503, 8s).status, 503u)
      << "an idle daemon must notice the database is gone";

  // A crossing order: the engine matches it at once, but its effects are not committed.
  auto taker = std::async(std::launch::async, [port = daemon.port()] {
    e2e::http_client client(port, 60s);
    return client.post_json("/orders",
                            e2e::limit_order("taker", "client-T", "buy", "100.00", "0.4"));
  });
  const auto quiet_until = steady::now() + 3s;
  while (steady::now() < quiet_until) {
    const std::optional<json> m = ws.read_json(200ms);
    ASSERT_FALSE(m.has_value()) << "broadcast while the database is down: " << m->dump();
  }
  ASSERT_EQ(taker.wait_for(0s), std::future_status::timeout)
      << "the order was answered before its effects were committed";

  pg.start_again();
  const e2e::http_response answer = taker.get();
  ASSERT_EQ(answer.status, 201u) << answer.describe();
  EXPECT_EQ(answer.json()["order"]["status"], "filled") << answer.body;

  // Now the trade, both order states and the level change arrive, in sequence.
  bool trade = false;
  bool taker_state = false;
  bool maker_update = false;
  bool delta = false;
  std::int64_t last_sequence = maker_state->value("sequence", std::int64_t{0});
  const auto deadline = steady::now() + 10s;
  while (!(trade && taker_state && maker_update && delta) && steady::now() < deadline) {
    const std::optional<json> m = ws.read_json(1s);
    if (!m) continue;
    const std::int64_t sequence = m->value("sequence", std::int64_t{0});
    EXPECT_GE(sequence, last_sequence) << m->dump();
    last_sequence = sequence;
    trade = trade || (e2e::is_channel(*m, "trades") && names_order(*m, "taker"));
    taker_state = taker_state || (e2e::is_channel(*m, "orders") && names_order(*m, "taker"));
    maker_update = maker_update || (e2e::is_channel(*m, "orders") && names_order(*m, "maker"));
    delta = delta || e2e::is_channel(*m, "orderbook_deltas");
  }
  EXPECT_TRUE(trade) << "no trade after the commit";
  EXPECT_TRUE(taker_state) << "no taker state after the commit";
  EXPECT_TRUE(maker_update) << "no maker update after the commit";
  EXPECT_TRUE(delta) << "no book delta after the commit";
  EXPECT_EQ(wait_for_readyz(daemon.port(), 200, 10s).status, 200u);
}

}  // namespace
}  // namespace matchd::pgtest
