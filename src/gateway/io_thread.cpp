#include "io_thread.h"

#include <matchd/obs/logger.h>
#include <matchd/obs/thread_name.h>

#include <boost/asio/post.hpp>
#include <chrono>

namespace matchd::gateway {

io_thread::io_thread(std::uint32_t index, gateway_context& ctx, io_thread_links links)
    : index_(index),
      ctx_(ctx),
      links_(links),
      limiter_(ctx.options.rate_limit_per_client, ctx.options.rate_burst_per_client),
      random_(std::random_device{}()),
      auth_log_(kAuthFailureCount, obs::log_throttle(std::chrono::seconds(1))),
      instruments_(ctx.instruments) {
  // Tokens carry the thread index in their top bits only for readability in logs.
  next_token_ = (static_cast<std::uint64_t>(index) << 48) + 1;
}

io_thread::~io_thread() {
  stop_and_join();
}

void io_thread::start() {
  work_.emplace(ioc_.get_executor());
  schedule_idle_sweep();
  thread_ = std::thread([this] {
    obs::name_this_thread(fmt::format("matchd-io{}", index_));
    try {
      ioc_.run();
    } catch (const std::exception& e) {
      obs::logger("gateway")->critical("io thread {} died: {}", index_, e.what());
      throw;
    }
  });
}

void io_thread::stop_and_join() {
  if (!thread_.joinable()) return;
  boost::asio::post(ioc_, [this] {
    // Sessions close themselves; copy first since closing unregisters.
    std::vector<std::shared_ptr<session_base>> live;
    for (auto& [token, weak] : sessions_) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
    for (auto& s : live) s->shutdown();
    // The flag, not only the cancel: a sweep whose timer has already fired is queued with
    // success, and would otherwise arm the timer again and keep run() from returning.
    sweeping_ = false;
    idle_sweep_.cancel();
    unanswered_retry_.cancel();
    work_.reset();
  });
  thread_.join();
}

std::uint64_t io_thread::register_session(std::weak_ptr<session_base> s) {
  const std::uint64_t token = next_token_++;
  sessions_.emplace(token, std::move(s));
  return token;
}

void io_thread::unregister_session(std::uint64_t token) {
  sessions_.erase(token);
}

bool io_thread::submit(bus::engine_request&& r) {
  if (!links_.to_engine->try_push(std::move(r))) return false;
  ctx_.hooks.notify_engine();
  return true;
}

void io_thread::submit_unanswered(bus::engine_request&& r) {
  if (unanswered_.empty() && submit(std::move(r))) return;
  unanswered_.push_back(std::move(r));
  if (unanswered_.size() == 1) retry_unanswered();
}

void io_thread::retry_unanswered() {
  while (!unanswered_.empty() && submit(bus::engine_request(unanswered_.front()))) {
    unanswered_.pop_front();
  }
  if (unanswered_.empty()) return;
  unanswered_retry_.expires_after(std::chrono::milliseconds(1));
  unanswered_retry_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || !sweeping_) {
      // The server stops: as for a connection still open then, its orders stay.
      if (!unanswered_.empty()) {
        obs::logger("gateway")->warn("stopping with {} cancel-on-disconnect commands not queued",
                                     unanswered_.size());
      }
      return;
    }
    retry_unanswered();
  });
}

void io_thread::disconnect_cancelled(std::uint64_t token, auth::key_id key, std::size_t clients) {
  ++disconnect_cancels_;
  std::uint64_t suppressed = 0;
  if (!disconnect_log_.allow(suppressed)) return;
  obs::logger("gateway")->info(
      "websocket closed with cancel_on_disconnect: cancelling the open orders of {} clients "
      "token={} key_id={} (sessions since last line: {})",
      clients, token, key == 0 ? "-" : auth::format_key_id(key), disconnect_cancels_);
  disconnect_cancels_ = 0;
  (void)suppressed;
}

bool io_thread::query(const bus::read_query& q) {
  if (!links_.to_publish->try_push(q)) return false;
  ctx_.hooks.notify_publish();
  return true;
}

void io_thread::wake() {
  if (!drain_scheduled_.exchange(true)) {
    boost::asio::post(ioc_, [this] { drain(); });
  }
}

void io_thread::drain() {
  // Cleared before draining: a wake racing with this drain schedules another one.
  drain_scheduled_.store(false);
  while (bus::io_delivery* d = links_.deliveries->front()) {
    if (d->ends_command) ctx_.inflight.fetch_sub(1, std::memory_order_relaxed);
    if (const auto it = sessions_.find(d->token); it != sessions_.end()) {
      if (auto s = it->second.lock()) s->on_delivery(std::move(*d));
    }
    links_.deliveries->pop();
  }
}

void io_thread::schedule_idle_sweep() {
  idle_sweep_.expires_after(std::chrono::seconds(1));
  idle_sweep_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || !sweeping_) return;  // shutting down
    sweep_idle();
    schedule_idle_sweep();
  });
}

void io_thread::sweep_idle() {
  const auto now = std::chrono::steady_clock::now();
  // Copied first: a session that closes may end here and unregister itself.
  sweep_scratch_.clear();
  for (auto& [token, weak] : sessions_) {
    if (auto s = weak.lock()) sweep_scratch_.push_back(std::move(s));
  }
  for (auto& s : sweep_scratch_) s->check_idle(now);
  sweep_scratch_.clear();
}

void io_thread::set_keys(std::shared_ptr<const auth::key_table> table,
                         const std::vector<auth::key_id>& revoked) {
  keys_ = std::move(table);
  if (revoked.empty()) return;
  // Copied first: a session that closes may end here and unregister itself.
  std::vector<std::shared_ptr<session_base>> live;
  live.reserve(sessions_.size());
  for (auto& [token, weak] : sessions_) {
    if (auto s = weak.lock()) live.push_back(std::move(s));
  }
  for (auto& s : live) s->keys_revoked(revoked);
}

void io_thread::auth_failed(auth_failure reason, std::string_view what, auth::key_id key) {
  ctx_.probe.auth_failed(reason);
  std::uint64_t suppressed = 0;
  if (!auth_log_[static_cast<std::size_t>(reason)].allow(suppressed)) return;
  obs::logger("gateway")->info("auth failure reason={} key_id={}: {} (suppressed since last: {})",
                               to_string(reason), key == 0 ? "-" : auth::format_key_id(key), what,
                               suppressed);
}

std::string io_thread::make_order_id() {
  // RFC 4122 version 4 UUID.
  std::uint64_t hi = random_();
  std::uint64_t lo = random_();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 15; i >= 0; --i) {
    out += kHex[(hi >> (i * 4)) & 0xf];
    if (i == 8 || i == 4) out += '-';
  }
  out += '-';
  for (int i = 15; i >= 0; --i) {
    out += kHex[(lo >> (i * 4)) & 0xf];
    if (i == 12) out += '-';
  }
  return out;
}

}  // namespace matchd::gateway
