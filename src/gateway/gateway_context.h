#pragma once

#include <matchd/gateway/server.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <vector>

#include "connection_limits.h"
#include "credentials.h"
#include "gateway_probe.h"

namespace matchd::gateway {

// State shared by every I/O thread: configuration and a few atomics. Nothing here is
// locked; what each thread owns alone lives in io_thread.
struct gateway_context {
  server_options options;
  // The configured instruments; each I/O thread keeps its own list, which also learns those
  // added at runtime (io_thread::instruments).
  std::vector<engine::instrument> instruments;
  pipeline_hooks hooks;
  obs::registry& registry;
  obs::order_flow_metrics& order_flow;
  gateway_probe probe;
  std::atomic<std::size_t> inflight{0};
  connection_limits limits;  // after probe, which it counts in
  std::atomic<bool> stopping{false};
  // False until recovery has rebuilt the books: until then only health, readiness and
  // metrics are served and everything else is 503 not_ready.
  std::atomic<bool> accepting{true};
  // The process's keys (server::use_keys); null until then (every key is then unknown).
  auth::key_registry* keys = nullptr;
  // Candles, range statistics and trades by time (server::use_history); null in memory mode.
  analytics::history_source* history = nullptr;
  // Settlements (server::use_settlements); null in memory mode.
  clearing::settlement_source* settlements = nullptr;
  // Webhooks (server::use_webhooks); null in memory mode.
  event_export::webhook_source* webhooks = nullptr;
  // Where a webhook may point (--webhook-allow-http, --webhook-allow-private).
  event_export::webhook_destinations webhook_destinations;
  // One on-demand snapshot in flight per instrument: POST /admin/snapshots meanwhile is 429.
  std::unique_ptr<std::atomic<bool>[]> snapshot_in_flight;

  gateway_context(server_options o, std::vector<engine::instrument> ins, pipeline_hooks h,
                  obs::registry& r, obs::order_flow_metrics& flow)
      : options(std::move(o)),
        instruments(std::move(ins)),
        hooks(std::move(h)),
        registry(r),
        order_flow(flow),
        probe(r),
        limits(options.max_connections, options.max_connections_per_address, probe),
        snapshot_in_flight(new std::atomic<bool>[max_instruments()]) {
    for (std::size_t i = 0; i < max_instruments(); ++i) snapshot_in_flight[i] = false;
  }

  // Room for the instruments added at runtime too.
  std::size_t max_instruments() const {
    return std::max(instruments.size(), engine::kDefaultMaxInstruments);
  }
};

}  // namespace matchd::gateway
