#include "feed_harness.h"

#include <matchd/engine/instrument.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <future>

namespace matchd::feed::test {

using namespace std::chrono_literals;

const std::vector<std::string>& fixture_lines() {
  static const std::vector<std::string> lines = feed_replay::load_ndjson(MATCHD_FEED_FIXTURE);
  return lines;
}

local_replay::local_replay(feed_replay::replay_options options, boost::asio::ssl::context* tls) {
  const boost::asio::ip::tcp::endpoint any_port(boost::asio::ip::make_address("127.0.0.1"), 0);
  server_ = std::make_unique<feed_replay::replay_server>(ioc_, any_port, std::move(options), tls);
  port_ = server_->local_endpoint().port();
  server_->start();
  thread_ = std::thread([this] { ioc_.run(); });
}

local_replay::~local_replay() {
  server_->stop();
  // stop() posts its work (close the acceptor and every connection) to the loop: once a
  // handler posted after it has run, so has that work. Coroutines at rest (timers, reads)
  // never finish by themselves: then stop the loop outright.
  std::promise<void> stopped;
  boost::asio::post(ioc_, [&stopped] { stopped.set_value(); });
  (void)stopped.get_future().wait_for(5s);  // bounded: the loop may have ended already
  ioc_.stop();
  thread_.join();
}

std::string local_replay::url(const std::string& target) const {
  return "ws://127.0.0.1:" + std::to_string(port_) + target;
}

local_feed::local_feed(feed_options options, accept_function accept)
    : registry_(obs::make_registry()), work_(ioc_.get_executor()), accept_(std::move(accept)) {
  client_ = std::make_unique<feed_client>(
      ioc_, std::move(options), std::vector<engine::instrument>{engine::instrument::btc_usd()},
      [this](bus::engine_request&& r) {
        if (accept_ && !accept_(r)) return false;
        std::lock_guard lock(mutex_);
        accepted_.push_back(std::move(r));
        return true;
      },
      *registry_);
  thread_ = std::thread([this] {
    ioc_.run();
    io_done_ = true;
  });
}

local_feed::~local_feed() {
  if (!stop_and_drain()) ioc_.stop();
  thread_.join();
  client_.reset();
}

bool local_feed::stop_and_drain(std::chrono::milliseconds timeout) {
  client_->stop();
  work_.reset();
  return wait_until([this] { return io_done_.load(); }, timeout);
}

std::vector<bus::engine_request> local_feed::accepted() const {
  std::lock_guard lock(mutex_);
  return accepted_;
}

std::size_t local_feed::accepted_count() const {
  std::lock_guard lock(mutex_);
  return accepted_.size();
}

feed_options test_options(const std::string& url) {
  feed_options o;
  o.url = url;
  o.reconnect_initial = 20ms;
  o.reconnect_max = 200ms;
  o.connect_timeout = 3000ms;
  return o;
}

}  // namespace matchd::feed::test
