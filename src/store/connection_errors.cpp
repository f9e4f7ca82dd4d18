#include <libpq-fe.h>
#include <matchd/store/connection_errors.h>

#include <array>
#include <memory>

namespace matchd::store {

std::string conninfo_syntax_error(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  const std::unique_ptr<char, decltype(&PQfreemem)> error_owner(error, &PQfreemem);
  if (options != nullptr) {
    PQconninfoFree(options);
    return {};
  }
  std::string text = error != nullptr ? error : "cannot parse the connection string";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

connect_failure classify_connect_error(std::string_view message) {
  // The server's FATAL messages for errors of class 28 (invalid authorization) and 3D
  // (invalid catalog name), and libpq's own when it has no password to send.
  static constexpr std::array<std::string_view, 5> kRejected = {
      "authentication failed",       // password, md5, scram, ident, peer, ...
      "no pg_hba.conf entry",        //
      "no password supplied",        // fe_sendauth
      "is not permitted to log in",  // role without LOGIN
      "permission denied for database",
  };
  for (const std::string_view needle : kRejected) {
    if (message.find(needle) != std::string_view::npos) return connect_failure::rejected;
  }
  // role "x" does not exist / database "x" does not exist
  if (message.find("does not exist") != std::string_view::npos &&
      (message.find("role \"") != std::string_view::npos ||
       message.find("database \"") != std::string_view::npos)) {
    return connect_failure::rejected;
  }
  return connect_failure::unreachable;
}

}  // namespace matchd::store
