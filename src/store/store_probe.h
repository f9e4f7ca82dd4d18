#pragma once

#include <matchd/obs/atomic_histogram.h>
#include <matchd/obs/metrics.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>

#include "table_writer.h"

namespace matchd::store {

// The writer's and the journal applier's metrics: batch sizes, commit and apply latency,
// rows written, how far the tables trail the journal, failures and retries.
class store_probe {
 public:
  explicit store_probe(obs::registry& r)
      : group_commands_(r.add_histogram(
            "store_batch_commands", "Commands per committed transaction (group commit size)",
            {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192})),
        commit_seconds_(r.add_histogram("store_commit_seconds",
                                        "Time to write and commit one batch transaction",
                                        obs::latency_buckets())),
        rows_(prometheus::BuildCounter()
                  .Name("store_rows_written_total")
                  .Help("Rows written to PostgreSQL, by table")
                  .Register(r)),
        errors_(prometheus::BuildCounter()
                    .Name("store_database_errors_total")
                    .Help("Failed transactions and connection attempts")
                    .Register(r)
                    .Add({})),
        retries_(prometheus::BuildCounter()
                     .Name("store_retries_total")
                     .Help("Transactions retried after a failure")
                     .Register(r)
                     .Add({})),
        apply_seconds_(r.add_histogram(
            "store_apply_seconds",
            "Time to turn journal rows into table rows and commit them (one applier transaction)",
            obs::latency_buckets())),
        journal_lag_(prometheus::BuildGauge()
                         .Name("store_journal_lag")
                         .Help("Sequence numbers by which the orders, order_events and trades "
                               "tables trail the committed journal")
                         .Register(r)
                         .Add({})),
        up_(prometheus::BuildGauge()
                .Name("store_database_up")
                .Help("1 while the last database operation succeeded")
                .Register(r)
                .Add({})),
        order_rows_(rows_.Add({{"table", "orders"}})),
        event_rows_(rows_.Add({{"table", "order_events"}})),
        trade_rows_(rows_.Add({{"table", "trades"}})),
        candle_rows_(rows_.Add({{"table", "candles"}})),
        key_rows_(rows_.Add({{"table", "idempotency_keys"}})),
        journal_rows_(rows_.Add({{"table", "journal"}})) {
    up_.Set(1);
  }

  void committed(double commands, double seconds) {
    group_commands_.observe(commands);
    commit_seconds_.observe(seconds);
  }
  void written(double journal_rows, double keys) {
    journal_rows_.Increment(journal_rows);
    key_rows_.Increment(keys);
  }
  void applied(const table_rows& rows, double seconds) {
    order_rows_.Increment(static_cast<double>(rows.orders));
    event_rows_.Increment(static_cast<double>(rows.order_events));
    trade_rows_.Increment(static_cast<double>(rows.trades));
    candle_rows_.Increment(static_cast<double>(rows.candles));
    apply_seconds_.observe(seconds);
  }
  void set_journal_lag(double sequences) { journal_lag_.Set(sequences); }
  void failed() { errors_.Increment(); }
  void retried() { retries_.Increment(); }
  void set_up(bool up) { up_.Set(up ? 1 : 0); }

 private:
  obs::atomic_histogram& group_commands_;
  obs::atomic_histogram& commit_seconds_;
  prometheus::Family<prometheus::Counter>& rows_;
  prometheus::Counter& errors_;
  prometheus::Counter& retries_;
  obs::atomic_histogram& apply_seconds_;
  prometheus::Gauge& journal_lag_;
  prometheus::Gauge& up_;
  prometheus::Counter& order_rows_;
  prometheus::Counter& event_rows_;
  prometheus::Counter& trade_rows_;
  prometheus::Counter& candle_rows_;  // buckets inserted or extended
  prometheus::Counter& key_rows_;
  prometheus::Counter& journal_rows_;
};

}  // namespace matchd::store
