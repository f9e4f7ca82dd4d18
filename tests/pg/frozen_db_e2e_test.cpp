// A database that hangs (docs/design.md "Deadlines"): PostgreSQL frozen with SIGSTOP, its
// postmaster and every backend, keeps its TCP connections open (the kernel still acknowledges),
// so only the daemon's own deadlines can tell. Within a few seconds /readyz must say 503
// `database unavailable` and store_database_up 0; orders behave as in any outage (they wait
// up to the in-flight budget, beyond it 503 overloaded at once); after SIGCONT the daemon
// reconnects, answers the waiting orders and acknowledges again, and nothing acknowledged is
// lost or written twice.

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "daemon_process.h"
#include "durability_checks.h"
#include "order_builders.h"
#include "pg_server.h"
#include "wait.h"

namespace matchd::pgtest {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

constexpr int kQueueCapacity = 64;
constexpr int kBurstSenders = kQueueCapacity + 32;
constexpr auto kPatientTimeout = 60s;
// With the default --db-timeout (5 s), /readyz must turn 503 within the deadline plus the idle
// check's interval (1 s) plus slack.
constexpr auto kDetectionBound = 10s;

std::int64_t ms_since(steady::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - start).count();
}

// The processes whose parent is `parent` (from /proc/<pid>/stat's fourth field).
std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;  // ended meanwhile
    const auto close = line.rfind(')');       // the command may hold spaces and parentheses
    if (close == std::string::npos) continue;
    char state = 0;
    pid_t ppid = 0;
    if (std::sscanf(line.c_str() + close + 1, " %c %d", &state, &ppid) == 2 && ppid == parent) {
      out.push_back(static_cast<pid_t>(std::stoi(name)));
    }
  }
  return out;
}

// The test's own cluster frozen: SIGSTOP to its postmaster (first, so it starts no one new)
// and to each of its children; SIGCONT to all of them when thawed or destroyed, so a failing
// test leaves nothing stopped.
class frozen_cluster {
 public:
  explicit frozen_cluster(const pg_server& pg) : postmaster_(pg.pid()) {
    if (postmaster_ <= 0) throw std::runtime_error("the cluster is not running");
    ::kill(postmaster_, SIGSTOP);
    stopped_.push_back(postmaster_);
    for (const pid_t child : children_of(postmaster_)) {
      if (::kill(child, SIGSTOP) == 0) stopped_.push_back(child);
    }
  }
  ~frozen_cluster() { thaw(); }
  frozen_cluster(const frozen_cluster&) = delete;
  frozen_cluster& operator=(const frozen_cluster&) = delete;

  void thaw() {
    for (auto it = stopped_.rbegin(); it != stopped_.rend(); ++it) ::kill(*it, SIGCONT);
    stopped_.clear();
  }
  [[nodiscard]] std::size_t processes() const { return stopped_.size(); }

 private:
  pid_t postmaster_;
  std::vector<pid_t> stopped_;
};

std::string metric_line(std::uint16_t port, const std::string& name) {
  e2e::http_client http(port, 5s);
  const std::string body = http.get("/metrics").body;
  std::size_t at = 0;
  while ((at = body.find(name, at)) != std::string::npos) {
    if ((at == 0 || body[at - 1] == '\n') && body.compare(at + name.size(), 1, " ") == 0) {
      return body.substr(at, body.find('\n', at) - at);
    }
    at += name.size();
  }
  return "";
}

