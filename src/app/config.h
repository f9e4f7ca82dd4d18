#pragma once

#include <matchd/engine/fees.h>
#include <matchd/engine/instrument.h>
#include <matchd/export/webhook_destination.h>
#include <matchd/feed/feed_options.h>
#include <matchd/gateway/server.h>
#include <matchd/store/store_stage.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace matchd::app {

struct config {
  gateway::server_options server;
  std::vector<engine::instrument> instruments;
  engine::fee_schedule fees;             // --fees MAKER_BPS,TAKER_BPS
  std::optional<int> settlement_minute;  // --settlement-time HH:MM, minutes after UTC midnight
  std::string ready_file;
  std::string log_level = "info";
  std::size_t expected_orders = 1 << 16;
  std::uint64_t journal_max_lag = store::kDefaultJournalMaxLag;
  // The retention horizon (--retention), microseconds: idempotency keys and finished orders
  // are forgotten this long after they were used / finished.
  std::int64_t retention_us = 24LL * 3600 * 1'000'000;
  std::string db;                             // libpq connection string; empty = in memory
  bool migrate_only = false;                  // `matchd migrate`: apply migrations and exit
  int snapshot_interval_s = 300;              // periodic book snapshots (durable mode); 0 = off
  std::optional<feed::feed_options> feed;     // --feed-url given: ingest a Binance trade stream
  std::string nats_url;                       // --nats-url: export committed events to JetStream
  std::string nats_stream = "MATCHD";         // --nats-stream
  bool nats_subjects_per_instrument = false;  // --nats-subjects instruments
  // --webhook-retry-horizon: how long a webhook delivery is retried before it is dead.
  std::chrono::milliseconds webhook_retry_horizon = std::chrono::hours(24);
  // --webhook-allow-http, --webhook-allow-private
  event_export::webhook_destinations webhook_destinations;
  // --db-timeout: how long a commit, a health check or a connection attempt may take
  std::chrono::milliseconds db_timeout = store::kDefaultDbTimeout;
  // MATCHD_ADMIN_KEY: the bootstrap admin key (never stored); server.auth_keys is --auth.
  std::optional<std::string> admin_key;
};

// Parses argv; on --help or an error prints to stdout/stderr and returns the exit code
// to end with. Environment variables (MATCHD_*) supply defaults that flags override.
struct parse_outcome {
  std::optional<config> cfg;
  int exit_code = 0;
};
parse_outcome parse_command_line(int argc, char** argv);

}  // namespace matchd::app
