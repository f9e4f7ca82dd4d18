#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <matchd/codec/errors.h>

#include "io_thread.h"

namespace matchd::gateway {

namespace beast = boost::beast;
namespace websocket = beast::websocket;

// A /stream WebSocket: market-data subscriptions and order entry on the same socket.
// Outgoing frames wait in a bounded queue with one write in flight; a client that lets
// the queue fill is closed with 1008 rather than slowing anything else down.
class websocket_session : public session_base,
                          public std::enable_shared_from_this<websocket_session> {
 public:
  websocket_session(beast::tcp_stream&& stream, io_thread& io);
  ~websocket_session() override;

  void run(beast::http::request<beast::http::string_body> upgrade);
  void on_delivery(bus::io_delivery&& d) override;
  void shutdown() override;

 private:
  struct pending_reply {
    std::string type;    // "place" | "cancel"
    std::string req_id;  // as JSON text, echoed verbatim
  };

  void on_accept(beast::error_code ec);
  void do_read();
  void on_read(beast::error_code ec, std::size_t bytes);
  void handle(std::string_view text);
  void send(std::shared_ptr<const std::string> frame);
  void send_error(std::string_view type, const std::string& req_id, const codec::api_error& e,
                  int retry_after = 0);
  void write_next();
  void close_slow();
  void hard_close();

  websocket::stream<beast::tcp_stream> ws_;
  io_thread& io_;
  beast::flat_buffer buffer_;
  boost::asio::steady_timer close_timer_;
  std::uint64_t token_ = 0;
  std::deque<std::shared_ptr<const std::string>> queue_;
  std::deque<pending_reply> pending_;
  std::vector<engine::instrument_id> subscribed_;
  bool writing_ = false;
  bool closing_ = false;
  bool close_after_write_ = false;
};

}  // namespace matchd::gateway
