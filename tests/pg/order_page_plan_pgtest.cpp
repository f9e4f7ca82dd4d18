// GET /orders?status=all reads a client's finished orders through the partial index of
// sql/011_orders_client_finished.sql. The planner uses a partial index only when the query
// implies its predicate, so a query whose status clause drifted from the index's would
// still be right, and would read the whole table for every page: this checks the plan.

#include <gtest/gtest.h>
#include <matchd/store/history_reader.h>
#include <matchd/store/migrations.h>

#include <pqxx/pqxx>
#include <string>

#include "pg_server.h"

namespace matchd::pgtest {
namespace {

std::string plan_of(pqxx::connection& c, const std::string& sql, const std::string& args) {
  pqxx::nontransaction tx(c);
  tx.exec0("DEALLOCATE ALL");
  tx.exec0("PREPARE page AS " + sql);
  std::string plan;
  for (const auto& row : tx.exec("EXPLAIN EXECUTE page(" + args + ")")) {
    plan += row[0].c_str();
    plan += '\n';
  }
  return plan;
}

TEST(order_page_plan, a_page_reads_the_finished_orders_index) {
  pg_server pg;
  pg.start();
  store::apply_migrations(pg.connection_string());
  pqxx::connection c(pg.connection_string());
  {
    // 40,000 orders of 400 clients, a quarter of them open: enough rows that a sequential
    // scan is not the cheap plan.
    pqxx::work tx(c);
    tx.exec0(
        "INSERT INTO orders (order_id, client_id, instrument, side, type, time_in_force, status,"
        " price_ticks, quantity_lots, filled_lots, notional, created_at_us, updated_at_us,"
        " created_sequence, sequence)"
        " SELECT 'o' || i, 'client-' || (i % 400), 'BTC-USD', 'buy', 'limit', 'gtc',"
        " CASE WHEN i % 4 = 0 THEN 'open' ELSE 'filled' END, 100, 1, 0, 0, i, i, i, i"
        " FROM generate_series(1, 40000) i");
    tx.exec0("ANALYZE orders");
    tx.commit();
  }
  for (const bool by_instrument : {false, true}) {
    SCOPED_TRACE(by_instrument ? "by instrument" : "every instrument");
    const std::string plan =
        plan_of(c, store::order_page_sql(by_instrument),
                by_instrument ? "'client-7', 30000, 101, 'BTC-USD'" : "'client-7', 30000, 101");
    // An index scan backwards, or (a client with few rows) a bitmap scan of it and a sort:
    // the index either way, never the whole table.
    EXPECT_NE(plan.find(" orders_client_finished"), std::string::npos) << plan;
    EXPECT_EQ(plan.find("Seq Scan"), std::string::npos) << plan;
  }
}

}  // namespace
}  // namespace matchd::pgtest
