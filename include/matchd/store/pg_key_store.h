#pragma once

#include <matchd/auth/key_registry.h>
#include <matchd/store/store_stage.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace matchd::store {

class call_deadline;
struct db_connection;

// The API keys in PostgreSQL (table api_keys, sql/005_api_keys.sql), on a session of its
// own: the key registry's thread, or `matchd keys`, is its only user (not thread-safe).
//
// The session is opened on the first call and replaced after any failure, so the call
// after an outage reconnects. Every call is bounded by `timeout` (libpq's connect_timeout
// through the session settings, then store/call_deadline.h for the statement); a call that
// fails throws std::runtime_error with the reason, and nothing is half-written (each call
// is one statement).
class pg_key_store final : public auth::key_store {
 public:
  // `conninfo` with the session settings (store/session_settings.h).
  explicit pg_key_store(std::string conninfo,
                        std::chrono::milliseconds timeout = kDefaultDbTimeout);
  ~pg_key_store() override;
  pg_key_store(const pg_key_store&) = delete;
  pg_key_store& operator=(const pg_key_store&) = delete;

  void insert(const auth::key_record& r) override;
  std::optional<auth::key_record> revoke(auth::key_id id, engine::timestamp_us at) override;
  std::vector<auth::key_record> load_all() override;
  bool durable() const noexcept override { return true; }

 private:
  template <class Work>
  auto run(const char* what, Work&& work);

  std::string conninfo_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<call_deadline> deadline_;
  std::unique_ptr<db_connection> connection_;
};

}  // namespace matchd::store
