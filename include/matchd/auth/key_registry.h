#pragma once

// The process's API keys: loaded at start, changed by the admin routes, and (with --db)
// by `matchd keys` from outside, noticed within a second. One thread of its own
// ("matchd-keys") does the database work, so no I/O thread ever waits on PostgreSQL.

#include <matchd/auth/keys.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace matchd::auth {

// Where keys are kept. store::pg_key_store keeps them in PostgreSQL (durable);
// memory_key_store only in this process (memory mode; the log says so).
class key_store {
 public:
  virtual ~key_store() = default;
  virtual void insert(const key_record& r) = 0;
  // Sets revoked_at if the key is live; returns the key as it now stands, or nullopt.
  virtual std::optional<key_record> revoke(key_id id, engine::timestamp_us at) = 0;
  virtual std::vector<key_record> load_all() = 0;  // revoked ones included
  virtual bool durable() const noexcept = 0;
};

std::unique_ptr<key_store> make_memory_key_store();

// What POST /admin/keys asks for (validated by the caller's codec).
struct key_request {
  role key_role = role::trader;
  std::vector<engine::client_id> client_ids;
  std::string label;
  std::optional<std::uint32_t> rate_limit;
  std::optional<std::uint32_t> rate_burst;
};

struct created_key {
  key_record record;
  std::string secret;  // shown once, never kept
};

struct registry_options {
  double default_rate = 0;                        // --rate-limit
  double default_burst = 0;                       // --rate-burst
  std::optional<std::string> bootstrap_secret;    // MATCHD_ADMIN_KEY
  std::chrono::milliseconds poll_interval{1000};  // re-reads the store for outside changes
};

class key_registry {
 public:
  key_registry(registry_options options, std::unique_ptr<key_store> store);
  ~key_registry();  // stops and joins the thread

  // Loads every key (throws on a store failure) and starts the thread. Listeners get the
  // first table before start() returns.
  void start();
  void stop();

  // The current table. Listeners are called on the registry's thread (and once from
  // start()) with each new table and the ids revoked since the previous one; the gateway
  // posts it to every I/O thread, which closes the sessions of revoked keys.
  using listener = std::function<void(std::shared_ptr<const key_table> table,
                                      const std::vector<key_id>& revoked)>;
  void add_listener(listener l);
  std::shared_ptr<const key_table> table() const;

  // Asynchronous: `done` runs on the registry's thread once the store has the change
  // (with the error text when it failed), after the listeners saw the new table.
  void create(key_request request,
              std::function<void(std::optional<created_key>, std::string error)> done);
  void revoke(key_id id, std::function<void(std::optional<key_record>, std::string error)> done);
  void list(std::function<void(std::vector<key_record>, std::string error)> done);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace matchd::auth
