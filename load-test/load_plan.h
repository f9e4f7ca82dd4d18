#pragma once

#include <matchd/obs/latency_histogram.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "fixture.h"

namespace matchd::load {

using obs::latency_histogram;

enum class load_mode { http, ws };

// What the command line asked for.
struct load_config {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string fixture_path;
  std::string id_tag;
  load_mode mode = load_mode::http;
  std::string http_path = "/orders";
  std::string ws_path = "/stream";
  double rate = 0;  // orders/s, open loop
  bool closed_loop = false;
  unsigned connections = 64;
  unsigned threads = 1;
  double warmup_s = 0;
  double duration_s = 10;
  bool duration_given = false;
  std::uint64_t requests = 0;   // 0: bounded by time only
  unsigned max_inflight = 128;  // WebSocket requests in flight per connection
  double drain_timeout_s = 10;
  unsigned tick_us = 100;  // open loop: the pace timer wakes at most this often
  std::string json_path;
  std::string label;
  bool progress = false;
  bool fail_on_error = false;
  // --keys FILE: one API key secret per line; connection i sends key i mod n as
  // `Authorization: Bearer` (on every request, or on the WebSocket upgrade).
  std::string keys_path;
};

// Nanoseconds on the steady clock: the one time base of a run.
inline std::int64_t clock_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The run every worker follows. Set up by main before the workers start; afterwards only
// `next_closed` changes (closed loop: the shared request counter).
struct load_plan {
  const load_config* config = nullptr;
  const fixture* orders = nullptr;
  boost::asio::ip::tcp::endpoint target;
  std::string host_header;        // "127.0.0.1:8080"
  std::vector<std::string> keys;  // --keys: the secrets, in file order

  // The key of connection `id`, or "" when none was given.
  [[nodiscard]] const std::string& key_of(unsigned id) const noexcept {
    static const std::string kNone;
    return keys.empty() ? kNone : keys[id % keys.size()];
  }

  bool open_loop = true;
  std::int64_t t0_ns = 0;   // request 0 is due at t0 (open loop); sending starts then
  double interval_ns = 0;   // open loop: 1e9 / rate
  std::uint64_t total = 0;  // requests to send at most
  std::int64_t send_end_ns = std::numeric_limits<std::int64_t>::max();  // closed loop
  std::int64_t window_begin_ns = 0;  // requests referenced in [begin, end) are measured
  std::int64_t window_end_ns = std::numeric_limits<std::int64_t>::max();
  std::atomic<std::uint64_t> next_closed{0};

  // Open loop: when request i is due (the reference for its latency).
  [[nodiscard]] std::int64_t intended_ns(std::uint64_t i) const noexcept {
    return t0_ns + static_cast<std::int64_t>(static_cast<double>(i) * interval_ns);
  }
  // Open loop: how many requests are due at `now` (all i with intended_ns(i) <= now).
  [[nodiscard]] std::uint64_t due_count(std::int64_t now) const noexcept {
    if (now < t0_ns) return 0;
    const double n = static_cast<double>(now - t0_ns) / interval_ns;
    if (n >= static_cast<double>(total)) return total;
    return std::min(total, static_cast<std::uint64_t>(n) + 1);
  }
  [[nodiscard]] bool in_window(std::int64_t ref_ns) const noexcept {
    return ref_ns >= window_begin_ns && ref_ns < window_end_ns;
  }
};

// One request on its way: which one, and the times its latency is measured between.
struct request_ticket {
  std::uint64_t index = 0;
  std::int64_t ref_ns = 0;   // open loop: intended send time; closed loop: actual send time
  std::int64_t sent_ns = 0;  // when it was actually written
};

// What a worker saw. Merged by main at the end.
struct load_stats {
  static constexpr std::size_t kStatusSlots = 600;

  latency_histogram latency;     // 2xx answers to measured requests: answer - reference time
  latency_histogram send_delay;  // measured requests, open loop: actual send - intended send
  std::array<std::uint64_t, kStatusSlots> by_status{};  // every answer, by status code
  std::uint64_t sent = 0;
  std::uint64_t answered = 0;
  std::uint64_t bad_status = 0;        // a status outside 100..599
  std::uint64_t transport_errors = 0;  // requests lost with their connection
  std::uint64_t connect_errors = 0;    // failed connects and handshakes (each retry counts)
  std::uint64_t unmatched = 0;         // WebSocket answers naming no request in flight
  std::uint64_t unfinished = 0;        // in flight or never sent when the run gave up
  std::uint64_t window_sent = 0;
  std::uint64_t window_answered = 0;
  std::uint64_t window_ok = 0;
  std::int64_t window_last_answer_ns = 0;

  void merge(const load_stats& o);
};

}  // namespace matchd::load
