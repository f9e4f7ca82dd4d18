#pragma once

#include <matchd/auth/keys.h>
#include <matchd/gateway/server.h>
#include <matchd/obs/log_throttle.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/unordered/unordered_flat_map.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gateway_context.h"
#include "rate_limiter.h"

namespace matchd::gateway {

// A connection that can receive deliveries from the publish stage.
class session_base {
 public:
  virtual ~session_base() = default;
  // Runs on the session's own I/O thread.
  virtual void on_delivery(bus::io_delivery&& d) = 0;
  // Server shutdown: close now.
  virtual void shutdown() = 0;
  // About once a second, on the session's own I/O thread: a session that has waited on its
  // client for longer than the idle timeout closes itself.
  virtual void check_idle(std::chrono::steady_clock::time_point now) { (void)now; }
  // On the session's own I/O thread, right after it got a key table without these keys: a
  // session authenticated by one of them closes (a WebSocket with 1008 "key revoked").
  virtual void keys_revoked(const std::vector<auth::key_id>& ids) { (void)ids; }
};

// One reactor thread and everything it owns alone: its sessions, its rate limiter and the
// producer side of its queues to the engine and publish stages. Only `wake` is called
// from another thread (the publish thread).
//
// Idle connections are found by one sweep a second over the sessions rather than by a
// timer per read: arming and cancelling a timer for every request was about 1.3% of all
// samples of a REST run at 25,000 orders/s (perf -a, two cores), some 1 us per request,
// and the timeout is in whole seconds anyway.
class io_thread {
 public:
  io_thread(std::uint32_t index, gateway_context& ctx, io_thread_links links);
  ~io_thread();

  void start();
  void stop_and_join();

  boost::asio::io_context& context() { return ioc_; }
  std::uint32_t index() const { return index_; }
  gateway_context& ctx() { return ctx_; }
  // This thread's instruments: the configured ones, then those added at runtime, which
  // server::add_instrument posts to every thread. Only this thread touches the list.
  const std::vector<engine::instrument>& instruments() const noexcept { return instruments_; }
  std::optional<engine::instrument_id> find_instrument(std::string_view symbol) const {
    return engine::find_instrument(instruments_, symbol);
  }
  void add_instrument(const engine::instrument& ins) { instruments_.push_back(ins); }
  rate_limiter& limiter() { return limiter_; }

  std::uint64_t register_session(std::weak_ptr<session_base> s);
  void unregister_session(std::uint64_t token);

  // Order path: false when the queue is full (the caller answers 503).
  bool submit(bus::engine_request&& r);
  bool query(const bus::read_query& q);
  // A command nobody waits for that must not be lost (cancel-on-disconnect's mass cancels):
  // queued now or, while the engine's queue is full, held here and retried every
  // millisecond, in order. Outside the in-flight budget, which only an answer gives back.
  void submit_unanswered(bus::engine_request&& r);
  // Logs (at most once a second, with the count since) a session's cancel-on-disconnect.
  void disconnect_cancelled(std::uint64_t token, auth::key_id key, std::size_t clients);

  // Any thread: make this thread drain its deliveries soon.
  void wake();

  std::string make_order_id();

  // This thread's key table (null before the registry's first one: no key is known).
  const std::shared_ptr<const auth::key_table>& keys() const noexcept { return keys_; }
  // The live key of this secret, or null.
  std::shared_ptr<auth::principal> find_key(std::string_view secret) const {
    return keys_ ? keys_->find(secret) : nullptr;
  }
  // On this thread: the registry's new table; closes the sessions of `revoked`.
  void set_keys(std::shared_ptr<const auth::key_table> table,
                const std::vector<auth::key_id>& revoked);
  // Counts a refusal (auth_failures_total) and logs it (`what`, and the key's id when there
  // is one), at most once a second per reason and thread. Never a secret or a target.
  void auth_failed(auth_failure reason, std::string_view what, auth::key_id key = 0);

 private:
  void drain();
  void retry_unanswered();
  void schedule_idle_sweep();
  void sweep_idle();

  std::uint32_t index_;
  gateway_context& ctx_;
  io_thread_links links_;
  boost::asio::io_context ioc_{1};
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
  std::atomic<bool> drain_scheduled_{false};
  boost::unordered_flat_map<std::uint64_t, std::weak_ptr<session_base>> sessions_;
  boost::asio::steady_timer idle_sweep_{ioc_};
  bool sweeping_ = true;  // until shutdown; touched on this thread only
  std::vector<std::shared_ptr<session_base>> sweep_scratch_;
  std::uint64_t next_token_ = 1;
  rate_limiter limiter_;
  std::mt19937_64 random_;
  std::shared_ptr<const auth::key_table> keys_;
  std::vector<obs::log_throttle> auth_log_;     // one per auth_failure
  std::deque<bus::engine_request> unanswered_;  // submit_unanswered's, waiting for room
  boost::asio::steady_timer unanswered_retry_{ioc_};
  obs::log_throttle disconnect_log_{std::chrono::seconds(1)};
  std::uint64_t disconnect_cancels_ = 0;  // sessions, since the last line logged
  std::vector<engine::instrument> instruments_;
};

}  // namespace matchd::gateway
