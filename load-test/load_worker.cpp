#include "load_worker.h"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <chrono>

#include "http_connection.h"
#include "ws_connection.h"

namespace matchd::load {

namespace net = boost::asio;

namespace {

constexpr auto kWatchdogPeriod = std::chrono::milliseconds(5);

net::steady_timer::time_point at_ns(std::int64_t ns) {
  return net::steady_timer::time_point(std::chrono::nanoseconds(ns));
}

std::int64_t seconds_to_ns(double s) {
  return static_cast<std::int64_t>(s * 1e9);
}

}  // namespace

load_worker::load_worker(load_plan& plan, unsigned first_connection, unsigned connection_count)
    : plan_(plan),
      pace_timer_(ioc_),
      watchdog_(ioc_),
      first_(first_connection),
      count_(connection_count) {
  work_.emplace(ioc_.get_executor());
  connections_.reserve(count_);
  for (unsigned i = 0; i < count_; ++i) {
    if (plan_.config->mode == load_mode::http) {
      connections_.push_back(std::make_unique<http_connection>(*this, first_ + i));
    } else {
      connections_.push_back(std::make_unique<ws_connection>(*this, first_ + i));
    }
  }
}

load_worker::~load_worker() = default;

void load_worker::begin_connect(std::function<void(unsigned)> on_ready) {
  net::post(ioc_, [this, on_ready = std::move(on_ready)]() mutable {
    on_ready_ = std::move(on_ready);
    pending_initial_ = count_;
    if (count_ == 0) {
      on_ready_(0);
      return;
    }
    for (auto& c : connections_) c->start();
  });
}

void load_worker::initial_connect_done(bool ok) {
  if (ok) ++connected_initially_;
  if (pending_initial_ > 0 && --pending_initial_ == 0 && on_ready_) on_ready_(connected_initially_);
}

void load_worker::begin_load() {
  net::post(ioc_, [this] {
    phase_ = phase::loading;
    last_answer_ns_ = clock_ns();
    if (plan_.open_loop) {
      pace_timer_.expires_at(at_ns(plan_.t0_ns));
      pace_timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec) on_pace();
      });
    } else {
      // Closed loop: start at t0 so every worker begins together.
      pace_timer_.expires_at(at_ns(plan_.t0_ns));
      pace_timer_.async_wait([this](boost::system::error_code ec) {
        if (ec || finished()) return;
        for (auto& c : connections_) c->pump();
      });
    }
    watchdog_.expires_after(kWatchdogPeriod);
    watchdog_.async_wait([this](boost::system::error_code ec) {
      if (!ec) on_watchdog();
    });
  });
}

void load_worker::run() {
  ioc_.run();
}

bool load_worker::take_request(connection& c, std::int64_t now, request_ticket& out) {
  if (phase_ != phase::loading && phase_ != phase::draining) return false;
  if (plan_.open_loop) {
    const std::uint64_t i = c.next_index();
    if (i >= plan_.total || i >= plan_.due_count(now)) return false;
    c.advance(plan_.config->connections);
    out.index = i;
    out.ref_ns = plan_.intended_ns(i);
  } else {
    if (closed_exhausted_ || now >= plan_.send_end_ns) return false;
    const std::uint64_t i = plan_.next_closed.fetch_add(1, std::memory_order_relaxed);
    if (i >= plan_.total) {
      closed_exhausted_ = true;
      return false;
    }
    out.index = i;
    out.ref_ns = now;
  }
  out.sent_ns = now;
  ++stats_.sent;
  progress_sent_.fetch_add(1, std::memory_order_relaxed);
  if (plan_.in_window(out.ref_ns)) {
    ++stats_.window_sent;
    if (plan_.open_loop) stats_.send_delay.record(now - out.ref_ns);
  }
  return true;
}

void load_worker::answered(const request_ticket& t, int status, std::int64_t now) {
  ++stats_.answered;
  last_answer_ns_ = now;
  progress_answered_.fetch_add(1, std::memory_order_relaxed);
  const std::int64_t latency = now - t.ref_ns;
  std::int64_t slowest = progress_max_latency_.load(std::memory_order_relaxed);
  while (latency > slowest && !progress_max_latency_.compare_exchange_weak(
                                  slowest, latency, std::memory_order_relaxed)) {
  }
  const bool ok = status >= 200 && status < 300;
  if (status >= 100 && status < static_cast<int>(load_stats::kStatusSlots)) {
    ++stats_.by_status[static_cast<std::size_t>(status)];
  } else {
    ++stats_.bad_status;
  }
  if (!ok) error_progress();
  if (plan_.in_window(t.ref_ns)) {
    ++stats_.window_answered;
    stats_.window_last_answer_ns = std::max(stats_.window_last_answer_ns, now);
    if (ok) {
      ++stats_.window_ok;
      stats_.latency.record(latency);
    }
  }
}

