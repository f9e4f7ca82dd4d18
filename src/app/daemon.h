#pragma once

#include <matchd/auth/key_registry.h>
#include <matchd/bus/messages.h>
#include <matchd/bus/spsc_queue.h>
#include <matchd/engine/matching_engine.h>
#include <matchd/export/jetstream_exporter.h>
#include <matchd/export/webhook_service.h>
#include <matchd/feed/feed_client.h>
#include <matchd/gateway/server.h>
#include <matchd/obs/metrics.h>
#include <matchd/obs/order_flow_metrics.h>
#include <matchd/publish/publish_stage.h>
#include <matchd/sequencer/engine_stage.h>
#include <matchd/store/analytics_reader.h>
#include <matchd/store/history_reader.h>
#include <matchd/store/settlement_worker.h>
#include <matchd/store/store_stage.h>
#include <prometheus/gauge.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <string_view>
#include <thread>
#include <vector>

#include "config.h"
#include "exit_codes.h"

namespace matchd::app {

// Throws startup_error(kExitDatabaseRejected) when `connect_error` (a failed connection's
// message) says the server refused us: retrying cannot help. Returns otherwise.
void throw_if_database_rejected(std::string_view connect_error);

// Owns every stage and the queues between them, and starts and stops them in order:
// consumers before producers on the way up, producers before consumers on the way down.
//
//   I/O threads --requests--> engine stage --batches--> [store stage] --> publish stage
//        ^   \------------------------------ reads --------------------------^   |
//        \------------------------------- deliveries ----------------------------/
//
// With a database the store stage commits each group of batches before publish sees it,
// and start() first recovers the books from it.
class daemon {
 public:
  explicit daemon(config cfg);
  ~daemon();

  // Starts the listener (answering 503 not_ready), recovers from the database if there is
  // one (waiting as long as it cannot be reached), starts the stages, then accepts orders.
  // Returns the bound endpoint. Throws startup_error when the address cannot be listened on
  // or the database refuses the connection, other exceptions on other failures.
  boost::asio::ip::tcp::endpoint start();
  // Stops accepting, lets in-flight commands finish (bounded), then stops every stage.
  void stop();
  // What the process should exit with once stopped: kExitDatabaseInUse after the writer lock
  // was lost while running, else kExitOk.
  [[nodiscard]] int exit_status() const;

 private:
  struct io_queues {
    std::unique_ptr<bus::spsc_queue<bus::engine_request>> to_engine;
    std::unique_ptr<bus::spsc_queue<bus::read_query>> to_publish;
    std::unique_ptr<bus::spsc_queue<bus::io_delivery>> deliveries;
  };

  config cfg_;
  std::shared_ptr<obs::registry> registry_;
  std::unique_ptr<obs::order_flow_metrics> order_flow_;
  std::unique_ptr<engine::matching_engine> engine_;
  std::vector<io_queues> io_queues_;
  void recover();
  void take_writer_lock();
  void restore_added_instruments();
  void writer_lock_lost();
  void sample_queue_depths();

  std::unique_ptr<bus::spsc_queue<bus::engine_batch*>> executed_;
  std::unique_ptr<bus::spsc_queue<bus::engine_batch*>> committed_;  // durable mode only
  std::unique_ptr<sequencer::engine_stage> engine_stage_;
  std::unique_ptr<store::store_stage> store_stage_;  // durable mode only
  std::unique_ptr<publish::publish_stage> publish_stage_;
  // Durable mode only: GET /orders/{id} past the retention horizon, from the orders table.
  std::unique_ptr<store::history_reader> history_reader_;
  std::unique_ptr<store::analytics_reader> analytics_reader_;
  std::unique_ptr<store::settlement_worker> settlement_worker_;
  std::unique_ptr<event_export::jetstream_exporter> exporter_;  // --nats-url only
  std::unique_ptr<event_export::webhook_service> webhooks_;     // durable mode only
  std::atomic<bool> recovered_{false};
  // Set while start-up retries a database it cannot reach: /readyz says so, not "recovering".
  std::atomic<bool> waiting_for_database_{false};
  std::string db_conninfo_;  // --db with the session settings (store/session_settings.h)
  std::atomic<bool> writer_lock_lost_{false};
  prometheus::Family<prometheus::Gauge>* queue_depth_ = nullptr;
  std::unique_ptr<gateway::server> server_;
  // Market-data feed: its own reactor thread and its own queue into the engine stage.
  std::unique_ptr<bus::spsc_queue<bus::engine_request>> feed_queue_;
  std::unique_ptr<boost::asio::io_context> feed_ioc_;
  std::unique_ptr<feed::feed_client> feed_;
  std::thread feed_thread_;
  // The API keys; after server_, so that it stops (and ends its posts to the I/O threads)
  // before the server goes.
  std::unique_ptr<auth::key_registry> keys_;
  bool started_ = false;
};

}  // namespace matchd::app
