// The journal is the durable unit (sql/003_journal.sql): an order is acknowledged once its
// group's journal row is committed, and the orders, order_events and trades rows follow from
// the journal applier. These tests hold the applier back with a row lock on
// journal_progress (its transactions take it first) to show both halves: acknowledgements
// do not wait for the tables, and a restart serves whatever a crash left in the journal
// (recovery lays it over the tables) before the tables have it.

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <thread>

#include "daemon_process.h"
#include "durability_checks.h"
#include "order_builders.h"
#include "pg_server.h"
#include "wait.h"

namespace matchd::pgtest {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

// Holds journal_progress's row lock from construction to release(): the applier waits.
class applier_hold {
 public:
  explicit applier_hold(const std::string& conninfo)
      : connection_(conninfo), tx_(std::make_unique<pqxx::work>(connection_)) {
    tx_->exec1("SELECT applied_sequence FROM journal_progress WHERE id = 1 FOR UPDATE");
  }
  void release() { tx_.reset(); }  // rolls back, freeing the row

 private:
  pqxx::connection connection_;
  std::unique_ptr<pqxx::work> tx_;
};

// Counts without waiting for the applier (db_state's readers wait for it).
std::int64_t count_now(const std::string& conninfo, const std::string& table) {
  pqxx::connection c(conninfo);
  pqxx::nontransaction q(c);
  return q.exec1("SELECT count(*) FROM " + table)[0].as<std::int64_t>();
}

TEST(journal, acknowledgements_do_not_wait_for_the_tables_which_catch_up_after) {
  pg_server pg;
  pg.start();
  e2e::daemon_process daemon(durable_daemon_args(pg.connection_string()));
  e2e::http_client http(daemon.port(), 10s);
  applier_hold hold(pg.connection_string());

  const e2e::http_response sell =
      http.post_json("/orders", e2e::limit_order("j-sell", "client-s", "sell", "100.00", "2"));
  ASSERT_EQ(sell.status, 201u) << sell.describe();
  const e2e::http_response buy =
      http.post_json("/orders", e2e::limit_order("j-buy", "client-b", "buy", "100.00", "1"));
  ASSERT_EQ(buy.status, 201u) << buy.describe();
  ASSERT_EQ(buy.json()["trades"].size(), 1u) << buy.describe();

  EXPECT_GE(count_now(pg.connection_string(), "journal"), 1);
  EXPECT_EQ(count_now(pg.connection_string(), "orders"), 0)
      << "the applier was held: the acknowledgements came from the journal commit alone";
  EXPECT_EQ(count_now(pg.connection_string(), "trades"), 0);

  hold.release();
  const db_state db = load_db_state(pg.connection_string());  // waits for the applier
  ASSERT_EQ(db.orders.size(), 2u);
  EXPECT_EQ(db.orders.at("j-sell").status, "partially_filled");
  EXPECT_EQ(db.orders.at("j-sell").filled_lots, 100'000'000);
  EXPECT_EQ(db.orders.at("j-buy").status, "filled");
  ASSERT_EQ(db.trades.size(), 1u);
  EXPECT_EQ(db.trades[0].buy_order_id, "j-buy");
  EXPECT_EQ(db.trades[0].sell_client_id, "client-s");
  EXPECT_TRUE(order_events_problems(pg.connection_string()).empty());

  // An order the applier wrote earlier is updated in place by a later chunk.
  const e2e::http_response cancel = http.post_json("/orders/j-sell/cancel", json::object());
  ASSERT_EQ(cancel.status, 200u) << cancel.describe();
  EXPECT_EQ(load_db_state(pg.connection_string()).orders.at("j-sell").status, "cancelled");
}

TEST(journal, a_restart_serves_what_the_journal_holds_before_the_tables_have_it) {
  pg_server pg;
  pg.start();
  const std::string conninfo = pg.connection_string();
  e2e::daemon_process daemon(durable_daemon_args(conninfo));

  // The first part of the history reaches the tables...
  order_load first(
      daemon.port(),
      {.threads = 4, .id_prefix = "ja", .crossing_percent = 40, .cancel_percent = 15, .seed = 4});
  first.start();
  (void)test::wait_until([&] { return first.acknowledged() >= 200; }, 20s, 20ms);
  first.stop();
  ASSERT_GE(first.acknowledged(), 200u) << first.summary();
  const std::size_t applied_orders = load_db_state(conninfo).orders.size();  // waits for it
  ASSERT_GT(applied_orders, 0u);

  // ...the rest only to the journal: the applier is held from here on, through the crash and
  // the restart. Later commands fill and cancel orders the tables hold.
  auto hold = std::make_unique<applier_hold>(conninfo);
  order_load second(
      daemon.port(),
      {.threads = 4, .id_prefix = "jb", .crossing_percent = 40, .cancel_percent = 15, .seed = 5});
  kill_under_load(daemon, second, 200, 1s);
  std::cerr << "[journal] load before kill -9: " << second.summary() << "\n";
  ASSERT_GE(second.acknowledged(), 200u) << second.summary();
  const std::int64_t journal_rows = count_now(conninfo, "journal");
  EXPECT_GT(journal_rows, 0);

  daemon.restart();
  ASSERT_EQ(wait_for_readyz(daemon.port(), 200, 20s).status, 200u);
  EXPECT_EQ(count_now(conninfo, "journal"), journal_rows)
      << "the applier was held: the restarted daemon served before the tables caught up";
  EXPECT_EQ(count_now(conninfo, "orders"), static_cast<std::int64_t>(applied_orders));

  // What it serves now, from the tables and the journal laid over them...
  e2e::http_client http(daemon.port(), 30s);
  std::vector<exchange_record> records = first.records();
  records.insert(records.end(), second.records().begin(), second.records().end());
  std::map<std::string, json> served;
  for (const exchange_record& r : records) {
    if (r.what != exchange_record::kind::place || !r.acknowledged()) continue;
    const e2e::http_response got = http.get(e2e::order_path(r.order_id));
    ASSERT_EQ(got.status, 200u) << got.describe();
    served[r.order_id] = got.json()["order"];
  }

  // ...is what the tables say once the applier has caught up.
  hold.reset();
  const db_state db =
      expect_durable_and_consistent(http, conninfo, records, "restart over a held journal");
  for (const auto& [id, order] : served) {
    const auto row = db.orders.find(id);
    ASSERT_NE(row, db.orders.end()) << id;
    EXPECT_EQ(order.value("status", ""), row->second.status) << id;
    EXPECT_EQ(order.value("sequence", std::int64_t{-1}), row->second.sequence) << id;
  }
  EXPECT_GT(db.trades.size(), 0u);
  expect_new_orders_continue(http, conninfo, db, "journal");
}

}  // namespace
}  // namespace matchd::pgtest
