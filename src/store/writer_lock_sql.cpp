#include "writer_lock_sql.h"

#include <matchd/store/writer_lock.h>

#include <pqxx/pqxx>

namespace matchd::store {

namespace {

const std::string kKey = std::to_string(kWriterLockKey);
constexpr auto kHigh = static_cast<std::uint32_t>(static_cast<std::uint64_t>(kWriterLockKey) >> 32);
constexpr auto kLow = static_cast<std::uint32_t>(static_cast<std::uint64_t>(kWriterLockKey));

// The writer lock's row of pg_locks, for this database.
const std::string kLockRow =
    "l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
    " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    " AND l.classid = '" +
    std::to_string(kHigh) + "'::oid AND l.objid = '" + std::to_string(kLow) + "'::oid";

}  // namespace

bool try_writer_lock(pqxx::transaction_base& tx) {
  return tx.exec1("SELECT pg_try_advisory_lock(" + kKey + ")")[0].as<bool>();
}

std::optional<writer_lock_holder> find_writer_lock_holder(pqxx::transaction_base& tx) {
  const pqxx::result r = tx.exec(
      "SELECT l.pid, current_database(), coalesce(host(a.client_addr), 'a Unix socket or an "
      "address not shown to this role'),"
      " coalesce(a.application_name, ''), coalesce(to_char(a.backend_start AT TIME ZONE 'UTC',"
      " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '?')"
      " FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid WHERE " +
      kLockRow);
  if (r.empty()) return std::nullopt;
  writer_lock_holder h;
  h.pid = r[0][0].as<int>();
  h.description = "database \"" + r[0][1].as<std::string>() + "\" is held by PostgreSQL session " +
                  std::to_string(h.pid) + " (application_name '" + r[0][3].as<std::string>() +
                  "', from " + r[0][2].as<std::string>() + ", since " + r[0][4].as<std::string>() +
                  ")";
  return h;
}

std::string writer_lock_held_by_sql(int pid) {
  return "EXISTS (SELECT 1 FROM pg_locks l WHERE " + kLockRow +
         " AND l.pid = " + std::to_string(pid) + ")";
}

}  // namespace matchd::store
