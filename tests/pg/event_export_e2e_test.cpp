// The export of committed events to NATS JetStream (docs/api.md, "Outbound events"): the real
// daemon, a real PostgreSQL and a real nats-server, each on its own loopback port. Whatever
// happens (load, kill -9 of the daemon, the broker stopped for a minute), the stream ends up
// holding every event the tables hold, once each, in sequence order, and the book the deltas
// build is the daemon's.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <pqxx/pqxx>
#include <set>
#include <thread>

#include "api_checks.h"
#include "daemon_process.h"
#include "db_state.h"
#include "durability_checks.h"
#include "http_client.h"
#include "jetstream_reader.h"
#include "nats_server.h"
#include "order_builders.h"
#include "order_load.h"
#include "pg_server.h"
#include "wait.h"

namespace matchd::pgtest {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

constexpr const char* kStream = "MATCHD";

std::vector<std::string> exporting_args(const pg_server& pg, const nats_server& nats,
                                        std::vector<std::string> extra = {}) {
  extra.insert(extra.end(), {"--nats-url", nats.url()});
  return durable_daemon_args(pg.connection_string(), std::move(extra));
}

// Every journal row is exported (the load has stopped): the position is past the last row.
bool exported_everything(const std::string& conninfo) {
  return query_scalar(conninfo,
                      "SELECT count(*) FROM journal WHERE last_sequence > "
                      "(SELECT sequence FROM export_progress WHERE sink = 'nats')") == 0;
}

void wait_exported(const std::string& conninfo, std::chrono::seconds timeout) {
  ASSERT_TRUE(test::wait_until([&] { return exported_everything(conninfo); }, timeout, 50ms))
      << "the export did not catch up within " << timeout.count() << " s";
}

// The stream against the tables and the daemon's book: one message per event, in sequence
// order, no gap in JetStream's own sequence, every trade and order state of the tables, the
// book the deltas build equal to GET /orderbook.
void check_stream(const nats_server& nats, const std::string& conninfo, std::uint16_t port) {
  // The tables too: once the applier and the export are both past every row, none is left.
  ASSERT_TRUE(test::wait_until(
      [&] { return query_scalar(conninfo, "SELECT count(*) FROM journal") == 0; }, 60s, 50ms))
      << "the applier did not catch up";
  const std::vector<stream_message> messages = read_stream(nats.url(), kStream);
  const stream_state state = read_stream_state(nats.url(), kStream);
  ASSERT_EQ(state.messages, messages.size());

  std::uint64_t previous = 0;
  std::set<std::string> trade_ids;
  std::set<std::pair<std::int64_t, std::string>> order_states;      // (sequence, order_id + status)
  std::map<std::pair<std::string, std::string>, std::string> book;  // (side, price) -> quantity
  std::uint64_t last_delta = 0;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const stream_message& m = messages[i];
    ASSERT_EQ(m.stream_sequence, i + 1) << "JetStream holds a gap or a copy";
    if (m.body.at("channel") == "settlements") {
      ASSERT_EQ(m.msg_id, "settlement-" + m.body.at("settlement_id").get<std::string>() + "-" +
                              m.body.at("instrument").get<std::string>());
      ASSERT_EQ(m.subject, "matchd.settlements." + m.body.at("instrument").get<std::string>());
      continue;
    }
    const std::uint64_t seq = m.body.at("sequence").get<std::uint64_t>();
    ASSERT_EQ(m.msg_id, std::to_string(seq)) << m.body.dump();
    ASSERT_GT(seq, previous) << "out of sequence order at message " << i + 1;
    previous = seq;
    const std::string channel = m.body.at("channel");
    const std::string instrument = m.body.at("instrument");
    const json& data = m.body.at("data");
    if (channel == "trades") {
      ASSERT_EQ(m.subject, "matchd.trades." + instrument);
      ASSERT_TRUE(trade_ids.insert(data.at("trade_id").get<std::string>()).second);
    } else if (channel == "orders") {
      ASSERT_EQ(m.subject, "matchd.orders." + instrument);
      ASSERT_EQ(data.at("sequence").get<std::uint64_t>(), seq);
      order_states.insert(
          {static_cast<std::int64_t>(seq),
           data.at("order_id").get<std::string>() + " " + data.at("status").get<std::string>()});
    } else if (channel == "orderbook_deltas") {
      ASSERT_EQ(m.subject, "matchd.book." + instrument);
      const std::pair<std::string, std::string> level{data.at("side"), data.at("price")};
      const std::string quantity = data.at("quantity");
      if (quantity.find_first_not_of("0.") == std::string::npos) {
        book.erase(level);
      } else {
        book[level] = quantity;
      }
      last_delta = seq;
    } else {
      FAIL() << "unexpected channel " << channel;
    }
  }

