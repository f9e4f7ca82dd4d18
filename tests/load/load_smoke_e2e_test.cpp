// Smoke test of the load tools against the real daemon (in memory): matchd-load replays a
// generated fixture at a low fixed rate over REST and WebSocket and must see only 201s and
// write a sane JSON report; noop-server must answer like an order endpoint. A few seconds
// in all; it checks the tools, it measures nothing.

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "harness.h"
#include "wait.h"

namespace matchd::e2e {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

using test::read_whole_file;

// A child process with stdout and stderr in one log file; SIGKILLed with the test.
class child_process {
 public:
  child_process(const std::vector<std::string>& argv, std::filesystem::path log)
      : log_(std::move(log)), pid_(test::spawn_child(argv, test::logged_to(log_))) {}
  ~child_process() {
    if (pid_ > 0) test::wait_for_child(pid_, 0ms);  // SIGKILL and reap
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  [[nodiscard]] bool running() {
    if (pid_ <= 0) return false;
    if (const auto ended = test::poll_child(pid_)) {
      exit_ = *ended;
      pid_ = -1;
      return false;
    }
    return true;
  }
  // The exit code, or -1 when killed by a signal or SIGKILLed at the deadline.
  int wait(std::chrono::milliseconds timeout) {
    if (pid_ > 0) {
      exit_ = test::wait_for_child(pid_, timeout);
      pid_ = -1;
    }
    return exit_.exited && !exit_.timed_out ? exit_.code : -1;
  }
  [[nodiscard]] std::string output() const { return read_whole_file(log_); }

 private:
  std::filesystem::path log_;
  pid_t pid_ = -1;
  test::process_exit exit_;
};

class load_smoke : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = test::make_temp_dir("matchd-load-smoke");
    fixture_ = dir_ / "orders.ndjson";
    child_process gen({MATCHD_PYTHON3, MATCHD_GEN_ORDERS, "--count", "5000", "--seed", "11",
                       "--market-ratio", "0.05", "--out", fixture_.string()},
                      dir_ / "gen.log");
    ASSERT_EQ(gen.wait(30s), 0) << gen.output();
  }
  static void TearDownTestSuite() {
    std::error_code ignored;
    if (!::testing::Test::HasFailure()) std::filesystem::remove_all(dir_, ignored);
  }

  // Runs matchd-load to the end; returns its JSON report.
  static json run_load(std::vector<std::string> args, const std::string& name) {
    const auto report = dir_ / (name + ".json");
    std::vector<std::string> argv{
        MATCHD_LOAD_BINARY, "--fixture", fixture_.string(), "--json", report.string(),
        "--label",          name};
    argv.insert(argv.end(), args.begin(), args.end());
    child_process load(argv, dir_ / (name + ".log"));
    const int code = load.wait(30s);
    EXPECT_EQ(code, 0) << "matchd-load " << name << ":\n" << load.output();
    const json r = json::parse(read_whole_file(report), nullptr, false);
    EXPECT_TRUE(r.is_object()) << "report " << report << " is not JSON:\n" << load.output();
    return r.is_object() ? r : json::object();
  }

  // The checks every clean run passes: only 2xx, percentiles in order and plausible.
  static void expect_clean_and_sane(const json& r, std::uint64_t expected_requests) {
    ASSERT_TRUE(r.contains("counts")) << r.dump(2);
    const json& c = r["counts"];
    EXPECT_EQ(c["errors"], 0) << r.dump(2);
    EXPECT_EQ(c["sent"], expected_requests);
    EXPECT_EQ(c["answered"], expected_requests);
    EXPECT_EQ(c["2xx"], expected_requests);
    const json& l = r["latency_ms"];
    EXPECT_EQ(l["count"], r["window"]["ok"]);
    EXPECT_GT(l["p50"].get<double>(), 0.0);
    EXPECT_LE(l["p50"].get<double>(), l["p90"].get<double>());
    EXPECT_LE(l["p90"].get<double>(), l["p99"].get<double>());
    EXPECT_LE(l["p99"].get<double>(), l["p99_9"].get<double>());
    EXPECT_LE(l["p99_9"].get<double>(), l["max"].get<double>());
    EXPECT_LT(l["p50"].get<double>(), 1000.0) << "half a second at 2,000/s: something is wrong";
  }

