#pragma once

#include <pqxx/connection>
#include <string>

namespace matchd::store {

// A pqxx::connection (an alias in libpqxx 6.4, so not declarable in public headers).
struct db_connection {
  explicit db_connection(const std::string& conninfo) : c(conninfo) {}
  pqxx::connection c;
};

}  // namespace matchd::store
