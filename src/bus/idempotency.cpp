#include <matchd/bus/idempotency.h>
#include <matchd/bus/messages.h>
#include <matchd/engine/hash_mix.h>

#include <functional>

namespace matchd::bus {

namespace {

// FNV-1a over a length-prefixed canonical encoding, then a murmur3 finalizer for
// avalanche. Persisted (see the header): never change what it produces.
class fingerprint_hasher {
 public:
  void bytes(std::string_view s) noexcept {
    for (const char c : s) {
      h_ ^= static_cast<unsigned char>(c);
      h_ *= 0x100000001b3ULL;
    }
  }
  void u64(std::uint64_t v) noexcept {
    for (int i = 0; i < 8; ++i) {
      h_ ^= (v >> (8 * i)) & 0xFF;
      h_ *= 0x100000001b3ULL;
    }
  }
  void text(std::string_view s) noexcept {
    u64(s.size());
    bytes(s);
  }
  std::uint64_t finish() const noexcept { return engine::fmix64(h_); }

 private:
  std::uint64_t h_ = 0xcbf29ce484222325ULL;
};

}  // namespace

std::size_t idempotency_scope_hash::operator()(const idempotency_scope& s) const noexcept {
  const std::size_t a = std::hash<std::string_view>{}(s.client.view());
  const std::size_t b = std::hash<std::string_view>{}(s.key.view());
  return a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
}

std::uint64_t request_fingerprint(const engine::place_order& order,
                                  std::string_view instrument_symbol, bool client_order_id,
                                  std::string_view client_label) {
  fingerprint_hasher h;
  h.text("matchd.order.v1");
  h.text(order.client.view());
  h.text(instrument_symbol);
  h.u64(static_cast<std::uint64_t>(order.order_side));
  h.u64(static_cast<std::uint64_t>(order.type));
  h.u64(static_cast<std::uint64_t>(order.tif));
  h.u64(static_cast<std::uint64_t>(order.price.value));
  h.u64(static_cast<std::uint64_t>(order.quantity.value));
  h.u64(client_order_id ? 1 : 0);
  if (client_order_id) h.text(order.id.view());
  if (order.stp != engine::stp_mode::cancel_taker || order.post_only || !client_label.empty()) {
    h.text("options");
    h.u64(static_cast<std::uint64_t>(order.stp));
    h.u64(order.post_only ? 1 : 0);
    h.text(client_label);
  }
  // Only when set, so every fingerprint stored before stop orders existed still matches.
  if (order.stop_price.value != 0) {
    h.text("stop");
    h.u64(static_cast<std::uint64_t>(order.stop_price.value));
  }
  return h.finish();
}

bool holds_key(const command_outcome& c) noexcept {
  return !c.idempotency.empty() && c.kind == request_kind::place &&
         c.outcome == outcome_kind::executed && c.error == engine::errc::ok;
}

std::string reused_key_message(std::string_view key) {
  return "idempotency key " + std::string(key) + " was already used with a different request";
}

idempotency_decision idempotency_table::decide(const engine::client_id& client,
                                               const idempotency_key& key,
                                               std::uint64_t fingerprint) {
  const auto [e, inserted] =
      entries_.try_emplace(idempotency_scope{client, key}, entry{fingerprint, kPending});
  if (inserted) return {idempotency_verdict::first_use};
  if (e->sequence == kPending) return {idempotency_verdict::pending};
  if (e->fingerprint == fingerprint) return {idempotency_verdict::replay, e->sequence};
  return {idempotency_verdict::conflict};
}

void idempotency_table::settle(const engine::client_id& client, const idempotency_key& key,
                               engine::errc error, engine::sequence_number sequence,
                               engine::timestamp_us at) {
  const idempotency_scope scope{client, key};
  if (error == engine::errc::ok) {
    entries_.find(scope)->sequence = sequence;
    if (horizon_us_ != 0) expiry_.push(at, held{scope, sequence});
  } else {
    entries_.erase(scope);
  }
}

void idempotency_table::restore(const engine::client_id& client, const idempotency_key& key,
                                std::uint64_t fingerprint, engine::sequence_number sequence,
                                engine::timestamp_us at) {
  const idempotency_scope scope{client, key};
  entries_.insert_or_assign(scope, entry{fingerprint, sequence});
  if (horizon_us_ != 0) expiry_.push(at, held{scope, sequence});
}

}  // namespace matchd::bus