  static inline std::filesystem::path dir_;
  static inline std::filesystem::path fixture_;
};

TEST_F(load_smoke, open_loop_rest_against_matchd_answers_every_order_at_the_offered_rate) {
  daemon_process daemon;
  const json r =
      run_load({"--target-port", std::to_string(daemon.port()), "--rate", "2000", "--warmup", "0.5",
                "--duration", "3", "--connections", "8", "--fail-on-error"},
               "rest");
  expect_clean_and_sane(r, 7000);
  EXPECT_EQ(r["loop"], "open");
  EXPECT_EQ(r["window"]["answered"], 6000);
  EXPECT_NEAR(r["throughput"].get<double>(), 2000.0, 100.0) << r.dump(2);
  EXPECT_TRUE(r["send_delay_ms"].is_object());
  EXPECT_FALSE(r["latency_histogram_ns"].empty());

  // The orders rest in the book: the fixture never crosses, apart from its market orders.
  http_client http(daemon.port());
  const http_response book = http.get(orderbook_path(5));
  ASSERT_EQ(book.status, 200u) << book.describe();
  EXPECT_FALSE(book.json()["bids"].empty()) << book.body;
  EXPECT_FALSE(book.json()["asks"].empty()) << book.body;
}

TEST_F(load_smoke, pipelined_websocket_order_entry_matches_every_answer_by_req_id) {
  daemon_process daemon;
  // The fixture cycles (5,000 lines, 6,000 requests): the second pass must get fresh ids.
  const json r =
      run_load({"--target-port", std::to_string(daemon.port()), "--mode", "ws", "--rate", "3000",
                "--duration", "2", "--connections", "2", "--max-inflight", "64", "--fail-on-error"},
               "ws");
  expect_clean_and_sane(r, 6000);
  EXPECT_EQ(r["mode"], "ws");
  EXPECT_EQ(r["counts"]["status"]["201"], 6000) << "a 409 means a replayed order_id";
}

TEST_F(load_smoke, noop_server_answers_like_an_order_endpoint) {
  const auto ready = dir_ / "noop.ready";
  child_process noop(
      {MATCHD_NOOP_SERVER_BINARY, "--listen", "127.0.0.1:0", "--ready-file", ready.string()},
      dir_ / "noop.log");
  std::uint16_t port = 0;
  bool running = true;
  (void)test::wait_until(
      [&] {
        port = test::port_from_ready_text(read_whole_file(ready));
        running = port != 0 || noop.running();
        return !running || port != 0;
      },
      5s, 10ms);
  ASSERT_TRUE(running) << noop.output();
  ASSERT_NE(port, 0) << "no ready file: " << noop.output();

  http_client http(port);
  const http_response res = http.post_json("/orders", limit_order("o1", "c1", "buy", "1.00", "1"));
  EXPECT_EQ(res.status, 201u);
  EXPECT_EQ(res.json(), json::parse(R"({"order":{"status":"open"}})"));
  EXPECT_NE(res.header("Content-Type").find("application/json"), std::string::npos);

  const json r = run_load({"--target-port", std::to_string(port), "--closed-loop", "--requests",
                           "3000", "--connections", "4", "--fail-on-error"},
                          "noop");
  expect_clean_and_sane(r, 3000);
  EXPECT_EQ(r["loop"], "closed");
  EXPECT_GT(r["throughput"].get<double>(), 500.0);
}

TEST_F(load_smoke, load_generator_refuses_targets_beyond_loopback) {
  child_process load({MATCHD_LOAD_BINARY, "--target-host", "192.0.2.1", "--target-port", "80",
                      "--fixture", fixture_.string(), "--rate", "1"},
                     dir_ / "refuse.log");
  EXPECT_EQ(load.wait(10s), 2);
  EXPECT_NE(load.output().find("only loopback"), std::string::npos) << load.output();
}

}  // namespace
}  // namespace matchd::e2e
