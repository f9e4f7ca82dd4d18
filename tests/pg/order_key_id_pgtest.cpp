// The placing key's id (engine::order::key) through everything that keeps an order in
// PostgreSQL: the journal row an acknowledgement waits for, the orders table the journal
// applier derives from it, recovery after a restart (from the tables, and from journal rows
// not applied yet), and the history reader behind GET /orders/{id} past the retention
// horizon. A key of 0 (no key, --auth none) is NULL in the table and comes back as 0.

#include <gtest/gtest.h>
#include <matchd/bus/clock.h>
#include <matchd/codec/wire.h>
#include <matchd/engine/event.h>
#include <matchd/engine/instrument.h>
#include <matchd/store/history_reader.h>
#include <matchd/store/journal.h>
#include <matchd/store/migrations.h>
#include <matchd/store/recovery.h>

#include <chrono>
#include <map>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "pg_server.h"
#include "table_writer.h"
#include "wait.h"

namespace matchd::pgtest {
namespace {

using namespace std::chrono_literals;

const std::vector<engine::instrument> kInstruments = {engine::instrument::btc_usd()};
constexpr engine::key_id kTraderKey = 0x00c0'ffee'0000'0001ULL;
constexpr engine::key_id kOtherKey = 0xfedc'ba98'7654'3210ULL;

engine::order order_of(std::string_view id, engine::key_id key, engine::order_status status,
                       engine::sequence_number sequence) {
  engine::order o;
  o.id = engine::order_id::from(id);
  o.client = engine::client_id::from("alice");
  o.key = key;
  o.status = status;
  o.price = engine::price_ticks(7'000'000);
  o.quantity = engine::quantity_lots(100'000);
  o.created_at = o.updated_at = 1'764'547'200'000'000 + static_cast<std::int64_t>(sequence);
  o.created_sequence = sequence;
  o.sequence = sequence;
  return o;
}

class collecting_sink : public store::recovery_sink {
 public:
  void resting_order(const engine::order& o) override { orders[std::string(o.id.view())] = o; }
  void finished_order(const engine::order& o) override { orders[std::string(o.id.view())] = o; }
  void idempotency_key(const engine::client_id&, std::string_view, std::uint64_t,
                       engine::sequence_number, engine::timestamp_us, std::string) override {}
  void recent_trade(const engine::trade&) override {}
  void counters(engine::sequence_number, engine::trade_id) override {}

  std::map<std::string, engine::order> orders;
};

std::map<std::string, engine::key_id> recovered_keys(const pg_server& pg) {
  collecting_sink sink;
  store::recover(pg.connection_string(), kInstruments, 10, sink);
  std::map<std::string, engine::key_id> keys;
  for (const auto& [id, o] : sink.orders) keys[id] = o.key;
  return keys;
}

// What the orders table holds in key_id, by order id ("NULL" for SQL NULL).
std::map<std::string, std::string> table_keys(const pg_server& pg) {
  pqxx::connection c(pg.connection_string());
  pqxx::nontransaction tx(c);
  std::map<std::string, std::string> keys;
  for (const auto& row : tx.exec("SELECT order_id, key_id FROM orders")) {
    keys[row[0].c_str()] = row[1].is_null() ? "NULL" : row[1].c_str();
  }
  return keys;
}

TEST(order_key_id, survives_the_journal_the_tables_recovery_and_the_history_reader) {
  pg_server pg;
  pg.start();
  store::apply_migrations(pg.connection_string());

  // Applied: two resting orders (one placed with a key, one without) and a finished one.
  {
    pqxx::connection c(pg.connection_string());
    store::prepare_table_session(c);
    pqxx::work tx(c);
    const std::vector<engine::event> applied = {
        order_of("keyed", kTraderKey, engine::order_status::open, 1),
        order_of("keyless", 0, engine::order_status::open, 2),
        order_of("done", kOtherKey, engine::order_status::cancelled, 3)};
    store::write_tables(tx, applied, 0, kInstruments);
    tx.exec0("UPDATE engine_progress SET last_sequence = 3");
    tx.exec0("UPDATE journal_progress SET applied_sequence = 3");
    // Not applied yet: a journal row, as the store stage commits it before acknowledging.
    store::journal_encoder journal;
    journal.add(order_of("journaled", kOtherKey, engine::order_status::open, 4), "BTC-USD");
    const std::string body = journal.take();
    tx.exec_params0("INSERT INTO journal (last_sequence, body) VALUES (4, $1)",
                    pqxx::binarystring(body.data(), body.size()));
    tx.exec0("UPDATE engine_progress SET last_sequence = 4");
    tx.commit();
  }
  EXPECT_EQ(table_keys(pg),
            (std::map<std::string, std::string>{
                {"keyed", "00c0ffee00000001"}, {"keyless", "NULL"}, {"done", "fedcba9876543210"}}));

  // A restart reads the tables and lays the journal over them: every key comes back.
  const std::map<std::string, engine::key_id> expected = {
      {"keyed", kTraderKey}, {"keyless", 0}, {"done", kOtherKey}, {"journaled", kOtherKey}};
  EXPECT_EQ(recovered_keys(pg), expected);

  // The applier's way from the journal row to the table (store/journal_applier.cpp), and a
  // crash of the database server on top (an immediate shutdown: no checkpoint, WAL replay
  // at start): what was committed comes back.
  {
    pqxx::connection c(pg.connection_string());
    store::prepare_table_session(c);
    pqxx::work tx(c);
    engine::event_buffer events;
    for (const auto& row : tx.exec("SELECT body FROM journal ORDER BY last_sequence")) {
      const pqxx::binarystring b(row[0]);
      store::decode_journal(std::string_view(b.get(), b.size()), kInstruments, events);
    }
    store::write_tables(tx, events, 3, kInstruments);
    tx.exec0("UPDATE journal_progress SET applied_sequence = 4");
    tx.exec0("DELETE FROM journal");
    tx.commit();
  }
  pg.stop_immediately();
  pg.start_again();
  EXPECT_EQ(table_keys(pg)["journaled"], "fedcba9876543210");
  EXPECT_EQ(recovered_keys(pg), expected);

  // GET /orders/{id} of an order past the horizon: the history reader's row, then the order
  // object the publish stage writes from it.
  store::history_options options;
  options.conninfo = pg.connection_string();
  store::history_reader reader(options, kInstruments, [] {});
  reader.start();
  bus::history_query q;
  q.token = 1;
  q.id = engine::order_id::from("done");
  q.asked_ns = bus::steady_ns();
  ASSERT_TRUE(reader.requests().try_push(q));
  reader.notify();
  ASSERT_TRUE(test::wait_until([&] { return reader.answers().front() != nullptr; }, 30s, 1ms));
  const bus::history_answer a = *reader.answers().front();
  reader.answers().pop();
  reader.stop();
  ASSERT_EQ(a.what, bus::history_answer::result::found);
  EXPECT_EQ(a.order.key, kOtherKey);
  std::string json;
  codec::append_order(json, a.order, kInstruments[0]);
  EXPECT_NE(json.find("\"key_id\":\"fedcba9876543210\""), std::string::npos) << json;
}

}  // namespace
}  // namespace matchd::pgtest
