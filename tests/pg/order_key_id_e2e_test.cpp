// key_id in the API's order object and in the orders table, across a kill -9 of the daemon
// (docs/api.md "The order object"). This build's gateway places without a key (--auth none),
// so key_id is null here; tests/pg/order_key_id_pgtest.cpp carries real key ids through the
// same journal, tables, recovery and history reader.

#include <gtest/gtest.h>

#include <chrono>
#include <pqxx/pqxx>
#include <string>

#include "api_checks.h"
#include "daemon_process.h"
#include "durability_checks.h"
#include "order_builders.h"
#include "pg_server.h"
#include "wait.h"

namespace matchd::pgtest {
namespace {

using namespace std::chrono_literals;

// Present and null: an order placed without a key.
bool has_null_key_id(const nlohmann::json& body) {
  const nlohmann::json& order = body.at("order");
  return order.contains("key_id") && order.at("key_id").is_null();
}

TEST(order_key_id, a_keyless_orders_key_id_is_null_in_the_api_and_the_table_after_kill9) {
  pg_server pg;
  pg.start();
  e2e::daemon_process daemon(durable_daemon_args(pg.connection_string()));
  {
    e2e::http_client http(daemon.port(), 30s);
    const e2e::http_response placed =
        http.post_json("/orders", e2e::limit_order("kr-1", "alice", "buy", "100.00", "1"));
    ASSERT_EQ(placed.status, 201u) << placed.describe();
    EXPECT_TRUE(has_null_key_id(placed.json())) << placed.describe();
    ASSERT_EQ(
        http.post_json("/orders", e2e::limit_order("kr-2", "alice", "buy", "99.00", "1")).status,
        201u);
    const e2e::http_response cancelled = http.del("/orders/kr-2");
    ASSERT_EQ(cancelled.status, 200u) << cancelled.describe();
    EXPECT_TRUE(has_null_key_id(cancelled.json())) << cancelled.describe();
  }

  daemon.kill9();
  daemon.restart();
  ASSERT_EQ(wait_for_readyz(daemon.port(), 200, 10s).status, 200u);

  e2e::http_client http(daemon.port(), 30s);
  for (const char* id : {"kr-1", "kr-2"}) {
    const e2e::http_response got = http.get(std::string("/orders/") + id);
    ASSERT_EQ(got.status, 200u) << got.describe();
    EXPECT_TRUE(e2e::is_well_formed_order(got.json()["order"]));
    EXPECT_TRUE(has_null_key_id(got.json())) << got.describe();
  }
  // The journal applier writes both rows, key_id NULL.
  const auto rows = [&](const char* where) {
    pqxx::connection c(pg.connection_string());
    return pqxx::nontransaction(c)
        .exec1(std::string("SELECT count(*) FROM orders WHERE order_id IN ('kr-1', 'kr-2')") +
               where)[0]
        .as<long long>();
  };
  ASSERT_TRUE(test::wait_until([&] { return rows("") == 2; }, 20s, 10ms))
      << "the applier never wrote the orders";
  EXPECT_EQ(rows(" AND key_id IS NULL"), 2);
}

}  // namespace
}  // namespace matchd::pgtest
