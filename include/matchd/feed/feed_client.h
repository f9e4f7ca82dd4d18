#pragma once

#include <matchd/bus/messages.h>
#include <matchd/engine/instrument.h>
#include <matchd/feed/feed_options.h>
#include <matchd/obs/metrics.h>

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace matchd::feed {

// Counters of one feed_client, readable from any thread (the same numbers /metrics shows).
struct feed_stats {
  std::uint64_t messages = 0;      // text messages received
  std::uint64_t submitted = 0;     // orders handed to submit() that it accepted
  std::uint64_t dropped = 0;       // orders submit() refused (queue full)
  std::uint64_t parse_errors = 0;  // malformed messages, unknown symbols, bad decimals
  std::uint64_t skipped = 0;       // good trades not replayable (below the lot, ...)
  std::uint64_t ignored = 0;       // well-formed messages that are not trades
  std::uint64_t reconnects = 0;    // connection attempts after a failure or a close
  std::uint64_t connections = 0;   // WebSocket handshakes completed
  std::uint64_t pings = 0;         // pings received from the server (answered by Beast)
  bool connected = false;
};

// Market-data ingestion: keeps one WebSocket connection to a Binance-format trade stream
// (ws:// or wss:// with SNI, chain and host-name verification) and turns every trade into a
// taker order for the engine (see to_market_order), handed to `submit`.
//
// Threading: every handler runs on `ioc` (through a strand). `submit` is called on that
// thread only, so it may push to an SPSC queue; it must not block: returning false (queue
// full) drops the order and counts it. start() and stop() may be called from any thread.
//
// Robustness: any error or close (including Binance's 24-hour disconnect and its
// serverShutdown notice) leads to a reconnect after a capped, fully jittered exponential
// backoff; timeouts bound the connection set-up, the transport (ping after idle) and the
// data flow (no message for message_timeout). Malformed messages are skipped and counted;
// warnings about them are rate-limited.
//
// Lifetime: destroy the feed_client before `ioc` (its destructor calls stop(), which posts
// to it), and keep `registry` alive as long as `ioc`. After stop(), let ioc.run() return
// (it does once the close finishes, within about a second) or call ioc.stop(), and join its
// thread before destroying what `submit` touches: from then on submit is never called.
class feed_client {
 public:
  using submit_function = std::function<bool(bus::engine_request&&)>;

  // Checks the options and registers the metrics; throws std::invalid_argument on a bad
  // URL, symbol map, client id, scale or guard (start-up only). Does not connect yet.
  feed_client(boost::asio::io_context& ioc, feed_options options,
              const std::vector<engine::instrument>& instruments, submit_function submit,
              obs::registry& registry);
  ~feed_client();
  feed_client(const feed_client&) = delete;
  feed_client& operator=(const feed_client&) = delete;

  // Connects (asynchronously) and keeps connected until stop().
  void start();
  // Closes the connection (a WebSocket close with a 1 s limit), cancels the timers and stops
  // reconnecting. Asynchronous and idempotent; afterwards no more orders are submitted once
  // the io thread has run the stop.
  void stop();

  feed_stats stats() const;

 private:
  class core;
  std::shared_ptr<core> core_;
};

}  // namespace matchd::feed
