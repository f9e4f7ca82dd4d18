// The retention horizon (docs/api.md, Idempotency and Orders): with --retention 1s, an
// idempotency key is honoured within the horizon and is a new request after it; a finished
// order's id is refused within it and free after it; a cancel of an order forgotten past it
// is 404. In memory and durable mode alike, except GET /orders/{id} of a finished order
// past the horizon: 404 in memory mode, served from the orders table in durable mode.

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "durable_database.h"
#include "harness.h"
#include "wait.h"

namespace matchd::e2e {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class retention : public ::testing::Test {
 protected:
  http_response post(const json& body) { return http.post_json("/orders", body); }

  daemon_process daemon{{"--rate-limit", "0", "--retention", "1s"}};
  http_client http{daemon.port()};
};

// The horizon is wall-clock time with nothing to observe before it ends, so each test
// retries the request that changes meaning at the horizon until it does (bounded).
constexpr auto kPastTheHorizon = 10s;

TEST_F(retention, a_key_is_replayed_within_the_horizon_and_a_new_request_after_it) {
  // A market order into an empty book: finished at once, so its id may be forgotten too.
  const json body = with_key(market_order("", "client-A", "buy", "1"), "key-r");
  const http_response first = post(body);
  ASSERT_EQ(first.status, 201u) << first.describe();
  const http_response replay = post(body);
  ASSERT_EQ(replay.status, 200u) << replay.describe();
  EXPECT_EQ(replay.header("Idempotent-Replayed"), "true");
  EXPECT_EQ(replay.json(), first.json());

  http_response later;
  ASSERT_TRUE(test::wait_until(
      [&] {
        later = post(body);
        return later.status != 200u;
      },
      kPastTheHorizon, 50ms))
      << "the key was still honoured " << kPastTheHorizon.count() << " s after a 1 s horizon";
  ASSERT_EQ(later.status, 201u) << later.describe();
  EXPECT_NE(later.header("Idempotent-Replayed"), "true");
  EXPECT_NE(later.json()["order"]["order_id"], first.json()["order"]["order_id"])
      << "a new order, with a new server-assigned id";
}

TEST_F(retention, a_finished_order_id_is_refused_within_the_horizon_and_free_after_it) {
  ASSERT_EQ(post(market_order("reuse-1", "client-A", "buy", "1")).status, 201u);
  EXPECT_TRUE(
      is_error(post(market_order("reuse-1", "client-A", "buy", "1")), 409, "duplicate_order_id"));
  http_response again;
  ASSERT_TRUE(test::wait_until(
      [&] {
        again = post(limit_order("reuse-1", "client-B", "sell", "100.00", "1"));
        return again.status != 409u;
      },
      kPastTheHorizon, 50ms))
      << "the id was still refused " << kPastTheHorizon.count() << " s after a 1 s horizon";
  ASSERT_EQ(again.status, 201u) << again.describe();
  EXPECT_EQ(again.json()["order"]["client_id"], "client-B");
  // Open: never forgotten, so still refused however long it rests.
  EXPECT_TRUE(
      is_error(post(market_order("reuse-1", "client-A", "buy", "0.5")), 409, "duplicate_order_id"));

  if (durable_mode()) {
    // The tables keep both orders as rows of their own (sql/004_retention.sql): the applier
    // writes the second one without a conflict and catches up, and a restart finds the open
    // order under the id.
    ASSERT_TRUE(test::wait_until(
        [&] {
          const auto samples = parse_prometheus(http.get("/metrics").body);
          const auto orders =
              metric_value(samples, "store_rows_written_total", {{"table", "orders"}});
          return orders.has_value() && *orders >= 2;
        },
        20s, 50ms))
        << "the journal applier did not write the second order of the id";
    EXPECT_EQ(
        metric_value(parse_prometheus(http.get("/metrics").body), "store_database_errors_total"),
        0.0);
    daemon.restart();
    http_client after(daemon.port());
    const http_response found = after.get(order_path("reuse-1"));
    ASSERT_EQ(found.status, 200u) << found.describe();
    EXPECT_EQ(found.json()["order"]["client_id"], "client-B");
    EXPECT_EQ(found.json()["order"]["status"], "open");
  }
}

TEST_F(retention, a_cancel_of_an_order_forgotten_past_the_horizon_is_404) {
  ASSERT_EQ(post(limit_order("c-1", "client-A", "buy", "100.00", "1")).status, 201u);
  ASSERT_EQ(http.del(order_path("c-1")).status, 200u);
  EXPECT_TRUE(is_error(http.del(order_path("c-1")), 409, "order_not_open", {"order"}));
  http_response cancel;
  ASSERT_TRUE(test::wait_until(
      [&] {
        cancel = http.del(order_path("c-1"));
        return cancel.status != 409u;
      },
      kPastTheHorizon, 50ms));
  EXPECT_TRUE(is_error(cancel, 404, "order_not_found"));
}

// Waits until the engine forgot a finished order: its cancel turns from 409 order_not_open
// into 404. The publish stage forgets it in the same batch or an earlier one, so a GET
// after this no longer finds it in memory.
::testing::AssertionResult forgotten(http_client& http, const std::string& id) {
  http_response cancel;
  if (!test::wait_until(
          [&] {
            cancel = http.del(order_path(id));
            return cancel.status != 409u;
          },
          kPastTheHorizon, 50ms)) {
    return ::testing::AssertionFailure() << id << " was still remembered past the horizon";
  }
  return is_error(cancel, 404, "order_not_found");
}

TEST_F(retention, a_finished_order_past_the_horizon_is_served_from_the_tables_in_durable_mode) {
  // A filled order, a cancelled one and an id used twice, the second use being the newest.
  ASSERT_EQ(post(limit_order("h-filled", "client-A", "sell", "100.00", "1")).status, 201u);
  ASSERT_EQ(post(market_order("h-taker", "client-B", "buy", "1")).status, 201u);
  ASSERT_EQ(post(limit_order("h-cancelled", "client-A", "buy", "90.00", "2")).status, 201u);
  ASSERT_EQ(http.del(order_path("h-cancelled")).status, 200u);
  ASSERT_EQ(post(market_order("h-reused", "client-A", "buy", "1")).status, 201u);

  // The bodies while the daemon holds the orders.
  const http_response filled = http.get(order_path("h-filled"));
  ASSERT_EQ(filled.status, 200u) << filled.describe();
  EXPECT_EQ(filled.json()["order"]["status"], "filled");
  const http_response cancelled = http.get(order_path("h-cancelled"));
  ASSERT_EQ(cancelled.status, 200u) << cancelled.describe();
  EXPECT_EQ(cancelled.json()["order"]["status"], "cancelled");

  // The id again, once free, by another client; finished too (cancelled).
  ASSERT_TRUE(forgotten(http, "h-reused"));
  ASSERT_EQ(post(limit_order("h-reused", "client-C", "sell", "200.00", "3")).status, 201u);
  ASSERT_EQ(http.del(order_path("h-reused")).status, 200u);
  const http_response reused = http.get(order_path("h-reused"));
  ASSERT_EQ(reused.status, 200u) << reused.describe();
  EXPECT_EQ(reused.json()["order"]["client_id"], "client-C");

  // All forgotten by the daemon: they finished before the second use of h-reused.
  ASSERT_TRUE(forgotten(http, "h-reused"));
  ASSERT_TRUE(forgotten(http, "h-cancelled"));
  ASSERT_TRUE(forgotten(http, "h-filled"));

  if (!durable_mode()) {
    for (const char* id : {"h-filled", "h-cancelled", "h-reused"}) {
      EXPECT_TRUE(is_error(http.get(order_path(id)), 404, "order_not_found")) << id;
    }
    return;
  }
  // Durable: from the orders table, once the journal applier has written the rows (bounded
  // wait), exactly the body the daemon gave from memory.
  for (const auto& [id, before] :
       {std::pair<std::string, const http_response*>{"h-filled", &filled},
        {"h-cancelled", &cancelled},
        {"h-reused", &reused}}) {
    http_response after;
    EXPECT_TRUE(test::wait_until(
        [&] {
          after = http.get(order_path(id));
          return after.status == 200u;
        },
        20s, 50ms))
        << id << " past the horizon: " << after.describe();
    EXPECT_EQ(after.body, before->body) << id;
  }
}

}  // namespace
}  // namespace matchd::e2e
