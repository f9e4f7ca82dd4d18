// matchd-load: replays an order fixture against matchd over REST or WebSocket, open loop at
// a fixed rate (latency from the intended send time) or closed loop at full speed, and
// reports throughput, answers by status and latency percentiles. Loopback targets only.

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/program_options.hpp>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "fixture.h"
#include "load_plan.h"
#include "load_report.h"
#include "load_worker.h"

namespace {

namespace po = boost::program_options;
using matchd::load::load_config;
using matchd::load::load_mode;

constexpr int kExitUsage = 2;
constexpr int kExitErrors = 1;

// Parses the command line; nullopt after printing help (exit 0) or an error (exit 2).
std::optional<load_config> parse_args(int argc, char** argv, int& exit_code) {
  load_config cfg;
  std::string mode = "http";
  unsigned port = 0;
  po::options_description opts(
      "matchd-load: open-loop load generator for matchd\n\n"
      "Usage: matchd-load --target-port P --fixture FILE (--rate R | --closed-loop) [options]\n\n"
      "Options");
  // clang-format off
  opts.add_options()
    ("help,h", "print this help and exit")
    ("target-host", po::value(&cfg.host)->default_value(cfg.host),
       "loopback address of the target (127.0.0.0/8, ::1 or localhost); others are refused")
    ("target-port", po::value(&port)->required(), "target port")
    ("fixture", po::value(&cfg.fixture_path)->required(),
       "NDJSON file of POST /orders bodies (fixtures/gen_orders.py), cycled; from the second "
       "pass on order_id gets a .c<cycle> suffix")
    ("id-tag", po::value(&cfg.id_tag), "append .<tag> to every order_id (replay a fixture again)")
    ("mode", po::value(&mode)->default_value(mode),
       "http: POST /orders, one request in flight per connection; ws: WebSocket /stream "
       "{\"op\":\"place\"} messages, pipelined")
    ("rate", po::value(&cfg.rate), "open loop: target rate in orders/s over all connections")
    ("closed-loop", po::bool_switch(&cfg.closed_loop),
       "send as fast as answers come back (latency from the actual send)")
    ("connections,c", po::value(&cfg.connections)->default_value(cfg.connections),
       "connections (requests are dealt round robin; each queues its own)")
    ("threads,t", po::value(&cfg.threads)->default_value(cfg.threads), "client threads (1 or 2 here)")
    ("duration,d", po::value(&cfg.duration_s), "measured seconds (default 10)")
    ("warmup,w", po::value(&cfg.warmup_s)->default_value(cfg.warmup_s),
       "seconds of load before the measured window")
    ("requests,n", po::value(&cfg.requests),
       "send this many requests at most; without --duration the run ends after them")
    ("max-inflight", po::value(&cfg.max_inflight)->default_value(cfg.max_inflight),
       "ws: requests in flight per connection at most")
    ("drain-timeout", po::value(&cfg.drain_timeout_s)->default_value(cfg.drain_timeout_s),
       "seconds to wait for answers after the last send; then the rest counts as unfinished")
    ("tick-us", po::value(&cfg.tick_us)->default_value(cfg.tick_us),
       "open loop: the pacer wakes at most every this many microseconds and sends what is due")
    ("keys", po::value(&cfg.keys_path),
     "file of API key secrets, one a line: connection i sends key i mod n as "
     "Authorization: Bearer (matchd --auth keys)")
    ("path", po::value(&cfg.http_path)->default_value(cfg.http_path), "http: request target")
    ("ws-path", po::value(&cfg.ws_path)->default_value(cfg.ws_path), "ws: request target")
    ("json", po::value(&cfg.json_path), "write the report as JSON to this file")
    ("label", po::value(&cfg.label), "name of the run in the report")
    ("progress", po::bool_switch(&cfg.progress), "print a line per second to stderr")
    ("fail-on-error", po::bool_switch(&cfg.fail_on_error),
       "exit 1 when anything but a 2xx answer was seen");
  // clang-format on
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, opts), vm);
    if (vm.count("help")) {
      std::cout << opts << '\n';
      exit_code = 0;
      return std::nullopt;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "matchd-load: " << e.what() << "\n(see --help)\n";
    exit_code = kExitUsage;
    return std::nullopt;
  }
  auto fail = [&](const std::string& message) -> std::optional<load_config> {
    std::cerr << "matchd-load: " << message << '\n';
    exit_code = kExitUsage;
    return std::nullopt;
  };
  if (port == 0 || port > 65535) return fail("--target-port must be 1..65535");
  cfg.port = static_cast<std::uint16_t>(port);
  if (mode == "http") {
    cfg.mode = load_mode::http;
  } else if (mode == "ws") {
    cfg.mode = load_mode::ws;
  } else {
    return fail("--mode must be http or ws");
  }
  cfg.duration_given = vm.count("duration") > 0;
  if (cfg.closed_loop == (vm.count("rate") > 0)) return fail("give either --rate or --closed-loop");
  if (!cfg.closed_loop && !(cfg.rate > 0 && std::isfinite(cfg.rate)))
    return fail("--rate must be > 0");
  if (cfg.connections == 0 || cfg.connections > 10000)
    return fail("--connections must be 1..10000");
  if (cfg.threads == 0 || cfg.threads > 64) return fail("--threads must be 1..64");
  cfg.threads = std::min(cfg.threads, cfg.connections);
  if (!(cfg.duration_s > 0) || !(cfg.warmup_s >= 0))
    return fail("--duration must be > 0, --warmup >= 0");
  if (cfg.max_inflight == 0 || cfg.max_inflight > 65536)
    return fail("--max-inflight must be 1..65536");
  if (!(cfg.drain_timeout_s > 0)) return fail("--drain-timeout must be > 0");
  if (cfg.tick_us == 0 || cfg.tick_us > 100'000) return fail("--tick-us must be 1..100000");
  return cfg;
}

