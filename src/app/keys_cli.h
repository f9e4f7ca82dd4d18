#pragma once

namespace matchd::app {

// `matchd keys create|list|revoke --db ...`: manages API keys in the database without a
// running daemon (a running one notices within its poll interval). argv[1] is "keys".
// Prints to stdout what it did (a key as one JSON object a line; a new key's secret once,
// alone on the line after it) and problems to stderr. Returns the exit status: kExitOk,
// kExitUsage (bad input or an unknown key_id: nothing written), kExitDatabaseRejected
// (--db malformed or refused), kExitFatal (the database failed otherwise).
int run_keys_cli(int argc, char** argv);

}  // namespace matchd::app
