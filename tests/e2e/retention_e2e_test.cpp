// The retention horizon (docs/api.md, Idempotency and Orders): with --retention 1s, an
// idempotency key is honoured within the horizon and is a new request after it; a finished
// order's id is refused within it and free after it; a cancel of an order forgotten past it
// is 404. In memory and durable mode alike.

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

}  // namespace
}  // namespace matchd::e2e
