#include <matchd/obs/logger.h>
#include <matchd/store/migrations.h>

#include <pqxx/pqxx>
#include <set>

namespace matchd::store {

namespace {
constexpr long long kMigrationLockKey = 0x6d61746368640001;  // "matchd" + 1
}

std::vector<int> apply_migrations(const std::string& conninfo) {
  pqxx::connection c(conninfo);
  pqxx::work tx(c);
  tx.exec0("SET LOCAL client_min_messages = warning");
  tx.exec("SELECT pg_advisory_xact_lock(" + std::to_string(kMigrationLockKey) + ")");
  tx.exec0(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      " version int PRIMARY KEY, name text NOT NULL,"
      " applied_at timestamptz NOT NULL DEFAULT now())");
  std::set<int> applied;
  for (const auto& row : tx.exec("SELECT version FROM schema_migrations")) {
    applied.insert(row[0].as<int>());
  }
  std::vector<int> done;
  for (const migration& m : migrations()) {
    if (applied.contains(m.version)) continue;
    tx.exec0(std::string(m.sql));
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
// GCC 12 at -O3 reports a bogus -Wrestrict inside libstdc++'s `"literal" + std::string&&`,
// which libpqxx's quote() uses (GCC bug 105651; Debian 12 ships GCC 12.2).
#pragma GCC diagnostic ignored "-Wrestrict"
#endif
    tx.exec0("INSERT INTO schema_migrations (version, name) VALUES (" + std::to_string(m.version) +
             ", " + tx.quote(std::string(m.name)) + ")");
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
    done.push_back(m.version);
  }
  tx.commit();
  auto log = obs::logger("store");
  for (int v : done) log->info("migration applied version={}", v);
  return done;
}

}  // namespace matchd::store
