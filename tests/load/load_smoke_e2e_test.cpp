// Smoke test of the load tools against the real daemon (in memory): matchd-load replays a
// generated fixture at a low fixed rate over REST and WebSocket and must see only 201s and
// write a sane JSON report; noop-server must answer like an order endpoint. A few seconds
// in all; it checks the tools, it measures nothing.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace matchd::e2e {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// A child process with stdout and stderr in one log file; SIGKILLed with the test.
class child_process {
 public:
  child_process(std::vector<std::string> argv, std::filesystem::path log) : log_(std::move(log)) {
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    const std::string log_path = log_.string();
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(126);
      const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int null_fd = ::open("/dev/null", O_RDONLY);
      if (fd < 0 || null_fd < 0) ::_exit(125);
      ::dup2(null_fd, STDIN_FILENO);
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
      ::close_range(3, ~0U, 0);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  ~child_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  [[nodiscard]] bool running() noexcept {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      pid_ = -1;
      return false;
    }
    return true;
  }
  // The exit code, or -1 after SIGKILLing it at the deadline.
  int wait(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (running()) {
      if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        return -1;
      }
      std::this_thread::sleep_for(10ms);
    }
    return exit_code_;
  }
  [[nodiscard]] std::string output() const { return read_file(log_); }

 private:
  std::filesystem::path log_;
  pid_t pid_ = -1;
  int exit_code_ = -1;
};

class load_smoke : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string pattern = "/tmp/matchd-load-smoke-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
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
    const json r = json::parse(read_file(report), nullptr, false);
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
  for (int i = 0; i < 500 && port == 0; ++i) {
    const std::string text = read_file(ready);
    if (!text.empty() && text.back() == '\n') {
      port = static_cast<std::uint16_t>(std::stoi(text.substr(text.rfind(':') + 1)));
    } else {
      ASSERT_TRUE(noop.running()) << noop.output();
      std::this_thread::sleep_for(10ms);
    }
  }
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
