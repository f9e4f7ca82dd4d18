#pragma once

#include <matchd/analytics/history_source.h>
#include <matchd/bus/messages.h>
#include <matchd/bus/spsc_queue.h>
#include <matchd/clearing/settlement_source.h>
#include <matchd/engine/instrument.h>
#include <matchd/export/webhook_destination.h>
#include <matchd/export/webhook_source.h>
#include <matchd/obs/metrics.h>
#include <matchd/obs/order_flow_metrics.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace matchd::auth {
class key_registry;
}

namespace matchd::gateway {

struct server_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  std::size_t io_threads = 1;
  // Lowered at start to what the file descriptors allow (descriptor_budget.h); 16 more are
  // taken for /healthz, /readyz and /metrics only.
  std::size_t max_connections = 10'000;
  std::size_t max_connections_per_address = 0;  // 0: a quarter of max_connections (at least 1)
  std::size_t body_limit = 64 * 1024;
  std::size_t header_limit = 8 * 1024;
  std::chrono::seconds idle_timeout{60};
  // A WebSocket from which nothing has come for half of this is pinged; if still nothing
  // has come when it has passed, the connection is closed.
  std::chrono::seconds ws_idle_timeout{60};
  // A WebSocket message whose first frame has come must be complete within this.
  std::chrono::seconds ws_message_timeout{10};
  std::size_t inflight_budget = 8192;    // engine commands admitted and not yet answered
  double rate_limit_per_client = 0;      // orders per second per client_id; 0 = off
  double rate_burst_per_client = 0;      // bucket size; 0 = same as the rate
  std::size_t subscriber_buffer = 4096;  // frames queued per stream subscriber
  bool durable = false;                  // a database behind the pipeline (--db)
  // --auth keys: every route above public_read needs an API key (auth/keys.h). false:
  // --auth none, keys are ignored and the rate limit is per client_id.
  bool auth_keys = false;
};

// The queues joining one I/O thread to the engine and publish stages.
struct io_thread_links {
  bus::spsc_queue<bus::engine_request>* to_engine = nullptr;
  bus::spsc_queue<bus::read_query>* to_publish = nullptr;
  bus::spsc_queue<bus::io_delivery>* deliveries = nullptr;
};

struct pipeline_hooks {
  std::function<void()> notify_engine;
  std::function<void()> notify_publish;
  // Empty string when ready; otherwise why not (for /readyz and 503 not_ready).
  std::function<std::string()> not_ready_reason;
  // Called before /metrics serializes, to sample queue depths and the like.
  std::function<void()> before_scrape;
};

struct gateway_context;
class io_thread;
class listener;

// The HTTP/WebSocket front door: one io_context per I/O thread, connections spread over
// them round-robin; each connection lives on one thread, which also completes its
// responses. Order commands go to the engine stage, reads and subscriptions to the publish
// stage, through that thread's SPSC queues.
class server {
 public:
  server(server_options options, std::vector<engine::instrument> instruments,
         std::vector<io_thread_links> links, pipeline_hooks hooks, obs::registry& registry,
         obs::order_flow_metrics& order_flow);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // The process's keys: every I/O thread gets each new key table from the registry (a post
  // to its io_context: the request path reads its own pointer, no lock) and closes its
  // sessions of revoked keys; the admin key routes call it. Before start(), and before
  // the registry starts; the registry must outlive the server's threads.
  void use_keys(auth::key_registry& registry);
  // Where GET /candles, /analytics/stats and /trades by time are read (durable mode); without
  // it they answer 503 not_ready. Before start(); it must outlive the server's threads.
  void use_history(analytics::history_source& source);
  // Where the settlement routes go (durable mode); without it they answer 503 not_ready.
  // Before start(); it must outlive the server's threads.
  void use_settlements(clearing::settlement_source& source);
  // Where the webhook routes go (durable mode); without it they answer 503 not_ready.
  // `allowed`: where a registered URL may point. Before start(); `source` must outlive the
  // server's threads.
  void use_webhooks(event_export::webhook_source& source,
                    const event_export::webhook_destinations& allowed);
  // An instrument added at runtime (any thread): posted to every I/O thread, each of which
  // then accepts orders and queries for it.
  void add_instrument(const engine::instrument& ins);
  // Binds and starts the I/O threads. Throws on bind errors.
  void start();
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  // Called by the publish thread after queueing deliveries for I/O thread `i`.
  void wake(std::uint32_t i);
  // While false, order entry, reads and streams answer 503 not_ready.
  void set_accepting(bool accepting);
  // Closes the listening socket; open connections go on.
  void stop_accepting();
  // Order commands admitted and not yet answered.
  std::size_t inflight() const;
  // Stops accepting, closes every connection and joins the I/O threads.
  void stop();

 private:
  std::unique_ptr<gateway_context> ctx_;
  std::vector<std::unique_ptr<io_thread>> threads_;
  std::shared_ptr<listener> listener_;
};

}  // namespace matchd::gateway
