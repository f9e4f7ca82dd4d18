// Idempotency keys survive restarts (docs/api.md "Idempotency ... never matches twice, also
// across restarts"): after a graceful restart or a SIGKILL, the same key and body get the
// first response again (200, Idempotent-Replayed), no new trade is made, and the same key
// with another body is 409.

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "api_checks.h"
#include "daemon_process.h"
#include "durability_checks.h"
#include "order_builders.h"
#include "pg_server.h"

namespace matchd::pgtest {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

enum class restart_kind { graceful, kill9 };

void PrintTo(restart_kind kind, std::ostream* os) {
  *os << (kind == restart_kind::graceful ? "graceful" : "kill9");
}

std::string name_of(const ::testing::TestParamInfo<restart_kind>& info) {
  return info.param == restart_kind::graceful ? "graceful" : "kill9";
}

class idempotency_restart : public ::testing::TestWithParam<restart_kind> {
 protected:
  void SetUp() override {
    pg.start();
    daemon = std::make_unique<e2e::daemon_process>(durable_daemon_args(pg.connection_string()));
    http = std::make_unique<e2e::http_client>(daemon->port());
  }

  void restart() {
    if (GetParam() == restart_kind::graceful) {
      const e2e::process_exit exit = daemon->terminate_and_wait();
      EXPECT_TRUE(exit.clean()) << "SIGTERM: " << exit.describe();
    } else {
      daemon->kill9();
    }
    daemon->restart();
    http->close();
    ASSERT_EQ(wait_for_readyz(daemon->port(), 200, 10s).status, 200u);
  }

  e2e::http_response post(const json& body, const e2e::header_list& headers = {}) {
    return http->post_json("/orders", body, headers);
  }

  std::int64_t rows(const std::string& table) { return count_rows(pg.connection_string(), table); }

  pg_server pg;
  std::unique_ptr<e2e::daemon_process> daemon;
  std::unique_ptr<e2e::http_client> http;
};

TEST_P(idempotency_restart, replays_the_first_response_and_never_trades_again) {
  ASSERT_EQ(post(e2e::limit_order("maker-1", "client-M", "sell", "100.00", "5")).status, 201u);

  // A keyed crossing order with a server-generated order_id.
  const json crossing =
      e2e::with_key(e2e::limit_order("", "client-A", "buy", "100.00", "1"), "key-cross");
  const e2e::http_response first = post(crossing);
  ASSERT_EQ(first.status, 201u) << first.describe();
  ASSERT_EQ(first.json()["trades"].size(), 1u) << first.describe();
  const std::string crossing_id = first.json()["order"].value("order_id", "");
  {
    const e2e::http_response again = post(crossing);
    ASSERT_EQ(again.status, 200u) << again.describe();
    EXPECT_EQ(again.header("Idempotent-Replayed"), "true");
    EXPECT_EQ(again.json(), first.json());
  }

  // A keyed order that rests, then fills after its first response: a replay must give the
  // first response (open), not the order's current state.
  const json resting = e2e::limit_order("rest-1", "client-B", "sell", "101.00", "2");
  const e2e::header_list resting_key = {{"Idempotency-Key", "key-rest"}};
  const e2e::http_response resting_first = post(resting, resting_key);
  ASSERT_EQ(resting_first.status, 201u) << resting_first.describe();
  ASSERT_EQ(resting_first.json()["order"].value("status", ""), "open");
  const e2e::http_response sweep =
      post(e2e::limit_order("taker-1", "client-C", "buy", "101.00", "6"));
  ASSERT_EQ(sweep.status, 201u) << sweep.describe();
  ASSERT_EQ(sweep.json()["order"].value("status", ""), "filled") << sweep.describe();

  const std::int64_t trades_before = rows("trades");
  const std::int64_t orders_before = rows("orders");
  EXPECT_EQ(trades_before, 3);
  EXPECT_EQ(orders_before, 4);
  const e2e::book_sides book_before =
      e2e::book_from_json(http->get(e2e::orderbook_path(1000)).json());

  restart();

  for (int attempt = 0; attempt < 2; ++attempt) {
    const e2e::http_response again = post(crossing);
    ASSERT_EQ(again.status, 200u) << "after restart: " << again.describe();
    EXPECT_EQ(again.header("Idempotent-Replayed"), "true");
    EXPECT_EQ(again.json(), first.json()) << "the first response, byte for byte in JSON";

    const e2e::http_response resting_again = post(resting, resting_key);
    ASSERT_EQ(resting_again.status, 200u) << resting_again.describe();
    EXPECT_EQ(resting_again.header("Idempotent-Replayed"), "true");
    EXPECT_EQ(resting_again.json(), resting_first.json())
        << "the stored first response (open), not the order's state now (filled)";
  }
  EXPECT_EQ(rows("trades"), trades_before) << "a replay after restart traded again";
  EXPECT_EQ(rows("orders"), orders_before);
  EXPECT_EQ(e2e::book_from_json(http->get(e2e::orderbook_path(1000)).json()), book_before);

  json other_price = crossing;
  other_price["price"] = "99.00";
  EXPECT_TRUE(e2e::is_error(post(other_price), 409, "idempotency_key_reused"));
  json other_quantity = crossing;
  other_quantity["quantity"] = "2";
  EXPECT_TRUE(e2e::is_error(post(other_quantity), 409, "idempotency_key_reused"));
  json other_side = resting;
  other_side["side"] = "buy";
  EXPECT_TRUE(e2e::is_error(post(other_side, resting_key), 409, "idempotency_key_reused"));
  // The key belongs to its client: another client may use it for a new order.
  json other_client = crossing;
  other_client["client_id"] = "client-Z";
  other_client["price"] = "90.00";
  const e2e::http_response fresh = post(other_client);
  EXPECT_EQ(fresh.status, 201u) << fresh.describe();
  EXPECT_EQ(rows("trades"), trades_before);

  // Finished orders are served after the restart.
  for (const std::string& id : {crossing_id, std::string("maker-1"), std::string("rest-1")}) {
    const e2e::http_response got = http->get(e2e::order_path(id));
    ASSERT_EQ(got.status, 200u) << id << ": " << got.describe();
    EXPECT_EQ(got.json()["order"].value("status", ""), "filled") << got.describe();
    EXPECT_TRUE(e2e::is_well_formed_order(got.json()["order"]));
  }
  EXPECT_TRUE(e2e::is_error(post(e2e::limit_order("maker-1", "client-M", "sell", "100.00", "1")),
                            409, "duplicate_order_id"));
}

// A key whose order was acknowledged right before a crash, then retried twice across two
// restarts, is still answered from the first response.
TEST_P(idempotency_restart, survives_two_restarts_in_a_row) {
  ASSERT_EQ(post(e2e::limit_order("maker-2", "client-M", "sell", "100.00", "1")).status, 201u);
  const json body = e2e::with_key(e2e::market_order("", "client-A", "buy", "0.5"), "key-market");
  const e2e::http_response first = post(body);
  ASSERT_EQ(first.status, 201u) << first.describe();
  restart();
  restart();
  const e2e::http_response again = post(body);
  ASSERT_EQ(again.status, 200u) << again.describe();
  EXPECT_EQ(again.header("Idempotent-Replayed"), "true");
  EXPECT_EQ(again.json(), first.json());
  EXPECT_EQ(rows("trades"), 1);
}

INSTANTIATE_TEST_SUITE_P(restarts, idempotency_restart,
                         ::testing::Values(restart_kind::graceful, restart_kind::kill9), name_of);

}  // namespace
}  // namespace matchd::pgtest
