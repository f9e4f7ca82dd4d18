#include "reader_session.h"

#include <matchd/obs/logger.h>

#include <algorithm>
#include <random>

#include "db_connection.h"

namespace matchd::store {

reader_session::reader_session(const reader_options& o, std::string name)
    : options_(o),
      name_(std::move(name)),
      deadline_(std::make_unique<call_deadline>()),
      backoff_(options_.initial_backoff, options_.max_backoff, bus::jitter::equal,
               std::random_device{}()) {}

reader_session::~reader_session() = default;

bool reader_session::may_try(std::chrono::steady_clock::time_point now) const {
  return connection_ != nullptr || now >= next_attempt_;
}

pqxx::connection& reader_session::open() {
  if (!connection_) {
    connection_ = std::make_unique<db_connection>(options_.conninfo);
    if (backoff_.failures() > 0) obs::logger(name_)->info("{} database reachable again", name_);
    backoff_.reset();
  }
  return connection_->c;
}

call_deadline::window reader_session::arm(std::chrono::steady_clock::time_point deadline) {
  const auto left = deadline - std::chrono::steady_clock::now();
  return deadline_->arm(connection_->c.sock(), std::max<std::chrono::steady_clock::duration>(
                                                   left, std::chrono::milliseconds(1)));
}

void reader_session::fail(const std::exception& e) {
  const bool cut = deadline_->take_expired();
  connection_.reset();
  const auto delay = backoff_.next();
  next_attempt_ = std::chrono::steady_clock::now() + delay;
  // One line per failure, which only a read can meet: the backoff spaces them (equal jitter
  // waits at least half its ceiling), however often clients ask.
  obs::logger(name_)->warn("{} query failed, answering 503 not_ready for {} ms: {}", name_,
                           delay.count(),
                           cut ? "no answer within --db-timeout (" +
                                     std::to_string(options_.timeout.count()) + " ms); session cut"
                               : std::string(e.what()));
}

void reader_session::close() {
  connection_.reset();
}

}  // namespace matchd::store
