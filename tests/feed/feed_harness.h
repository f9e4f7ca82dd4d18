#pragma once

// In-process test rig for the feed: a replay server and a feed_client, each on its own
// io_context thread, talking over 127.0.0.1.

#include <matchd/bus/messages.h>
#include <matchd/feed/feed_client.h>
#include <matchd/obs/metrics.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "replay_server.h"
#include "wait.h"

namespace matchd::feed::test {

// The lines of fixtures/binance_btcusdt_trades.ndjson.
const std::vector<std::string>& fixture_lines();

// The tests' one polling wait (tests/support/wait.h).
using ::matchd::test::wait_until;

// A replay_server on 127.0.0.1:<free port>, served from its own thread.
class local_replay {
 public:
  explicit local_replay(feed_replay::replay_options options,
                        boost::asio::ssl::context* tls = nullptr);
  ~local_replay();
  local_replay(const local_replay&) = delete;
  local_replay& operator=(const local_replay&) = delete;

  std::uint16_t port() const { return port_; }
  const feed_replay::replay_server& server() const { return *server_; }
  // "ws://127.0.0.1:<port><target>"
  std::string url(const std::string& target = "/ws/btcusdt@trade") const;

 private:
  boost::asio::io_context ioc_;
  std::unique_ptr<feed_replay::replay_server> server_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

// A feed_client for BTC-USD (tick 0.01, lot 0.00000001) on its own io thread. Records what
// it submits; `accept` decides what submit() answers (default: always true).
class local_feed {
 public:
  using accept_function = std::function<bool(const bus::engine_request&)>;

  explicit local_feed(feed_options options, accept_function accept = {});
  ~local_feed();
  local_feed(const local_feed&) = delete;
  local_feed& operator=(const local_feed&) = delete;

  void start() { client_->start(); }
  // stop() and wait (bounded) for the io thread to run out of work. True if it did.
  bool stop_and_drain(std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));
  feed_stats stats() const { return client_->stats(); }
  std::vector<bus::engine_request> accepted() const;
  std::size_t accepted_count() const;
  std::string metrics() const { return obs::serialize(*registry_); }

 private:
  std::shared_ptr<obs::registry> registry_;
  boost::asio::io_context ioc_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  accept_function accept_;
  mutable std::mutex mutex_;
  std::vector<bus::engine_request> accepted_;
  std::unique_ptr<feed_client> client_;
  std::atomic<bool> io_done_{false};
  std::thread thread_;
};

// The feed options the tests start from: the given URL, quick reconnects.
feed_options test_options(const std::string& url);

}  // namespace matchd::feed::test
