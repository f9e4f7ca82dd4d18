#pragma once

#include <pqxx/connection>
#include <string>

namespace matchd::store {

// A pqxx::connection (an alias in libpqxx 6.4, so not declarable in public headers).
// Reactivation is inhibited: libpqxx 6.4 would otherwise open a new session silently when a
// broken one is used again, and a new session holds neither the writer lock
// (store/writer_lock.h) nor the settings made on the old one. A broken connection is always
// replaced by a new db_connection instead.
struct db_connection {
  explicit db_connection(const std::string& conninfo) : c(conninfo) {
#include <pqxx/internal/ignore-deprecated-pre.hxx>
    c.inhibit_reactivation(true);
#include <pqxx/internal/ignore-deprecated-post.hxx>
  }
  pqxx::connection c;
};

}  // namespace matchd::store
