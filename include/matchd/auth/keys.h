#pragma once

// API keys: what a key is, how a secret is recognised, and how fast a key may trade.
// Nothing here touches the network or the database; see auth/key_registry.h for the
// process's set of keys and where they are kept (store/pg_key_store.h in PostgreSQL).

#include <matchd/engine/client_scope.h>
#include <matchd/engine/key_id.h>
#include <matchd/engine/types.h>

#include <array>
#include <atomic>
#include <boost/unordered/unordered_flat_map.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace matchd::auth {

enum class role : std::uint8_t { viewer, trader, admin };
std::string_view to_string(role r) noexcept;
std::optional<role> parse_role(std::string_view s) noexcept;

// Who may call a route or read a stream channel; every route of the route table names one.
enum class access : std::uint8_t {
  operational,   // health, readiness, metrics: never a key, served while recovering
  public_read,   // market data and public stream channels: no key
  account_read,  // a client's orders (and later positions) and private channels: viewer and up
  trade,         // order entry (place, cancel): trader and up
  admin,         // operator actions: admin only
};
std::string_view to_string(access a) noexcept;
// Whether a key of role `r` may use something that needs `a` (client binding aside).
bool allows(role r, access a) noexcept;

// A key's public id (engine/key_id.h: 16 hex digits; 0 means no key).
using engine::format_key_id;
using engine::key_id;
using engine::parse_key_id;

// SHA-256 of a secret. Secrets are 256 random bits, so a fast unsalted hash is enough:
// nobody can search a space of 2^256 guesses, salted or not, and a slow hash would only
// slow every request down.
using secret_digest = std::array<std::uint8_t, 32>;
secret_digest digest_of(std::string_view secret);

// A new secret: "mk_" and 64 lowercase hex digits of 32 bytes from OpenSSL's RNG. Throws
// std::runtime_error when the RNG fails (never a weaker secret).
std::string generate_secret();
// A new, random, non-zero key id (OpenSSL's RNG).
key_id generate_key_id();

// The bootstrap admin key from MATCHD_ADMIN_KEY must be at least this long.
inline constexpr std::size_t kMinBootstrapSecret = 32;
// Why `secret` cannot be the bootstrap admin key (shorter than kMinBootstrapSecret, or a
// character that is not printable ASCII or is a space, which no Authorization header could
// carry), or empty when it can.
std::string bootstrap_secret_problem(std::string_view secret);

// A key as it is stored and listed: never its secret, only the secret's digest.
struct key_record {
  key_id id = 0;
  role key_role = role::viewer;
  std::vector<engine::client_id> client_ids;  // empty for admin keys
  std::string label;
  // Orders per second and burst of this key; nullopt: the server's --rate-limit and
  // --rate-burst.
  std::optional<std::uint32_t> rate_limit;
  std::optional<std::uint32_t> rate_burst;
  engine::timestamp_us created_at = 0;
  engine::timestamp_us revoked_at = 0;  // 0: live
  secret_digest digest{};
  bool bootstrap = false;  // MATCHD_ADMIN_KEY: never stored, never listed
};

// A token bucket (as GCRA: one atomic "theoretical arrival time"), exact across threads
// without a lock: admit() is one compare-and-swap loop.
class rate_bucket {
 public:
  // `rate` per second, bursts up to `burst` (>= 1). rate == 0: no limit.
  rate_bucket(double rate, double burst) noexcept;
  bool enabled() const noexcept;
  // 0 when admitted; otherwise the whole seconds (>= 1) to wait, for Retry-After.
  int admit(std::int64_t now_ns) noexcept;

 private:
  std::int64_t interval_ns_ = 0;   // time one token takes to come back
  std::int64_t tolerance_ns_ = 0;  // (burst - 1) * interval
  std::atomic<std::int64_t> tat_{0};
};

// What a request carries once its key is recognised. Shared by every I/O thread's key
// table and the sessions that authenticated with it; only the bucket and the revoked flag
// change after construction.
class principal {
 public:
  // `default_rate`/`default_burst`: --rate-limit/--rate-burst, for a key without its own.
  principal(key_record record, double default_rate, double default_burst);

  const key_record& record() const noexcept { return record_; }
  key_id id() const noexcept { return record_.id; }
  role key_role() const noexcept { return record_.key_role; }
  // Null for an admin (every client); otherwise the key's client_ids.
  const engine::client_scope& scope() const noexcept { return scope_; }
  bool may_act_for(const engine::client_id& c) const noexcept {
    return engine::in_scope(scope_, c);
  }
  rate_bucket& bucket() noexcept { return bucket_; }

  bool revoked() const noexcept { return revoked_.load(std::memory_order_acquire); }
  void mark_revoked() noexcept { revoked_.store(true, std::memory_order_release); }

 private:
  key_record record_;
  engine::client_scope scope_;
  rate_bucket bucket_;
  std::atomic<bool> revoked_{false};
};

// An immutable lookup from secret to principal. The registry builds a new table on every
// change and hands it to each I/O thread, which swaps its own pointer: a lookup takes no
// lock and sees either the old set of keys or the new one.
class key_table {
 public:
  void add(std::shared_ptr<principal> p);
  // The live key whose secret this is; null when unknown or revoked. Hashes the secret
  // and compares digests in constant time (CRYPTO_memcmp).
  std::shared_ptr<principal> find(std::string_view secret) const;
  std::shared_ptr<principal> find_id(key_id id) const;
  std::size_t size() const noexcept { return by_id_.size(); }

 private:
  // Keyed by the digest's first 8 bytes; the whole digest is compared after.
  boost::unordered_flat_map<std::uint64_t, std::vector<std::shared_ptr<principal>>> by_prefix_;
  boost::unordered_flat_map<key_id, std::shared_ptr<principal>> by_id_;
};

}  // namespace matchd::auth
