#pragma once

#include <optional>
#include <string>

namespace pqxx {
class transaction_base;
}  // namespace pqxx

namespace matchd::store {

// Whether this session now holds the writer lock (pg_try_advisory_lock: it never waits).
bool try_writer_lock(pqxx::transaction_base& tx);

struct writer_lock_holder {
  int pid = 0;              // the holding session's backend pid
  std::string description;  // database, pid, client address and start, for one log line
};

// The session holding the writer lock of this database, if any.
std::optional<writer_lock_holder> find_writer_lock_holder(pqxx::transaction_base& tx);

// An SQL condition: the writer lock of this database is held by the session with backend
// pid `pid` (pg_locks shows a bigint key as classid = high half, objid = low half,
// objsubid = 1).
std::string writer_lock_held_by_sql(int pid);

}  // namespace matchd::store
