#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace matchd::pgtest {

// One message of a JetStream stream as a test sees it.
struct stream_message {
  std::uint64_t stream_sequence = 0;  // JetStream's own, 1, 2, ...
  std::string subject;
  std::string msg_id;  // the Nats-Msg-Id header
  nlohmann::json body;
};

// What a stream holds: its message count and its last stream sequence (0, 0 when it does not
// exist).
struct stream_state {
  bool exists = false;
  std::uint64_t messages = 0;
  std::uint64_t last_sequence = 0;
  std::int64_t duplicate_window_ns = 0;
  std::vector<std::string> subjects;
};

stream_state read_stream_state(const std::string& url, const std::string& stream);

// Every message of `stream`, in stream order, through a pull consumer of the test's own
// (deleted afterwards). Throws std::runtime_error on any failure.
std::vector<stream_message> read_stream(const std::string& url, const std::string& stream);

// Publishes one message with a Nats-Msg-Id and returns whether JetStream called it a
// duplicate.
bool publish_with_id(const std::string& url, const std::string& subject, const std::string& id,
                     const std::string& payload);

}  // namespace matchd::pgtest