  pqxx::connection c(conninfo);
  pqxx::nontransaction q(c);
  std::set<std::string> table_trades;
  for (const pqxx::row& r : q.exec("SELECT trade_id FROM trades")) {
    table_trades.insert(r[0].c_str());
  }
  EXPECT_EQ(trade_ids, table_trades) << "the stream's trades are the tables' trades";
  std::set<std::pair<std::int64_t, std::string>> table_states;
  for (const pqxx::row& r : q.exec("SELECT sequence, order_id, status FROM order_events")) {
    table_states.insert({r[0].as<std::int64_t>(), std::string(r[1].c_str()) + " " + r[2].c_str()});
  }
  EXPECT_EQ(order_states.size(), table_states.size());
  EXPECT_TRUE(order_states == table_states) << "the stream's order states are the tables'";

  e2e::http_client http(port, 10s);
  const e2e::http_response r = http.get("/orderbook?instrument=BTC-USD&levels=1000");
  ASSERT_EQ(r.status, 200u) << r.describe();
  const json daemon_book = r.json();
  EXPECT_GE(daemon_book.at("sequence").get<std::uint64_t>(), last_delta);
  std::map<std::pair<std::string, std::string>, std::string> expected;
  for (const auto& [side, key] : {std::pair{"buy", "bids"}, std::pair{"sell", "asks"}}) {
    for (const json& level : daemon_book.at(key)) {
      expected[{side, level.at("price")}] = level.at("quantity");
    }
  }
  EXPECT_EQ(book, expected) << "the deltas rebuild the daemon's book";
}

load_options some_load(const std::string& prefix) {
  load_options o;
  o.threads = 3;
  o.id_prefix = prefix;
  return o;
}

TEST(event_export, every_event_once_in_order_under_load_and_the_stream_it_made) {
  pg_server pg;
  pg.start();
  nats_server nats;
  nats.start();
  e2e::daemon_process daemon(exporting_args(pg, nats));
  {
    order_load load(daemon.port(), some_load("x"));
    load.start();
    ASSERT_TRUE(test::wait_until([&] { return load.acknowledged() >= 3000; }, 60s, 20ms));
    load.stop();
  }
  // One labelled order: its client_order_id rides every later state too, as on the streams.
  e2e::http_client http(daemon.port(), 10s);
  json labelled = e2e::limit_order("lab-1", "client-l", "sell", "150.00", "1");
  labelled["client_order_id"] = "my-label";
  ASSERT_EQ(http.post_json("/orders", labelled).status, 201u);
  ASSERT_EQ(http.post_json("/orders/lab-1/cancel", json::object()).status, 200u);
  wait_exported(pg.connection_string(), 60s);
  check_stream(nats, pg.connection_string(), daemon.port());

  const stream_state state = read_stream_state(nats.url(), kStream);
  EXPECT_EQ(state.subjects, std::vector<std::string>{"matchd.>"});
  EXPECT_EQ(state.duplicate_window_ns, 120'000'000'000LL);
  std::size_t labelled_states = 0;
  for (const stream_message& m : read_stream(nats.url(), kStream)) {
    if (m.body["channel"] == "orders" && m.body["data"]["order_id"] == "lab-1") {
      EXPECT_EQ(m.body["data"]["client_order_id"], "my-label") << m.body.dump();
      ++labelled_states;
    }
  }
  EXPECT_EQ(labelled_states, 2u) << "placed open, then cancelled";

  // The duplicate window of the stream matchd made: a copy of an exported event is dropped.
  const std::vector<stream_message> before = read_stream(nats.url(), kStream);
  const stream_message& last = before.back();
  EXPECT_TRUE(publish_with_id(nats.url(), last.subject, last.msg_id, last.body.dump()));
  EXPECT_EQ(read_stream_state(nats.url(), kStream).messages, before.size());

  // A settlement follows the trades it nets, seen through its instrument, as GET gives it.
  const e2e::http_response settled =
      http.post_json("/admin/settlements", json{{"cutoff", "2100-01-01T00:00:00Z"}});
  ASSERT_EQ(settled.status, 400u) << "a cutoff in the future is refused: " << settled.describe();
  const e2e::http_response made = http.post_json(
      "/admin/settlements",
      json{{"cutoff",
            static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count())}});
  ASSERT_EQ(made.status, 201u) << made.describe();
  std::vector<stream_message> with_settlement;
  ASSERT_TRUE(test::wait_until(
      [&] {
        with_settlement = read_stream(nats.url(), kStream);
        return with_settlement.size() > before.size();
      },
      20s, 200ms));
  ASSERT_EQ(with_settlement.size(), before.size() + 1);
  const stream_message& s = with_settlement.back();
  EXPECT_EQ(s.subject, "matchd.settlements.BTC-USD");
  EXPECT_EQ(s.msg_id, "settlement-1-BTC-USD");
  EXPECT_EQ(s.body.at("data"), http.get("/settlements/1").json()) << s.body.dump();
  check_stream(nats, pg.connection_string(), daemon.port());

  // Nothing keeps journal rows once they are applied and exported.
  EXPECT_TRUE(test::wait_until(
      [&] { return query_scalar(pg.connection_string(), "SELECT count(*) FROM journal") == 0; },
      20s, 50ms));
}

