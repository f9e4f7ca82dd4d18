#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <optional>
#include <string>

#include "connection.h"
#include "load_plan.h"
#include "status_only_parser.h"

namespace matchd::load {

// An HTTP/1.1 keep-alive connection sending POST <path> with fixture bodies, one request in
// flight at a time (no pipelining, like a typical REST client). The request is written as
// one gather write of a hand-made header and the body; the answer is framed by Beast's
// parser, keeping only its status (status_only_parser).
// Reconnects after a failure or a "Connection: close" answer; a request in flight when the
// connection fails is lost (counted, not retried).
class http_connection final : public connection {
 public:
  http_connection(load_worker& owner, unsigned id);

  void pump() override;
  [[nodiscard]] std::uint64_t in_flight() const noexcept override { return busy_ ? 1 : 0; }

 private:
  void open() override;
  void drop_transport() override;
  void on_connect(const boost::system::error_code& ec);
  void on_write(const boost::system::error_code& ec);
  void on_read(const boost::system::error_code& ec);
  void fail(bool during_connect);

  boost::asio::ip::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
  std::optional<status_only_parser> parser_;
  std::string head_;
  std::string body_;
  request_ticket ticket_;
  bool busy_ = false;
};

}  // namespace matchd::load
