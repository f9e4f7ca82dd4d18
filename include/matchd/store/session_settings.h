#pragma once

#include <chrono>
#include <string>

namespace matchd::store {

// What matchd adds to the --db connection string for every session it opens, unless the
// string sets the parameter itself (docs/design.md, "Deadlines"):
// - connect_timeout: `timeout` rounded up to whole seconds, at least 2 (libpq's minimum). A
//   frozen postmaster still completes the TCP handshake, so only this ends the wait.
// - keepalives=1, keepalives_idle=5, keepalives_interval=2, keepalives_count=3: an idle
//   session whose server or network vanished without a word is found dead in about 11 s.
// - tcp_user_timeout: `timeout`; data sent and not acknowledged for that long (a cut
//   network) breaks the connection.
// - application_name=matchd, so pg_stat_activity says whose sessions these are.
// The result is a key='value' string whatever form `conninfo` had (a URI too). `conninfo`
// must parse (conninfo_syntax_error); throws std::invalid_argument otherwise.
std::string with_session_settings(const std::string& conninfo, std::chrono::milliseconds timeout);

}  // namespace matchd::store
