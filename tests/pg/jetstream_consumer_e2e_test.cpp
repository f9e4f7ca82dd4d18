// The downstream example (examples/jetstream-pnl): two worker processes share durable pull
// consumers of the export, one is killed -9 mid-stream, and the positions they record add up
// to matchd's own: every trade recorded once, the work split, the PnL equal field by field.

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <map>
#include <pqxx/pqxx>
#include <sstream>

#include "child_process.h"
#include "daemon_process.h"
#include "db_state.h"
#include "durability_checks.h"
#include "http_client.h"
#include "nats_server.h"
#include "order_load.h"
#include "pg_server.h"
#include "wait.h"

namespace matchd::pgtest {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

// A worker of the example, stopped (SIGTERM) and reaped by pid at scope exit.
class pnl_worker {
 public:
  pnl_worker(const std::filesystem::path& dir, const std::string& name, const std::string& url,
             const std::string& conninfo)
      : log_(dir / (name + ".log")) {
    pid_ = test::spawn_child(
        {MATCHD_PNL_CONSUMER, "worker", "--nats", url, "--db", conninfo, "--name", name},
        test::logged_to(log_));
  }
  ~pnl_worker() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      test::wait_for_child(pid_, 10s);
    }
  }
  pnl_worker(const pnl_worker&) = delete;
  pnl_worker& operator=(const pnl_worker&) = delete;

  void kill9() {
    ::kill(pid_, SIGKILL);
    test::wait_for_child(pid_, 10s);
    pid_ = -1;
  }
  [[nodiscard]] std::string log_text() const { return test::read_whole_file(log_); }

 private:
  std::filesystem::path log_;
  pid_t pid_ = -1;
};

TEST(jetstream_consumer, two_workers_one_killed_record_every_trade_once_and_match_positions) {
  pg_server pg;
  pg.start();
  nats_server nats;
  nats.start();
  {
    pqxx::connection c(pg.connection_string());
    pqxx::nontransaction(c).exec0("CREATE DATABASE pnl");
  }
  const std::string pnl_db = pg.connection_string("pnl");
  e2e::daemon_process daemon(
      durable_daemon_args(pg.connection_string(), {"--nats-url", nats.url(), "--fees", "2,5"}));
  const std::filesystem::path dir = test::make_temp_dir("matchd-pnl-workers");

  auto first = std::make_unique<pnl_worker>(dir, "first", nats.url(), pnl_db);
  pnl_worker second(dir, "second", nats.url(), pnl_db);
  // The workers make their tables as they start.
  ASSERT_TRUE(test::wait_until(
      [&] {
        return query_scalar(pnl_db, "SELECT (to_regclass('pnl_trades') IS NOT NULL)::int") == 1;
      },
      30s, 20ms))
      << first->log_text() << second.log_text();
  {
    load_options o;
    o.threads = 3;
    o.id_prefix = "p";
    order_load load(daemon.port(), o);
    load.start();
    ASSERT_TRUE(test::wait_until(
        [&] {
          return load.acknowledged() >= 1500 &&
                 query_scalar(pnl_db, "SELECT count(*) FROM pnl_trades WHERE worker = 'first'") > 0;
        },
        60s, 20ms))
        << first->log_text();
    first->kill9();  // mid-stream: what it took and did not acknowledge goes to `second`
    ASSERT_TRUE(test::wait_until([&] { return load.acknowledged() >= 3000; }, 60s, 20ms));
    load.stop();
  }

  const std::string matchd_db = pg.connection_string();
  ASSERT_TRUE(test::wait_until(
      [&] { return query_scalar(matchd_db, "SELECT count(*) FROM journal") == 0; }, 60s, 50ms));
  const std::int64_t trades = query_scalar(matchd_db, "SELECT count(*) FROM trades");
  ASSERT_GT(trades, 100);
  ASSERT_TRUE(test::wait_until(
      [&] { return query_scalar(pnl_db, "SELECT count(*) FROM pnl_trades") == trades; }, 60s,
      100ms))
      << "recorded " << query_scalar(pnl_db, "SELECT count(*) FROM pnl_trades") << " of " << trades
      << "\n"
      << second.log_text();
  EXPECT_GT(query_scalar(pnl_db, "SELECT count(*) FROM pnl_trades WHERE worker = 'first'"), 0);
  EXPECT_GT(query_scalar(pnl_db, "SELECT count(*) FROM pnl_trades WHERE worker = 'second'"), 0)
      << "the work is split";

  // Every order's first state too, so the report resolves every trade's clients.
  const std::int64_t orders = query_scalar(matchd_db, "SELECT count(*) FROM orders");
  ASSERT_TRUE(test::wait_until(
      [&] { return query_scalar(pnl_db, "SELECT count(*) FROM pnl_orders") == orders; }, 60s,
      100ms));

  const std::filesystem::path report = dir / "report.jsonl";
  const pid_t pid =
      test::spawn_child({MATCHD_PNL_CONSUMER, "report", "--db", pnl_db},
                        test::spawn_options{report, dir / "report.err", {}, std::nullopt, SIGKILL});
  ASSERT_TRUE(test::wait_for_child(pid, 30s).clean()) << test::read_whole_file(dir / "report.err");
  std::map<std::string, json> computed;
  std::istringstream lines(test::read_whole_file(report));
  for (std::string line; std::getline(lines, line);) {
    const json p = json::parse(line);
    computed[p.at("client_id").get<std::string>()] = p;
  }
  ASSERT_EQ(computed.size(), 2u) << test::read_whole_file(report);

  e2e::http_client http(daemon.port(), 10s);
  for (const auto& [client, mine] : computed) {
    const e2e::http_response r = http.get("/positions?client_id=" + client);
    ASSERT_EQ(r.status, 200u) << r.describe();
    const json theirs = r.json().at("positions").at(0);
    for (const char* field :
         {"base_position", "quote_position", "realized_pnl", "fees", "trades"}) {
      EXPECT_EQ(mine.at(field), theirs.at(field)) << client << " " << field;
    }
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace matchd::pgtest
