#pragma once

#include <matchd/engine/instrument.h>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

// cnats' handles, declared as its header does (typedef'd structs).
typedef struct __natsConnection natsConnection;
typedef struct __jsCtx jsCtx;

namespace matchd::event_export {

// One message ready to go: its subject, its Nats-Msg-Id (an event's sequence, or
// settlement-<id>-<symbol>) and its payload.
struct outgoing_event {
  std::string subject;
  std::string msg_id;
  std::string payload;
};

// Where the stream stands: its last message's id, and the newest event sequence among its
// messages (settlements have other ids). Empty and 0 for an empty stream.
struct stream_end {
  std::string last_id;
  std::uint64_t last_event = 0;
};

// A failure of the broker's side (connection, stream, acknowledgement). The exporter drops the
// link and starts again from its durable position.
class link_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A connection to NATS and its JetStream context, used by one thread. Created per attempt:
// after any failure it is dropped whole and the exporter starts again from the stream's end.
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
  // The stream's last message and its newest event (walking back over settlements).
  stream_end end();
  // Publishes the messages in order, each expecting the one before it as the stream's last
  // message (`previous`; empty: no expectation for the first), and returns once JetStream has
  // stored them all. Throws link_error otherwise (some may be stored: read end() again).
  void publish(const std::vector<outgoing_event>& events, std::string previous);

 private:
  std::string stream_;
  std::chrono::milliseconds ack_wait_;
  natsConnection* connection_ = nullptr;
  jsCtx* js_ = nullptr;
};

}  // namespace matchd::event_export