// The target as an endpoint, or nullopt if it is not a loopback address.
std::optional<boost::asio::ip::tcp::endpoint> loopback_endpoint(const load_config& cfg) {
  const std::string host = cfg.host == "localhost" ? "127.0.0.1" : cfg.host;
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(host, ec);
  if (ec || !address.is_loopback()) return std::nullopt;
  return boost::asio::ip::tcp::endpoint(address, cfg.port);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace matchd::load;
  int exit_code = 0;
  const auto parsed = parse_args(argc, argv, exit_code);
  if (!parsed) return exit_code;
  const load_config& cfg = *parsed;

  const auto endpoint = loopback_endpoint(cfg);
  if (!endpoint) {
    std::cerr << "matchd-load: refusing target " << cfg.host
              << ": only loopback addresses (127.0.0.0/8, ::1, localhost) are allowed\n";
    return kExitUsage;
  }

  std::optional<fixture> orders;
  try {
    orders.emplace(fixture::load(cfg.fixture_path, cfg.id_tag));
  } catch (const std::exception& e) {
    std::cerr << "matchd-load: " << e.what() << '\n';
    return kExitUsage;
  }

  load_plan plan;
  plan.config = &cfg;
  plan.orders = &*orders;
  plan.target = *endpoint;
  plan.host_header = (endpoint->address().is_v6() ? "[" + endpoint->address().to_string() + "]"
                                                  : endpoint->address().to_string()) +
                     ":" + std::to_string(cfg.port);
  if (!cfg.keys_path.empty()) {
    std::ifstream in(cfg.keys_path);
    if (!in) {
      std::cerr << "matchd-load: cannot read --keys " << cfg.keys_path << '\n';
      return kExitUsage;
    }
    for (std::string line; std::getline(in, line);) {
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      if (!line.empty()) plan.keys.push_back(line);
    }
    if (plan.keys.empty()) {
      std::cerr << "matchd-load: --keys " << cfg.keys_path << " holds no key\n";
      return kExitUsage;
    }
  }
  plan.open_loop = !cfg.closed_loop;
  const bool time_bounded = cfg.duration_given || cfg.requests == 0;
  if (plan.open_loop) {
    plan.interval_ns = 1e9 / cfg.rate;
    plan.total =
        time_bounded
            ? static_cast<std::uint64_t>(std::ceil((cfg.warmup_s + cfg.duration_s) * cfg.rate))
            : cfg.requests;
    if (cfg.requests) plan.total = std::min(plan.total, cfg.requests);
  } else {
    plan.total = cfg.requests ? cfg.requests : std::numeric_limits<std::uint64_t>::max();
  }

  // Every order_id must stay within the API's 64 characters over all passes.
  const std::uint64_t cycles = plan.total == std::numeric_limits<std::uint64_t>::max()
                                   ? 1'000'000
                                   : (plan.total + orders->size() - 1) / orders->size();
  if (const std::size_t longest = orders->longest_order_id(cycles); longest > 64) {
    std::cerr << "matchd-load: order_ids would reach " << longest
              << " characters (64 at most) with the tag and cycle suffix; use a shorter "
                 "--id-tag or a bigger fixture\n";
    return kExitUsage;
  }

  // Connections are split into contiguous blocks, one per thread.
  std::vector<std::unique_ptr<load_worker>> workers;
  for (unsigned t = 0, first = 0; t < cfg.threads; ++t) {
    const unsigned count =
        cfg.connections / cfg.threads + (t < cfg.connections % cfg.threads ? 1 : 0);
    workers.push_back(std::make_unique<load_worker>(plan, first, count));
    first += count;
  }

  std::mutex mutex;
  std::condition_variable cv;
  unsigned ready = 0;
  unsigned connected = 0;
  for (auto& w : workers) {
    w->begin_connect([&](unsigned n) {
      std::lock_guard lock(mutex);
      ++ready;
      connected += n;
      cv.notify_all();
    });
  }
  std::vector<std::thread> threads;
  for (auto& w : workers) threads.emplace_back([&w] { w->run(); });

  {
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return ready == workers.size(); });
  }
  if (connected == 0) {
    std::cerr << "matchd-load: cannot connect to " << plan.host_header << '\n';
    // Nothing can be measured; the workers keep retrying, so end the process here.
    std::_Exit(kExitErrors);
  }
  if (connected < cfg.connections) {
    std::cerr << "matchd-load: only " << connected << " of " << cfg.connections
              << " connections came up; the others keep retrying\n";
  }

  const std::int64_t start_ns = clock_ns() + 20'000'000;  // let every worker see t0 in time
  plan.t0_ns = start_ns;
  plan.window_begin_ns = start_ns + static_cast<std::int64_t>(cfg.warmup_s * 1e9);
  if (time_bounded) {
    plan.window_end_ns = plan.window_begin_ns + static_cast<std::int64_t>(cfg.duration_s * 1e9);
    if (!plan.open_loop) plan.send_end_ns = plan.window_end_ns;
  }
  for (auto& w : workers) w->begin_load();

  std::atomic<bool> done{false};
  std::thread progress;
  if (cfg.progress) {
    progress = std::thread([&] {
      std::uint64_t last_sent = 0, last_answered = 0;
      int second = 0;
      while (!done.load()) {
        for (int i = 0; i < 20 && !done.load(); ++i) {
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        if (done.load()) break;
        std::uint64_t sent = 0, answered = 0, errors = 0;
        std::int64_t slowest_ns = 0;
        for (auto& w : workers) {
          sent += w->progress_sent();
          answered += w->progress_answered();
          errors += w->progress_errors();
          slowest_ns = std::max(slowest_ns, w->take_progress_max_latency());
        }
        std::cerr << "matchd-load ";
        if (!cfg.label.empty()) std::cerr << '[' << cfg.label << "] ";
        std::cerr << "t=" << ++second << "s sent/s=" << sent - last_sent
                  << " answered/s=" << answered - last_answered << " in_flight=" << sent - answered;
        if (plan.open_loop) {
          const std::uint64_t due = plan.due_count(clock_ns());
          std::cerr << " queued=" << (due > sent ? due - sent : 0);
        }
        const std::int64_t slowest_tenths_ms = slowest_ns / 100'000;
        std::cerr << " errors=" << errors << " max_ms=" << slowest_tenths_ms / 10 << '.'
                  << slowest_tenths_ms % 10 << '\n';
        last_sent = sent;
        last_answered = answered;
      }
    });
  }

  for (auto& t : threads) t.join();
  done = true;
  if (progress.joinable()) progress.join();
  const double elapsed_s = static_cast<double>(clock_ns() - start_ns) / 1e9;

  load_stats total;
  for (auto& w : workers) total.merge(w->stats());
  const load_summary summary = summarize(plan, total);
  const nlohmann::json report = report_json(plan, total, summary, elapsed_s);
  print_report(std::cout, report);
  if (!cfg.json_path.empty()) {
    std::ofstream out(cfg.json_path);
    out << report.dump(2) << '\n';
    if (!out) {
      std::cerr << "matchd-load: cannot write " << cfg.json_path << '\n';
      return kExitErrors;
    }
  }
  return cfg.fail_on_error && summary.errors > 0 ? kExitErrors : 0;
}
