#pragma once

#include <matchd/engine/instrument.h>
#include <matchd/engine/types.h>
#include <matchd/obs/metrics.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace matchd::store {
class export_cursor;
}

namespace matchd::event_export {

struct jetstream_options {
  std::string url;                // nats://127.0.0.1:4222 (--nats-url)
  std::string stream = "MATCHD";  // created if missing (--nats-stream)
  // The stream's subjects: `matchd.>` (false), or `matchd.*.<symbol>` for each instrument
  // (true: --nats-subjects instruments), so that several instances, each with its own
  // instruments and stream, share one JetStream without overlapping subjects.
  bool subjects_per_instrument = false;
  std::string conninfo;  // PostgreSQL: the journal and export_progress
  std::chrono::milliseconds db_timeout{5000};
  // Journal rows read and published per round; their events are published without waiting
  // for each acknowledgement, then all acknowledgements are awaited before the position moves.
  std::size_t max_rows = 64;
  // How long the acknowledgements of a round may take before it counts as failed.
  std::chrono::milliseconds ack_wait{5000};
  // Looks for new journal rows this often while there were none.
  std::chrono::milliseconds poll_interval{20};
  // JetStream's duplicate window for a stream it creates: a re-sent event within it is dropped.
  std::chrono::seconds duplicate_window{120};
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{5000};
};

// The sink name in export_progress.
inline constexpr const char* kJetStreamSink = "nats";

class exporter_probe;
class jetstream_link;

// Publishes every committed event (orders, trades, book level changes) to a JetStream stream,
// in sequence order, on its own thread (`matchd-export`), behind the commit path: it reads the
// journal rows after its durable position (store::export_cursor), publishes their events with
// `Nats-Msg-Id` = the event's sequence and `Nats-Expected-Last-Msg-Id` = the one before, waits
// for every acknowledgement, and only then moves its position. A crash or an outage at any
// point leaves the position before what was not acknowledged: those events are sent again and
// JetStream drops the copies it holds (duplicate window, and before that, the expected last id
// refuses anything out of order). See docs/design.md, "Event export".
class jetstream_exporter {
 public:
  jetstream_exporter(jetstream_options options, std::vector<engine::instrument> instruments,
                     obs::registry& metrics);
  ~jetstream_exporter();
  jetstream_exporter(const jetstream_exporter&) = delete;
  jetstream_exporter& operator=(const jetstream_exporter&) = delete;

  void start();
  // Stops after the round in progress; what was not acknowledged is sent again next time.
  void stop();
  // An instrument added at runtime (any thread): its subjects join the stream before its events.
  void add_instrument(const engine::instrument& ins);

 private:
  void run();
  // Publishes the settlements made since the last one exported, once the journal's events
  // before them are (store::export_cursor::settlements).
  void publish_settlements(store::export_cursor& cursor, engine::sequence_number delivered_row,
                           bool& resynced, std::string& last_id);
  void sleep_unless_stopped(std::chrono::steady_clock::duration d);
  bool stopping();

  jetstream_options options_;
  std::vector<engine::instrument> instruments_;
  std::unique_ptr<exporter_probe> probe_;
  std::unique_ptr<jetstream_link> link_;

  std::mutex added_mutex_;
  std::vector<engine::instrument> added_;  // guarded by added_mutex_
  std::atomic<bool> has_added_{false};

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace matchd::event_export