TEST(event_export, kill9_while_exporting_loses_and_duplicates_nothing) {
  pg_server pg;
  pg.start();
  nats_server nats;
  nats.start();
  e2e::daemon_process daemon(exporting_args(pg, nats));
  for (int round = 0; round < 3; ++round) {
    order_load load(daemon.port(), some_load("k" + std::to_string(round)));
    kill_under_load(daemon, load, 1500, 1500ms);
    daemon.restart();
  }
  wait_exported(pg.connection_string(), 60s);
  check_stream(nats, pg.connection_string(), daemon.port());
}

// While the broker is away the order path does not notice: orders are acknowledged, the
// journal keeps what the export still needs, the lag shows; back, the export catches up.
TEST(event_export, a_broker_outage_of_a_minute_loses_and_duplicates_nothing) {
  // MATCHD_EXPORT_OUTAGE_S shortens the outage when iterating on the test.
  const char* env = std::getenv("MATCHD_EXPORT_OUTAGE_S");
  const std::chrono::seconds outage(env != nullptr ? std::atoi(env) : 60);
  pg_server pg;
  pg.start();
  nats_server nats;
  nats.start();
  e2e::daemon_process daemon(exporting_args(pg, nats));
  order_load load(daemon.port(), some_load("o"));
  load.start();
  ASSERT_TRUE(test::wait_until([&] { return load.acknowledged() >= 500; }, 30s, 20ms));
  nats.stop();
  const std::uint64_t acked_at_stop = load.acknowledged();
  const auto stopped = std::chrono::steady_clock::now();
  e2e::http_client http(daemon.port(), 10s);
  bool lag_seen = false;
  while (std::chrono::steady_clock::now() - stopped < outage) {
    std::this_thread::sleep_for(1s);
    const auto samples = e2e::parse_prometheus(http.get("/metrics").body);
    if (e2e::metric_value(samples, "export_connected", {{"sink", "nats"}}) == 0.0 &&
        e2e::metric_value(samples, "export_lag_events", {{"sink", "nats"}}).value_or(0) > 0) {
      lag_seen = true;
    }
  }
  EXPECT_TRUE(lag_seen) << "export_connected 0 and a lag during the outage";
  EXPECT_GT(load.acknowledged(), acked_at_stop + 500) << "orders kept being acknowledged";
  EXPECT_GT(query_scalar(pg.connection_string(), "SELECT count(*) FROM journal"), 0)
      << "the journal keeps the rows not exported yet";
  nats.start_again();
  std::this_thread::sleep_for(2s);
  load.stop();
  wait_exported(pg.connection_string(), 120s);
  check_stream(nats, pg.connection_string(), daemon.port());
}

