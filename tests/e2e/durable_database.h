#pragma once

#include <optional>
#include <string>

namespace matchd::e2e {

// The e2e suites run twice: in memory, and in durable mode against a PostgreSQL cluster the
// CTest fixture `e2e_pg` starts (tests/e2e/e2e-pg.sh) and names in the file
// $MATCHD_E2E_PG_FILE (a libpq connection string without dbname). In durable mode each
// daemon gets a database of its own, created empty and dropped when the daemon is done, so
// tests stay independent and may run in parallel.

// True when the suite runs in durable mode.
bool durable_mode();

// A fresh, empty database on the fixture's cluster; dropped by the destructor.
class durable_database {
 public:
  durable_database();  // throws std::runtime_error when the cluster is unreachable
  ~durable_database();
  durable_database(const durable_database&) = delete;
  durable_database& operator=(const durable_database&) = delete;

  // The daemon's --db value.
  [[nodiscard]] const std::string& conninfo() const noexcept { return conninfo_; }

 private:
  std::string server_;  // connection string of the cluster, without dbname
  std::string name_;
  std::string conninfo_;
};

}  // namespace matchd::e2e