TEST(frozen_db, a_hung_database_is_detected_and_replaced_and_nothing_acknowledged_is_lost) {
  pg_server pg;
  pg.start();
  e2e::daemon_process daemon(durable_daemon_args(
      pg.connection_string(), {"--queue-capacity", std::to_string(kQueueCapacity)}));
  ASSERT_EQ(wait_for_readyz(daemon.port(), 200, 10s).status, 200u);

  order_load load(
      daemon.port(),
      {.threads = 3, .id_prefix = "frozen", .request_timeout = kPatientTimeout, .seed = 51});
  load.start();
  ASSERT_TRUE(test::wait_until([&] { return load.acknowledged() >= 200; }, 15s, 20ms))
      << "no load before the freeze: " << load.summary();

  // --- frozen ------------------------------------------------------------------------
  const auto frozen_at = steady::now();
  frozen_cluster frozen(pg);
  ASSERT_GT(frozen.processes(), 1u) << "the postmaster had no backends to freeze";
  const std::uint64_t acked_at_freeze = load.acknowledged();

  const e2e::http_response not_ready = wait_for_readyz(daemon.port(), 503, kDetectionBound);
  EXPECT_EQ(not_ready.status, 503u) << "/readyz with the database frozen for "
                                    << ms_since(frozen_at) << " ms: " << not_ready.describe();
  EXPECT_NE(not_ready.body.find("database unavailable"), std::string::npos) << not_ready.describe();
  std::cerr << "[frozen_db] /readyz " << not_ready.status << " after " << ms_since(frozen_at)
            << " ms\n";
  EXPECT_EQ(metric_line(daemon.port(), "store_database_up"), "store_database_up 0");

  // More concurrent orders than the budget: up to it they wait, beyond it 503 at once.
  order_burst burst(daemon.port(), kBurstSenders, kPatientTimeout);
  // The refusals come at once, while the database is still frozen.
  EXPECT_TRUE(test::wait_until([&] { return burst.answered() > 0; }, 5s, 20ms))
      << "no order was answered while the database was frozen (they hang)";
  EXPECT_LE(load.acknowledged() - acked_at_freeze, 3u * 2u)
      << "acknowledgements while the database was frozen (at most those in flight)";
  {
    e2e::http_client http(daemon.port());
    EXPECT_EQ(http.get("/healthz").status, 200u) << "liveness while the database is frozen";
  }
  // The session was found dead and cut; attempts to replace it time out too (the frozen
  // postmaster completes the TCP handshake and then answers nothing: libpq's connect_timeout).
  EXPECT_TRUE(test::wait_until(
      [&] {
        const std::string log = daemon.stderr_text();
        return log.find("no answer within --db-timeout") != std::string::npos &&
               log.find("timeout expired") != std::string::npos;
      },
      15s, 50ms))
      << daemon.logs();

  // --- thawed --------------------------------------------------------------------------
  const auto thawed_at = steady::now();
  frozen.thaw();
  burst.join();
  const e2e::http_response ready = wait_for_readyz(daemon.port(), 200, 30s);
  EXPECT_EQ(ready.status, 200u) << "/readyz after the database resumed: " << ready.describe();
  std::cerr << "[frozen_db] /readyz 200 " << ms_since(thawed_at) << " ms after SIGCONT\n";
  EXPECT_EQ(metric_line(daemon.port(), "store_database_up"), "store_database_up 1");
  const std::uint64_t acked_when_ready = load.acknowledged();
  EXPECT_TRUE(
      test::wait_until([&] { return load.acknowledged() >= acked_when_ready + 100; }, 30s, 20ms))
      << "no acknowledgements after the database resumed: " << load.summary();
  load.stop();
  std::cerr << "[frozen_db] load: " << load.summary() << "\n";

  (void)expect_waited_or_refused(burst.records(), thawed_at);

  std::vector<exchange_record> all = load.records();
  all.insert(all.end(), burst.records().begin(), burst.records().end());
  e2e::http_client http(daemon.port(), 30s);
  const db_state db =
      expect_durable_and_consistent(http, pg.connection_string(), all, "after the freeze");
  daemon.restart();
  ASSERT_EQ(wait_for_readyz(daemon.port(), 200, 10s).status, 200u);
  e2e::http_client after(daemon.port(), 30s);
  expect_books_agree(after, pg.connection_string(), db, "after the freeze and a restart");
  expect_new_orders_continue(after, pg.connection_string(), db, "frozen-after");
}

}  // namespace
}  // namespace matchd::pgtest
