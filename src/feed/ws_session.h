#pragma once

#include <matchd/feed/ws_url.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/error.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace matchd::feed {

using feed_executor = boost::asio::strand<boost::asio::io_context::executor_type>;

class ws_session;

// What a session reports to the feed client. Called on the feed's strand, while the session
// is alive.
class session_events {
 public:
  virtual void on_open(ws_session& s) = 0;
  virtual void on_message(ws_session& s, std::string_view text) = 0;
  virtual void on_binary(ws_session& s) = 0;
  virtual void on_ping(ws_session& s) = 0;
  // Exactly once per session: the connection failed at `stage` ("resolve", "connect",
  // "tls", "websocket", "read", "closed" for a close by the server, "stopped" after
  // close()). `detail` says why, for the log.
  virtual void on_end(ws_session& s, std::string_view stage, const std::string& detail) = 0;

 protected:
  ~session_events() = default;
};

struct session_settings {
  ws_url url;
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::size_t max_message_bytes = 64 * 1024;
  bool verify_peer = true;
};

// One connection attempt and, if it succeeds, the connection: resolve, TCP connect, TLS
// handshake (wss), WebSocket handshake, then reads until an error or close(). Never
// reconnects by itself; the feed client makes a new session for that. Runs on the strand.
class ws_session {
 public:
  virtual ~ws_session() = default;
  // Starts the attempt. `events` must outlive the session's handlers or be expired.
  virtual void run(std::weak_ptr<session_events> events) = 0;
  // A WebSocket close (1 s limit) once open, an abort before; on_end follows.
  virtual void close() = 0;

  // `tls` must outlive the session when the URL is wss.
  static std::shared_ptr<ws_session> make(feed_executor executor, session_settings settings,
                                          boost::asio::ssl::context* tls);
};

}  // namespace matchd::feed
