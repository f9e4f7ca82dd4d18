#pragma once

// Idempotent placements: the whole rule in one place.
//
// The contract (docs/api.md, POST /orders): a placement may carry an idempotency key (body
// `idempotency_key` or header `Idempotency-Key`). The same (client_id, key) with the same
// request gets the first response again (200, `Idempotent-Replayed: true`) and never
// matches twice, also across restarts; the same key with a different request is 409
// `idempotency_key_reused`.
//
// What is remembered, per key:
//   - the key: (client_id, idempotency_key), both 1-64 chars of [A-Za-z0-9._:-]
//     (engine::valid_id); two clients may use the same key independently
//     (idempotency_scope);
//   - the fingerprint: a hash of the normalized request (request_fingerprint), so a retry
//     written differently ("1.50" vs 1.5, fields reordered, key in header vs body) is
//     still a replay; only the order's meaning counts;
//   - the sequence of the command that first used it, and that command's first response
//     bytes, so a replay sends exactly what the original got.
// Only a placement that took effect holds its key (holds_key): one the engine rejected
// (duplicate order_id, unknown instrument...) releases it, so a corrected retry can run.
// A placement rejected before the engine (400) never reaches this rule.
//
// Where, stage by stage (the pipeline gateway -> engine stage -> store -> publish):
//   - gateway (codec/order_request.cpp): validates the key, body vs header, and stamps
//     engine_request::fingerprint with request_fingerprint().
//   - engine stage (sequencer/engine_stage.cpp): idempotency_table, key -> (fingerprint,
//     sequence). It decides (decide()): first use, replay, conflict, or wait while the
//     key's first use is still inside the engine. The engine thread decides because it is
//     the one place that sees commands in sequence order: a retry racing its original is
//     ordered after it. settle() then keeps or releases the key.
//   - store (store/store_stage.cpp): writes each keyed placement that took effect as a row
//     of the `idempotency_keys` table (client_id, idempotency_key, fingerprint, sequence,
//     order_id, response, created_at_us; sql/001_init.sql), in the same transaction as the
//     journal row of its command, so an acknowledged key is a durable key. It renders the
//     response there, once, and hands the same bytes to the publish stage.
//   - publish stage (publish/publish_stage.cpp): sequence -> first response bytes, for
//     replays; answers replays (200) and conflicts (409, reused_key_message()).
//   - recovery (store/recovery.cpp, app/daemon.cpp): reads every row of idempotency_keys
//     and gives (key, fingerprint, sequence) to the engine stage (restore()) and
//     (sequence, response) to the publish stage.
//
// For how long: the retention horizon (--retention, default 24 h). A key is honoured for
// at least the horizon after its first use; after it, the key is forgotten and the same
// (client_id, key) is a new request. The engine stage forgets it (expire()) and tells the
// publish stage which first responses to drop, in the batch that follows, so a replay
// decided before the expiry still finds its response. The store keeps every row (the
// table's key is the sequence, so a key used again after the horizon is a new row), and
// recovery loads only the keys created within the horizon.
//
// The fingerprint's encoding is persisted with the keys: changing it turns every stored
// key into a conflict for its own retries. Bump its version tag ("matchd.order.v1") only
// with a migration.

#include <matchd/bus/incremental_map.h>
#include <matchd/engine/command.h>
#include <matchd/engine/errc.h>
#include <matchd/engine/expiry_queue.h>
#include <matchd/engine/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace matchd::bus {

using idempotency_key = engine::fixed_string<engine::kMaxIdLength>;

// The scope of a key: one client's key.
struct idempotency_scope {
  engine::client_id client;
  idempotency_key key;
  bool operator==(const idempotency_scope&) const = default;
};

struct idempotency_scope_hash {
  std::size_t operator()(const idempotency_scope& s) const noexcept;
};

// The normalized request: the order's meaning in engine units, with its instrument's
// symbol (not its index, which depends on the configuration) and whether the client chose
// the order_id (an order_id the server assigned is not part of the request). The order
// options (stp, post_only, client_order_id) count only when not their defaults, so a
// request that uses none hashes as it did before they existed. Pure.
std::uint64_t request_fingerprint(const engine::place_order& order,
                                  std::string_view instrument_symbol, bool client_order_id,
                                  std::string_view client_label = {});

struct command_outcome;

// Whether a command holds its key, so that its first response is kept (publish stage) and
// persisted (store): a keyed placement the engine executed without error.
bool holds_key(const command_outcome& c) noexcept;

// The message of the 409 idempotency_key_reused answer.
std::string reused_key_message(std::string_view key);

// What decide() says about a keyed placement.
enum class idempotency_verdict : std::uint8_t {
  first_use,  // run it; the key is now pending until settle()
  pending,    // the key's first use is still in the engine: decide again once it settles
  replay,     // same request as the key's first use: answer with that one's response
  conflict,   // same key, different request: 409
};

struct idempotency_decision {
  idempotency_verdict verdict = idempotency_verdict::first_use;
  engine::sequence_number replay_of = 0;  // verdict == replay: the first use's sequence
};

// The engine stage's memory of keys. Called on the engine thread only (not thread-safe).
// Grows by an incremental rehash (bus::incremental_map), so no call stalls the engine.
class idempotency_table {
 public:
  // Keys are forgotten `horizon_us` after their first use; 0 keeps them for ever.
  explicit idempotency_table(engine::timestamp_us horizon_us = 0) : horizon_us_(horizon_us) {}

  // A keyed placement arrives. On first use the key is recorded as pending.
  idempotency_decision decide(const engine::client_id& client, const idempotency_key& key,
                              std::uint64_t fingerprint);
  // The first use of a key came back from the engine: it holds the key if it took effect
  // (error ok, as holds_key says), otherwise the key is released. `at` is when the command
  // was received (its wall-clock stamp): the horizon counts from there.
  void settle(const engine::client_id& client, const idempotency_key& key, engine::errc error,
              engine::sequence_number sequence, engine::timestamp_us at = 0);
  // Recovery (before the engine runs): a key held by command `sequence`, first used at
  // `at`. Oldest first.
  void restore(const engine::client_id& client, const idempotency_key& key,
               std::uint64_t fingerprint, engine::sequence_number sequence,
               engine::timestamp_us at = 0);

  // Forgets up to `budget` keys first used at or before `now - horizon`, oldest first,
  // passing the sequence of each forgotten key's first use to `forgotten` (its response
  // may go). Returns how many were looked at. Nothing expires without a horizon.
  template <class F>
  std::size_t expire(engine::timestamp_us now, std::size_t budget, F&& forgotten) {
    if (horizon_us_ == 0) return 0;
    return expiry_.expire_due(now - horizon_us_, budget, [&](const held& h) {
      const entry* e = entries_.find(h.scope);
      // Released or taken again since (a key first used again after an expiry of its
      // own is queued again): only the use this entry recorded is forgotten.
      if (e == nullptr || e->sequence != h.sequence) return;
      entries_.erase(h.scope);
      forgotten(h.sequence);
    });
  }

  std::size_t size() const noexcept { return entries_.size(); }

 private:
  struct entry {
    std::uint64_t fingerprint;
    engine::sequence_number sequence;  // kPending while the first use is in the engine
  };
  struct held {
    idempotency_scope scope;
    engine::sequence_number sequence;
  };
  // No command that took effect has sequence 0.
  static constexpr engine::sequence_number kPending = 0;

  engine::timestamp_us horizon_us_;
  incremental_map<idempotency_scope, entry, idempotency_scope_hash> entries_;
  engine::expiry_queue<held> expiry_;  // held keys, oldest first (only with a horizon)
};

}  // namespace matchd::bus
