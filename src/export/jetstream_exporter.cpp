#include <matchd/bus/backoff.h>
#include <matchd/bus/clock.h>
#include <matchd/codec/wire.h>
#include <matchd/export/jetstream_exporter.h>
#include <matchd/obs/atomic_histogram.h>
#include <matchd/obs/logger.h>
#include <matchd/obs/thread_name.h>
#include <matchd/store/export_cursor.h>
#include <matchd/store/journal.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <sys/resource.h>
#include <unistd.h>

#include <random>
#include <unordered_map>

#include "jetstream_link.h"
#include "order_labels.h"

namespace matchd::event_export {

class exporter_probe {
 public:
  explicit exporter_probe(obs::registry& r)
      : published_(prometheus::BuildCounter()
                       .Name("export_published_total")
                       .Help("Events JetStream acknowledged (stored, or already held)")
                       .Register(r)
                       .Add({{"sink", kJetStreamSink}})),
        failures_(prometheus::BuildCounter()
                      .Name("export_failures_total")
                      .Help("Export rounds that failed (broker or database); each is retried")
                      .Register(r)
                      .Add({{"sink", kJetStreamSink}})),
        lag_(prometheus::BuildGauge()
                 .Name("export_lag_events")
                 .Help("Sequence numbers committed but not yet exported")
                 .Register(r)
                 .Add({{"sink", kJetStreamSink}})),
        up_(prometheus::BuildGauge()
                .Name("export_connected")
                .Help("1 while the exporter is connected to its broker")
                .Register(r)
                .Add({{"sink", kJetStreamSink}})),
        delay_(r.add_histogram("export_delay_seconds",
                               "From an event's time (its trade or order update) to JetStream's "
                               "acknowledgement, the oldest event of each round",
                               obs::latency_buckets())) {}

  // Committed sequence numbers not yet exported.
  void lag(engine::sequence_number committed, engine::sequence_number delivered) {
    lag_.Set(static_cast<double>(committed > delivered ? committed - delivered : 0));
  }

  prometheus::Counter& published_;
  prometheus::Counter& failures_;
  prometheus::Gauge& lag_;
  prometheus::Gauge& up_;
  obs::atomic_histogram& delay_;
};

namespace {

constexpr int kExportNice = 10;

// The batch's events as messages, from `after` on (the stream already holds the others).
// Returns the time of the oldest order or trade among them (0 when none has one).
engine::timestamp_us to_messages(const store::export_batch& batch, std::uint64_t after,
                                 const std::vector<engine::instrument>& instruments,
                                 order_labels& labels, std::vector<outgoing_event>& out) {
  out.clear();
  std::size_t next_label = 0;
  engine::timestamp_us oldest = 0;
  std::string data;
  for (std::size_t i = 0; i < batch.events.size(); ++i) {
    const engine::event& e = batch.events[i];
    data.clear();
    if (const auto* o = std::get_if<engine::order>(&e)) {
      while (next_label < batch.labels.size() && batch.labels[next_label].event < i) ++next_label;
      if (next_label < batch.labels.size() && batch.labels[next_label].event == i) {
        labels.set(o->id.view(), batch.labels[next_label].client_order_id.view());
      }
      if (o->sequence > after) {
        const engine::instrument& ins = instruments[o->instrument];
        codec::append_order(data, *o, ins, labels.find(o->id.view()));
        out.push_back({"matchd.orders." + ins.symbol, std::to_string(o->sequence),
                       codec::stream_frame("orders", ins.symbol, o->sequence, data)});
        if (oldest == 0 || o->updated_at < oldest) oldest = o->updated_at;
      }
      if (engine::is_final(o->status)) labels.finished(o->id.view());
    } else if (const auto* t = std::get_if<engine::trade>(&e)) {
      if (t->sequence <= after) continue;
      const engine::instrument& ins = instruments[t->instrument];
      codec::append_trade(data, *t, ins);
      out.push_back({"matchd.trades." + ins.symbol, std::to_string(t->sequence),
                     codec::stream_frame("trades", ins.symbol, t->sequence, data)});
      if (oldest == 0 || t->executed_at < oldest) oldest = t->executed_at;
    } else if (const auto* d = std::get_if<engine::level_delta>(&e)) {
      if (d->sequence <= after) continue;
      const engine::instrument& ins = instruments[d->instrument];
      codec::append_level_delta(data, *d, ins);
      out.push_back({"matchd.book." + ins.symbol, std::to_string(d->sequence),
                     codec::stream_frame("orderbook_deltas", ins.symbol, d->sequence, data)});
    }
  }
  return oldest;
}

}  // namespace

jetstream_exporter::jetstream_exporter(jetstream_options options,
                                       std::vector<engine::instrument> instruments,
                                       obs::registry& metrics)
    : options_(std::move(options)),
      instruments_(std::move(instruments)),
      probe_(std::make_unique<exporter_probe>(metrics)) {}

jetstream_exporter::~jetstream_exporter() {
  stop();
}

void jetstream_exporter::start() {
  thread_ = std::thread([this] {
    obs::name_this_thread("matchd-export");
    // Behind the order path in the scheduler's eyes too: when the cores are short, the
    // commit path and the acknowledgements go first and the export catches up after.
    if (::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), kExportNice) != 0) {
      obs::logger("export")->warn("export thread keeps its priority: setpriority failed");
    }
    run();
  });
}

