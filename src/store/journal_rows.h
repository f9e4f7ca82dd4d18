#pragma once

#include <matchd/engine/types.h>

#include <cstddef>
#include <pqxx/pqxx>
#include <string>

namespace matchd::store {

// The journal rows after `after`, oldest first, at most `limit`; columns last_sequence and
// body (bytea, read with pqxx::binarystring). The applier and recovery both page through
// the journal with it.
inline pqxx::result select_journal_rows(pqxx::transaction_base& tx, engine::sequence_number after,
                                        std::size_t limit) {
  return tx.exec("SELECT last_sequence, body FROM journal WHERE last_sequence > " +
                 std::to_string(after) + " ORDER BY last_sequence LIMIT " + std::to_string(limit));
}

}  // namespace matchd::store
