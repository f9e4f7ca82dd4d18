#pragma once

#include <matchd/engine/client_scope.h>
#include <matchd/engine/types.h>

#include <cstdint>
#include <optional>
#include <pqxx/transaction_base>
#include <string>
#include <vector>

namespace matchd::store {

// The webhooks and their deliveries in PostgreSQL (sql/019_webhooks.sql). Every function
// runs inside the caller's transaction; bodies are the API's JSON (docs/api.md, "Webhooks").

// A webhook as the dispatcher matches events against it.
struct webhook_subscription {
  std::uint64_t webhook_id = 0;
  std::vector<std::string> events;  // event types, "order.*" or "*"
  std::optional<std::string> client_id;
};

struct new_webhook {
  std::string url;
  std::vector<std::string> events;
  std::optional<std::string> client_id;  // none: every client's events
  std::string secret;
  std::string created_by;  // key id, empty without keys
  engine::timestamp_us now = 0;
};

// Inserts the webhook; returns {"webhook":{...,"secret"}} (the only time the secret is shown).
std::string create_webhook(pqxx::transaction_base& tx, const new_webhook& w);

// How many live webhooks there are, and how many of them are `client_id`'s.
struct webhook_counts {
  std::int64_t total = 0;
  std::int64_t of_client = 0;
};
webhook_counts count_webhooks(pqxx::transaction_base& tx, const std::optional<std::string>& client);

// {"webhooks":[...]}: the live webhooks the scope sees (null: all; else those of its clients),
// oldest first, without secrets.
std::string list_webhooks(pqxx::transaction_base& tx, const engine::client_scope& scope);

// Deletes the webhook (no deliveries after it; its pending ones become dead, "webhook
// deleted"); {"webhook":{...}}, or nullopt when the scope does not see a live one of that id.
std::optional<std::string> delete_webhook(pqxx::transaction_base& tx, std::uint64_t webhook_id,
                                          const engine::client_scope& scope,
                                          engine::timestamp_us now);

// {"deliveries":[...]} of the webhook, newest first, `status` (pending, delivered, dead; empty:
// any), up to `limit`, below `before` (a delivery_id); nullopt when the scope does not see the
// webhook.
std::optional<std::string> list_deliveries(pqxx::transaction_base& tx, std::uint64_t webhook_id,
                                           std::string_view status, std::size_t limit,
                                           std::optional<std::uint64_t> before,
                                           const engine::client_scope& scope);

// A dead delivery made pending again, due now, with a new retry horizon from now.
struct retry_outcome {
  enum class kind : std::uint8_t { retried, not_found, not_dead } what = kind::not_found;
  std::string body;  // {"delivery":{...}} when retried
};
retry_outcome retry_delivery(pqxx::transaction_base& tx, std::uint64_t delivery_id,
                             const engine::client_scope& scope, engine::timestamp_us now);

// The live webhooks, for the dispatcher.
std::vector<webhook_subscription> live_webhooks(pqxx::transaction_base& tx);

struct new_delivery {
  std::uint64_t webhook_id = 0;
  std::string event_id;
  std::string event_type;
  std::string body;
};
// Inserts the deliveries (a copy of an event already there for the webhook is skipped), due
// at once.
void insert_deliveries(pqxx::transaction_base& tx, const std::vector<new_delivery>& deliveries,
                       engine::timestamp_us now);

// A delivery to attempt: the oldest pending one of each webhook that is due and not `busy`.
struct due_delivery {
  std::uint64_t delivery_id = 0;
  std::uint64_t webhook_id = 0;
  std::string url;
  std::string secret;
  std::string event_id;
  std::string event_type;
  std::string body;
  std::int32_t attempts = 0;
  engine::timestamp_us horizon_from = 0;
};
std::vector<due_delivery> due_deliveries(pqxx::transaction_base& tx, engine::timestamp_us now,
                                         const std::vector<std::uint64_t>& busy, std::size_t max);

// What an attempt came to: delivered, or pending again at `next_attempt`, or dead.
struct attempt_record {
  std::uint64_t delivery_id = 0;
  enum class kind : std::uint8_t { delivered, retry, dead } what = kind::retry;
  int status = 0;  // 0: no HTTP answer
  std::string error;
  engine::timestamp_us at = 0;
  engine::timestamp_us next_attempt = 0;  // for retry
};
void record_attempt(pqxx::transaction_base& tx, const attempt_record& r);

}  // namespace matchd::store
