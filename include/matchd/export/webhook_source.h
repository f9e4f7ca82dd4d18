#pragma once

#include <matchd/engine/client_scope.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace matchd::event_export {

// Where the gateway sends the webhook routes (event_export::webhook_service, durable mode).
// Each call answers exactly once, possibly on another thread, with the body or why there is
// none (the body is then the error's message).
class webhook_source {
 public:
  enum class status : std::uint8_t {
    created,             // 201
    ok,                  // 200
    accepted,            // 202: a retry queued
    webhook_not_found,   // 404
    delivery_not_found,  // 404
    not_dead,            // 409: only a dead delivery is retried
    too_many,            // 409: the limit of webhooks (per client, or in all)
    overloaded,          // 503: the queue is full
    unavailable,         // 503: the database is away
  };
  using done_fn = std::function<void(status, std::string body)>;

  struct registration {
    std::string url;                       // parsed and checked by the gateway
    std::vector<std::string> events;       // known event types, deduplicated
    std::optional<std::string> client_id;  // none: every client (an unscoped caller only)
    std::string created_by;                // the key's id, empty without keys
  };

  virtual ~webhook_source() = default;
  virtual void create(registration r, done_fn done) = 0;
  virtual void list(engine::client_scope scope, done_fn done) = 0;
  virtual void remove(std::uint64_t webhook_id, engine::client_scope scope, done_fn done) = 0;
  // `status`: pending, delivered, dead, or empty for all.
  virtual void deliveries(std::uint64_t webhook_id, std::string status, std::size_t limit,
                          std::optional<std::uint64_t> before, engine::client_scope scope,
                          done_fn done) = 0;
  virtual void retry(std::uint64_t delivery_id, engine::client_scope scope, done_fn done) = 0;
};

// The event types a webhook may ask for: an order's new status, a trade, and the wildcards
// `order.*` and `*`.
inline const std::vector<std::string>& webhook_event_types() {
  static const std::vector<std::string> kTypes = {"order.open",     "order.partially_filled",
                                                  "order.filled",   "order.cancelled",
                                                  "order.rejected", "trade",
                                                  "order.*",        "*"};
  return kTypes;
}

}  // namespace matchd::event_export
