#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace matchd::store {

// The key of the writer lock: a session-level PostgreSQL advisory lock, in its bigint form
// ("matchd" + 2; the migrations take "matchd" + 1 for one transaction). Advisory locks belong
// to a database, so the lock is per database. The daemon whose writer session holds it is the
// only one that writes that database (docs/design.md, "One writer per database").
inline constexpr std::int64_t kWriterLockKey = 0x6d61746368640002;

// Another session, not one of this daemon's, holds the writer lock. what() says which database
// and which session (its PostgreSQL pid, client address and start), in one line.
class writer_lock_held : public std::runtime_error {
 public:
  writer_lock_held(int holder_pid, const std::string& description)
      : std::runtime_error(description), holder_pid_(holder_pid) {}
  // The backend pid of the holding session (for pg_terminate_backend).
  [[nodiscard]] int holder_pid() const noexcept { return holder_pid_; }

 private:
  int holder_pid_;
};

}  // namespace matchd::store
