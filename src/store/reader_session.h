#pragma once

#include <matchd/bus/backoff.h>
#include <matchd/store/reader_options.h>

#include <chrono>
#include <exception>
#include <memory>
#include <pqxx/connection>
#include <string>

#include "call_deadline.h"

namespace matchd::store {

struct db_connection;

// The PostgreSQL session of a reader thread (the history reader, the analytics reader):
// opened on the first read, every call bounded by what is left of the read's deadline (a
// call_deadline cuts the socket if PostgreSQL does not answer), and after a failure dropped
// and opened again only once a capped exponential backoff (equal jitter) has passed, so an
// outage costs one deadline per attempt, not one per waiting read. One thread uses it.
class reader_session {
 public:
  // `name`: the logger, and the reads it names in its lines ("history", "analytics").
  // `o`: the conninfo, deadline and backoff (the queue is the reader's).
  reader_session(const reader_options& o, std::string name);
  ~reader_session();
  reader_session(const reader_session&) = delete;
  reader_session& operator=(const reader_session&) = delete;

  // False while the backoff after a failure runs: answer `unavailable` at once.
  bool may_try(std::chrono::steady_clock::time_point now) const;
  // The session, opened if need be (bounded by libpq's connect_timeout).
  pqxx::connection& open();
  // Bounds the calls on the open session until `deadline` (at least a millisecond).
  [[nodiscard]] call_deadline::window arm(std::chrono::steady_clock::time_point deadline);
  // After any exception of a read: drops the session, draws the next attempt, logs a line.
  void fail(const std::exception& e);
  // Closes the session (the reader is stopping).
  void close();

 private:
  reader_options options_;
  std::string name_;
  std::unique_ptr<call_deadline> deadline_;
  std::unique_ptr<db_connection> connection_;
  bus::retry_backoff backoff_;
  std::chrono::steady_clock::time_point next_attempt_{};
};

}  // namespace matchd::store