void jetstream_exporter::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void jetstream_exporter::add_instrument(const engine::instrument& ins) {
  std::lock_guard lock(added_mutex_);
  added_.push_back(ins);
  has_added_.store(true, std::memory_order_release);
}

bool jetstream_exporter::stopping() {
  std::lock_guard lock(mutex_);
  return stopping_;
}

void jetstream_exporter::sleep_unless_stopped(std::chrono::steady_clock::duration d) {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, d, [this] { return stopping_; });
}

void jetstream_exporter::publish_settlements(store::export_cursor& cursor,
                                             engine::sequence_number delivered_row, bool& resynced,
                                             std::string& last_id) {
  const auto found = cursor.settlements(delivered_row, instruments_, 16);
  if (found.empty()) return;
  std::vector<outgoing_event> messages;
  for (const auto& s : found) {
    if (s.instrument.empty()) continue;  // a settlement without entries
    std::string frame = "{\"channel\":\"settlements\",\"instrument\":\"" + s.instrument +
                        "\",\"settlement_id\":\"" + std::to_string(s.settlement_id) +
                        "\",\"data\":" + s.body + "}";
    messages.push_back({"matchd.settlements." + s.instrument,
                        "settlement-" + std::to_string(s.settlement_id) + "-" + s.instrument,
                        std::move(frame)});
  }
  if (!messages.empty()) {
    // Their ids are not sequences: a copy sent again after a crash is dropped within the
    // duplicate window (two minutes).
    link_->publish(messages, resynced ? std::string() : last_id);
    last_id = messages.back().msg_id;
    resynced = false;
    probe_->published_.Increment(static_cast<double>(messages.size()));
  }
  cursor.advance_settlement(found.back().settlement_id);
}