// A daemon started without --nats-url stops holding journal rows back for the export.
TEST(event_export, a_sink_no_longer_configured_holds_nothing_back) {
  pg_server pg;
  pg.start();
  nats_server nats;
  nats.start();
  {
    e2e::daemon_process daemon(exporting_args(pg, nats));
    e2e::http_client http(daemon.port(), 10s);
    ASSERT_EQ(http.post_json("/orders", e2e::limit_order("s-1", "c", "buy", "90.00", "1")).status,
              201u);
    wait_exported(pg.connection_string(), 30s);
  }
  nats.stop();
  {
    e2e::daemon_process daemon(durable_daemon_args(pg.connection_string()));
    EXPECT_EQ(query_scalar(pg.connection_string(),
                           "SELECT count(*) FROM export_progress WHERE sink = 'nats'"),
              0);
    e2e::http_client http(daemon.port(), 10s);
    ASSERT_EQ(http.post_json("/orders", e2e::limit_order("s-2", "c", "buy", "91.00", "1")).status,
              201u);
    EXPECT_TRUE(test::wait_until(
        [&] { return query_scalar(pg.connection_string(), "SELECT count(*) FROM journal") == 0; },
        20s, 50ms));
  }
}

// A stream written from another database is not this venue's: the export refuses it rather
// than skip this database's events up to the stream's last one.
TEST(event_export, a_stream_written_from_another_database_is_refused) {
  pg_server pg;
  pg.start();
  nats_server nats;
  nats.start();
  {
    e2e::daemon_process first(exporting_args(pg, nats));
    e2e::http_client http(first.port(), 10s);
    for (int i = 0; i < 5; ++i) {
      ASSERT_EQ(http.post_json("/orders",
                               e2e::limit_order("a-" + std::to_string(i), "c", "buy", "90.00", "1"))
                    .status,
                201u);
    }
    wait_exported(pg.connection_string(), 30s);
  }
  const std::uint64_t held = read_stream_state(nats.url(), kStream).messages;
  ASSERT_GT(held, 5u);
  {
    pqxx::connection c(pg.connection_string());
    pqxx::nontransaction(c).exec0("CREATE DATABASE other");
  }
  e2e::daemon_process second(
      durable_daemon_args(pg.connection_string("other"), {"--nats-url", nats.url()}));
  e2e::http_client http(second.port(), 10s);
  ASSERT_EQ(http.post_json("/orders", e2e::limit_order("b-1", "c", "buy", "90.00", "1")).status,
            201u)
      << "orders do not wait for the export";
  EXPECT_TRUE(test::wait_until(
      [&] {
        return second.stderr_text().find("written from another database") != std::string::npos;
      },
      10s, 50ms))
      << second.logs();
  EXPECT_EQ(read_stream_state(nats.url(), kStream).messages, held);
}

// Scale-out: two instances, each with its own database, instruments and stream, export into
// one JetStream; --nats-subjects instruments keeps their subjects apart.
TEST(event_export, two_instances_share_one_jetstream_with_a_stream_each) {
  pg_server pg;
  pg.start();
  nats_server nats;
  nats.start();
  {
    pqxx::connection c(pg.connection_string());
    pqxx::nontransaction(c).exec0("CREATE DATABASE eth");
  }
  e2e::daemon_process btc(durable_daemon_args(
      pg.connection_string(),
      {"--nats-url", nats.url(), "--nats-stream", "MATCHD_BTC", "--nats-subjects", "instruments"}));
  e2e::daemon_process eth(durable_daemon_args(
      pg.connection_string("eth"),
      {"--nats-url", nats.url(), "--nats-stream", "MATCHD_ETH", "--nats-subjects", "instruments",
       "--instrument", "ETH-USD:0.01:0.00000001"}));
  for (auto* d : {&btc, &eth}) {
    e2e::http_client http(d->port(), 10s);
    const std::string symbol = d == &btc ? "BTC-USD" : "ETH-USD";
    json o = e2e::limit_order("s-" + symbol, "c", "buy", "90.00", "1");
    o["instrument"] = symbol;
    ASSERT_EQ(http.post_json("/orders", o).status, 201u);
  }
  wait_exported(pg.connection_string(), 30s);
  wait_exported(pg.connection_string("eth"), 30s);
  for (const auto& [stream, symbol] :
       {std::pair{"MATCHD_BTC", "BTC-USD"}, std::pair{"MATCHD_ETH", "ETH-USD"}}) {
    EXPECT_EQ(read_stream_state(nats.url(), stream).subjects,
              std::vector<std::string>{std::string("matchd.*.") + symbol});
    const std::vector<stream_message> held = read_stream(nats.url(), stream);
    ASSERT_EQ(held.size(), 2u) << "the order's state and its level";
    for (const stream_message& m : held) EXPECT_EQ(m.body["instrument"], symbol);
  }
}

}  // namespace
}  // namespace matchd::pgtest
