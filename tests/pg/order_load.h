#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace matchd::pgtest {

// One request of the load and what came of it.
struct exchange_record {
  enum class kind { place, cancel };
  kind what = kind::place;
  std::string order_id;
  nlohmann::json request;  // the POST /orders body (place) or null (cancel)
  unsigned status = 0;     // HTTP status; 0 when no response came (transport error)
  nlohmann::json response;
  std::string retry_after;  // the Retry-After header, if any
  std::string transport_error;
  std::chrono::steady_clock::time_point sent;
  std::chrono::steady_clock::time_point answered;

  [[nodiscard]] bool acknowledged() const noexcept { return status >= 200 && status < 300; }
  [[nodiscard]] std::string describe() const;
};

struct load_options {
  int threads = 3;
  // Order ids are "<id_prefix>-t<thread>-<n>", so runs against one database never collide.
  std::string id_prefix = "L";
  std::int64_t mid_ticks = 10000;  // BTC-USD 100.00
  std::int64_t passive_spread_ticks = 60;
  std::int64_t crossing_depth_ticks = 15;
  // Of every 100 commands: crossing limit orders, market orders, cancels; the rest are
  // passive limit orders around the mid.
  int crossing_percent = 25;
  int market_percent = 5;
  int cancel_percent = 25;
  std::chrono::milliseconds request_timeout{10000};
  // Pause after a request that got no response (the daemon is down), so a dead daemon is
  // not hammered with connects.
  std::chrono::milliseconds pause_after_transport_error{50};
  unsigned seed = 1;
};

// Continuous order flow against one daemon from several client threads, each with its own
// keep-alive connection, recording every request and answer. Every order has a unique
// order_id. Cancels pick one of the thread's own orders that was last seen resting.
//
//   order_load load(daemon.port(), {.threads = 3, .id_prefix = "crash"});
//   load.start(); ...; load.stop();
//   for (const exchange_record& r : load.records()) ...
class order_load {
 public:
  order_load(std::uint16_t port, load_options options);
  ~order_load();
  order_load(const order_load&) = delete;
  order_load& operator=(const order_load&) = delete;

  void start();
  // Asks the threads to finish their current request and joins them.
  void stop();

  // Every request of every thread (valid after stop()).
  [[nodiscard]] const std::vector<exchange_record>& records() const { return records_; }
  // Requests answered so far, 2xx or not (any time).
  [[nodiscard]] std::uint64_t answered() const noexcept { return answered_.load(); }
  [[nodiscard]] std::uint64_t acknowledged() const noexcept { return acknowledged_.load(); }
  // "12345 requests: 9000 2xx, 10 409, 5 503, 3 without response".
  [[nodiscard]] std::string summary() const;

 private:
  void run_thread(int index);

  std::uint16_t port_;
  load_options options_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> answered_{0};
  std::atomic<std::uint64_t> acknowledged_{0};
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::vector<std::vector<exchange_record>> per_thread_;
  std::vector<exchange_record> records_;
};

}  // namespace matchd::pgtest
