#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace matchd::store {

struct migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

// The SQL files of sql/, compiled into the binary in version order.
const std::vector<migration>& migrations();

// Applies the migrations not yet recorded in schema_migrations, each once, under an
// advisory lock so concurrent starters do not race. Returns the versions applied.
// Throws pqxx exceptions when the database is unreachable or a migration fails.
std::vector<int> apply_migrations(const std::string& conninfo);

}  // namespace matchd::store
