#pragma once

#include <matchd/engine/instrument.h>
#include <matchd/export/webhook_source.h>
#include <matchd/obs/metrics.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace matchd::event_export {

struct webhook_options {
  std::string conninfo;
  std::chrono::milliseconds db_timeout{5000};
  // A delivery is retried for this long after it was made (or retried by hand), then dead.
  std::chrono::milliseconds retry_horizon = std::chrono::hours(24);
  // The first retry after about `initial_backoff`, doubling to `max_backoff`, equal jitter.
  std::chrono::milliseconds initial_backoff{1000};
  std::chrono::milliseconds max_backoff = std::chrono::hours(1);
  // An attempt that has not been answered with a 2xx within this is a failure.
  std::chrono::milliseconds delivery_timeout{10000};
  // Deliveries to loopback, private and reserved addresses too (--webhook-allow-private).
  bool allow_private = false;
  // Looks for new events and due deliveries this often when nothing woke it.
  std::chrono::milliseconds poll_interval{50};
  std::size_t queue_capacity = 64;  // route calls waiting
  std::size_t max_webhooks = 1000;  // live webhooks in all
  std::size_t max_per_client = 16;  // live webhooks of one client_id
  std::size_t max_in_flight = 256;  // deliveries being sent at once (one per webhook)
};

// The sink name in export_progress.
inline constexpr const char* kWebhookSink = "webhooks";

class webhook_sender;
class webhook_probe;

// Webhooks (docs/api.md, "Webhooks") on a thread of its own (`matchd-webhooks`) with a
// PostgreSQL session of its own:
// - the routes, queued to it (webhook_source);
// - the dispatcher: the journal rows after its position in export_progress, each event turned
//   into one delivery per webhook that wants it, written in the transaction that moves the
//   position (so each delivery is made once, whatever fails);
// - the scheduler: each webhook's oldest pending delivery, when due, handed to the sender
//   (webhook_sender, its own thread); one at a time per webhook, so an endpoint gets its
//   events in order, and a slow or failing one holds only itself. Each answer is recorded:
//   delivered, retried later (exponential backoff, equal jitter), or dead past the horizon.
// Never on the order path: it reads committed rows only.
class webhook_service final : public webhook_source {
 public:
  webhook_service(webhook_options options, std::vector<engine::instrument> instruments,
                  obs::registry& metrics);
  ~webhook_service() override;
  webhook_service(const webhook_service&) = delete;
  webhook_service& operator=(const webhook_service&) = delete;

  void start();
  // Stops the sender (attempts in flight count as not made: they are made again later) and
  // the thread.
  void stop();
  void add_instrument(const engine::instrument& ins);

  void create(registration r, done_fn done) override;
  void list(engine::client_scope scope, done_fn done) override;
  void remove(std::uint64_t webhook_id, engine::client_scope scope, done_fn done) override;
  void deliveries(std::uint64_t webhook_id, std::string status, std::size_t limit,
                  std::optional<std::uint64_t> before, engine::client_scope scope,
                  done_fn done) override;
  void retry(std::uint64_t delivery_id, engine::client_scope scope, done_fn done) override;

 private:
  struct state;  // what only the thread touches
  void enqueue(std::function<void(state&)> job, const done_fn& done);
  // A job that must run (an attempt's outcome): never refused for a full queue.
  void post(std::function<void(state&)> job);
  void run();
  void wake();
  // The labels of the orders that may still change after the position (after a skip too).
  void load_labels(state& s);
  // The journal rows after the position, turned into deliveries in the transaction that moves
  // it.
  void dispatch(state& s);
  // Each webhook's oldest pending delivery, if due, to the sender.
  void schedule(state& s);

  webhook_options options_;
  std::unique_ptr<webhook_probe> probe_;
  std::unique_ptr<webhook_sender> sender_;

  std::mutex mutex_;  // guards the fields below
  std::condition_variable wake_;
  std::deque<std::function<void(state&)>> jobs_;
  std::vector<engine::instrument> added_;
  bool stopping_ = false;
  bool woken_ = false;
  std::vector<engine::instrument> instruments_;  // taken by the thread at start
  std::thread thread_;
};

}  // namespace matchd::event_export
