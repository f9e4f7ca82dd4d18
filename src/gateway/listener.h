#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <vector>

#include "io_thread.h"

namespace matchd::gateway {

// Accepts on I/O thread 0 and hands each connection to the next I/O thread in turn.
// Beyond the connection limit a new connection is closed at once.
class listener : public std::enable_shared_from_this<listener> {
 public:
  listener(std::vector<io_thread*> threads, const boost::asio::ip::tcp::endpoint& endpoint);

  void run() { do_accept(); }
  void stop();
  boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

 private:
  void do_accept();

  std::vector<io_thread*> threads_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::size_t next_ = 0;
};

}  // namespace matchd::gateway