void jetstream_exporter::run() {
  auto log = obs::logger("export");
  store::export_cursor cursor(options_.conninfo, kJetStreamSink, options_.db_timeout);
  bus::retry_backoff backoff(options_.initial_backoff, options_.max_backoff, bus::jitter::equal,
                             std::random_device{}());
  order_labels labels;
  store::export_batch batch;
  std::vector<outgoing_event> messages;
  int failures = 0;
  bool subjects_changed = false;
  // Where delivery stands: the journal row every event of which JetStream holds (durable in
  // export_progress once moved), the last event the stream holds and its last message's id.
  engine::sequence_number delivered_row = 0;
  std::uint64_t stream_last = 0;
  std::string last_id;
  bool fresh = true;      // a new link: read the stream's last event, load the labels
  bool resynced = false;  // stream_last was just read from the stream itself
  std::chrono::steady_clock::time_point next_settlement_check{};
  while (!stopping()) {
    try {
      if (has_added_.load(std::memory_order_acquire)) {
        std::lock_guard lock(added_mutex_);
        for (engine::instrument& ins : added_) instruments_.push_back(std::move(ins));
        added_.clear();
        has_added_.store(false, std::memory_order_relaxed);
        subjects_changed = true;
      }
      if (!link_) {
        link_ = std::make_unique<jetstream_link>(options_.url, options_.stream, options_.ack_wait);
        fresh = true;
        subjects_changed = true;
      }
      if (subjects_changed) {
        std::vector<std::string> subjects;
        if (options_.subjects_per_instrument) {
          for (const engine::instrument& ins : instruments_) {
            subjects.push_back("matchd.*." + ins.symbol);
          }
        } else {
          subjects.emplace_back("matchd.>");
        }
        link_->ensure_stream(subjects, options_.duplicate_window);
        subjects_changed = false;
      }
      if (fresh) {
        delivered_row = cursor.position();
        const stream_end end = link_->end();
        stream_last = end.last_event;
        last_id = end.last_id;
        // A stream ahead of this database was written from another one (a database dropped
        // or restored with the stream kept): its events are not this venue's, and skipping
        // ours up to its last would lose them.
        if (const engine::sequence_number committed = cursor.committed(); stream_last > committed) {
          throw std::runtime_error("the stream " + options_.stream + " holds events up to " +
                                   std::to_string(stream_last) +
                                   ", past this database's last sequence " +
                                   std::to_string(committed) +
                                   ": it was written from another database; give this one "
                                   "another --nats-stream, or delete that stream");
        }
        labels.clear();
        cursor.labels(delivered_row, instruments_,
                      [&](std::string_view id, std::string_view label) { labels.set(id, label); });
        fresh = false;
        resynced = true;
        probe_->up_.Set(1);
        log->info(
            "export to JetStream: stream={} url={} from journal row {}, stream's last event "
            "{}",
            options_.stream, options_.url, delivered_row, stream_last);
      }
      cursor.read(delivered_row, options_.max_rows, instruments_, batch);
      if (batch.rows == 0) {
        // Caught up with the journal: the settlements made meanwhile follow their trades
        // (looked for once a second: they are made a few times a day).
        if (const auto now = std::chrono::steady_clock::now(); now >= next_settlement_check) {
          publish_settlements(cursor, delivered_row, resynced, last_id);
          next_settlement_check = now + std::chrono::seconds(1);
        }
        probe_->lag(batch.committed, delivered_row);
        if (failures > 0) {
          log->info("export to JetStream: working again after {} failures", failures);
          failures = 0;
          backoff.reset();
        }
        sleep_unless_stopped(options_.poll_interval);
        continue;
      }
      const engine::timestamp_us oldest =
          to_messages(batch, stream_last, instruments_, labels, messages);
      if (!messages.empty()) {
        // After a new link the stream's last event was just read: the first message needs no
        // expectation (JetStream forgets the last id of a stream idle past its window).
        link_->publish(messages, resynced ? std::string() : last_id);
        last_id = messages.back().msg_id;
        stream_last = std::stoull(last_id);
        resynced = false;
        probe_->published_.Increment(static_cast<double>(messages.size()));
        if (oldest != 0) {
          probe_->delay_.observe(static_cast<double>(bus::wall_us() - oldest) / 1e6);
        }
      }
      cursor.advance(batch.last_row);
      delivered_row = batch.last_row;
      probe_->lag(batch.committed, delivered_row);
      if (failures > 0) {
        log->info("export to JetStream: working again after {} failures", failures);
        failures = 0;
        backoff.reset();
      }
    } catch (const std::exception& e) {
      // Start again from the durable position with a new link and session: nothing of the
      // failed round counts, and what it did deliver comes back as duplicates.
      link_.reset();
      cursor.reset();
      fresh = true;
      probe_->up_.Set(0);
      try {
        // The lag keeps growing while the broker is away: say so.
        if (delivered_row == 0) delivered_row = cursor.position();
        probe_->lag(cursor.committed(), delivered_row);
      } catch (const std::exception&) {
        cursor.reset();  // the database is away too: the lag stays as last measured
      }
      probe_->failures_.Increment();
      ++failures;
      const std::chrono::milliseconds wait = backoff.next();
      // One line per failure while it lasts would be a line per backoff step: log the first
      // few and then every 20th.
      if (failures <= 3 || failures % 20 == 0) {
        log->warn("export to JetStream failed attempt={} retry_in_ms={} error={}", failures,
                  wait.count(), e.what());
      }
      sleep_unless_stopped(wait);
    }
  }
  link_.reset();
  probe_->up_.Set(0);
}

}  // namespace matchd::event_export
