#pragma once

#include <string>
#include <string_view>

namespace matchd::store {

// What a failed attempt to connect says about the next one.
enum class connect_failure {
  unreachable,  // refused, timed out, reset, server starting or full: worth retrying
  rejected,     // the server said no to who we are or what we asked for: retrying cannot help
};

// libpq's complaint about a connection string it cannot parse (unknown keyword, a missing
// "=", an unterminated quote, a bad URI), or "" when it parses. Connects to nothing.
std::string conninfo_syntax_error(const std::string& conninfo);

// Classifies the message of a failed connection (pqxx::broken_connection::what(), which is
// libpq's PQerrorMessage). `rejected`: authentication failed, no pg_hba.conf entry, the role
// or the database does not exist, the role may not log in or not connect to the database;
// everything else counts as `unreachable`. libpq gives no SQLSTATE for a failed connection,
// so this reads the server's words: in a server whose lc_messages is not English every
// failure looks `unreachable`, and is retried as before.
connect_failure classify_connect_error(std::string_view message);

}  // namespace matchd::store