void load_worker::lost(const request_ticket&) {
  ++stats_.transport_errors;
  error_progress();
}

void load_worker::unmatched_answer() {
  ++stats_.unmatched;
  error_progress();
}

void load_worker::connect_failed() {
  ++stats_.connect_errors;
  error_progress();
}

void load_worker::on_pace() {
  if (phase_ != phase::loading) return;
  const std::int64_t now = clock_ns();
  const std::uint64_t due = plan_.due_count(now);
  const std::uint64_t c_total = plan_.config->connections;
  for (std::uint64_t i = dispatched_; i < due; ++i) {
    const auto c = static_cast<unsigned>(i % c_total);
    if (c >= first_ && c < first_ + count_) connections_[c - first_]->pump();
  }
  dispatched_ = std::max(dispatched_, due);
  if (dispatched_ < plan_.total) arm_pace(now);
}

void load_worker::arm_pace(std::int64_t now) {
  // The next request due on one of this worker's connections.
  const std::uint64_t c_total = plan_.config->connections;
  std::uint64_t next = dispatched_;
  const std::uint64_t r = next % c_total;
  if (r < first_) {
    next += first_ - r;
  } else if (r >= first_ + count_) {
    next += c_total - r + first_;
  }
  if (next >= plan_.total) {
    dispatched_ = plan_.total;
    return;
  }
  // Sleeping at least a tick bounds the wake-ups (requests due meanwhile go out together,
  // late by less than a tick, which their latency includes).
  const std::int64_t tick_ns = std::int64_t{plan_.config->tick_us} * 1000;
  const std::int64_t wake = std::max(plan_.intended_ns(next), now + tick_ns);
  pace_timer_.expires_at(at_ns(wake));
  pace_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) on_pace();
  });
}

bool load_worker::sending_over(std::int64_t now) const noexcept {
  if (plan_.open_loop) return dispatched_ >= plan_.total;
  return closed_exhausted_ || now >= plan_.send_end_ns;
}

bool load_worker::all_done() const noexcept {
  for (const auto& c : connections_) {
    if (c->in_flight() != 0) return false;
    if (plan_.open_loop && c->next_index() < plan_.total) return false;
  }
  return true;
}

void load_worker::on_watchdog() {
  if (finished()) return;
  const std::int64_t now = clock_ns();
  const std::int64_t drain_ns = seconds_to_ns(plan_.config->drain_timeout_s);
  if (phase_ == phase::loading && sending_over(now)) {
    phase_ = phase::draining;
    drain_deadline_ns_ = now + drain_ns;
  }
  if (phase_ == phase::draining) {
    if (all_done()) return finish();
    if (now >= drain_deadline_ns_) return give_up();
  } else if (!plan_.open_loop && now - last_answer_ns_ > drain_ns) {
    // Closed loop with nothing answered for a whole drain timeout: the target is stuck.
    bool any_in_flight = false;
    for (const auto& c : connections_) any_in_flight = any_in_flight || c->in_flight() != 0;
    if (any_in_flight) return give_up();
  }
  watchdog_.expires_after(kWatchdogPeriod);
  watchdog_.async_wait([this](boost::system::error_code ec) {
    if (!ec) on_watchdog();
  });
}

void load_worker::give_up() {
  const std::uint64_t c_total = plan_.config->connections;
  for (const auto& c : connections_) {
    stats_.unfinished += c->in_flight();
    if (plan_.open_loop && c->next_index() < plan_.total) {
      stats_.unfinished += (plan_.total - c->next_index() + c_total - 1) / c_total;
    }
  }
  progress_errors_.fetch_add(stats_.unfinished, std::memory_order_relaxed);
  finish();
}

void load_worker::finish() {
  phase_ = phase::finished;
  pace_timer_.cancel();
  watchdog_.cancel();
  for (auto& c : connections_) c->close();
  work_.reset();
  ioc_.stop();
}

}  // namespace matchd::load
