#pragma once

#include <matchd/engine/instrument.h>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

// cnats' handles, declared as its header does (typedef'd structs).
typedef struct __natsConnection natsConnection;
typedef struct __jsCtx jsCtx;

namespace matchd::event_export {

// One event ready to go: its subject, its sequence (the message id) and its payload.
struct outgoing_event {
  std::string subject;
  std::uint64_t sequence = 0;
  std::string payload;
};

// A failure of the broker's side (connection, stream, acknowledgement). The exporter drops the
// link and starts again from its durable position.
class link_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A connection to NATS and its JetStream context, used by one thread. Created per attempt:
// after any failure it is dropped whole, so no acknowledgement of an abandoned round can be
// counted in the next one.
class jetstream_link {
 public:
  jetstream_link(const std::string& url, std::string stream, std::chrono::milliseconds ack_wait);
  ~jetstream_link();
  jetstream_link(const jetstream_link&) = delete;
  jetstream_link& operator=(const jetstream_link&) = delete;

  // Creates the stream if missing (the subjects, file storage, the duplicate window); adds
  // missing subjects to one that exists, changing nothing else.
  void ensure_stream(const std::vector<std::string>& subjects,
                     std::chrono::seconds duplicate_window);
  // The Nats-Msg-Id of the stream's last message (the last event it holds), 0 when empty.
  std::uint64_t last_sequence();
  // Publishes the events in order, each expecting the one before it as the stream's last
  // message (`previous`, 0: no expectation for the first), and waits until every one is
  // acknowledged (stored, or dropped as a duplicate). Throws link_error otherwise.
  void publish(const std::vector<outgoing_event>& events, std::uint64_t previous);
  // Acknowledgements that said "duplicate" in the last publish.
  std::uint64_t duplicates() const noexcept { return duplicates_; }

  // Called by cnats' thread for each acknowledgement.
  void acknowledged(bool ok, bool duplicate, int error_code, const std::string& error);

 private:
  std::string stream_;
  std::chrono::milliseconds ack_wait_;
  natsConnection* connection_ = nullptr;
  jsCtx* js_ = nullptr;

  std::mutex mutex_;
  std::condition_variable done_;
  std::uint64_t answered_ = 0;  // guarded by mutex_
  std::uint64_t failed_ = 0;    // guarded by mutex_
  std::uint64_t duplicates_ = 0;
  std::string first_error_;  // guarded by mutex_
};

}  // namespace matchd::event_export
