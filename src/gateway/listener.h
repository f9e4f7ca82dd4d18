#pragma once

#include <matchd/bus/backoff.h>
#include <matchd/obs/log_throttle.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>
#include <vector>

#include "io_thread.h"

namespace matchd::gateway {

// Accepts on I/O thread 0 and hands each connection to the next I/O thread in turn.
//
// Each connection is admitted by the connection limits (connection_limits.h): below the
// cap it is served; in the operators' reserve above the cap it is served /healthz, /readyz
// and /metrics only; beyond that, or beyond its address's share, it is answered 503
// `overloaded` at once and closed.
//
// A failed accept (out of file descriptors, out of memory) is retried after a growing pause,
// 10 ms doubling to 1 s, not at once: the pending connection stays in the backlog and would
// make the acceptor spin. The failures are logged at most once every 5 s, with a count, and
// so are refused connections.
class listener : public std::enable_shared_from_this<listener> {
 public:
  listener(std::vector<io_thread*> threads, const boost::asio::ip::tcp::endpoint& endpoint);

  void run() { do_accept(); }
  void stop();
  boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

 private:
  void do_accept();
  void on_accept(io_thread* target, boost::system::error_code ec,
                 boost::asio::ip::tcp::socket socket);
  void on_accept_failed(const boost::system::error_code& ec);
  void admit(io_thread* target, boost::asio::ip::tcp::socket socket);
  void log_refusal(const char* why, const boost::asio::ip::address& peer);
  // Writes `answer`, then closes once the client has hung up or after a second.
  void refuse(io_thread* target, boost::asio::ip::tcp::socket socket,
              std::shared_ptr<const std::string> answer);

  std::vector<io_thread*> threads_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_timer_;
  bus::retry_backoff backoff_;
  obs::log_throttle accept_warnings_;
  obs::log_throttle refusal_warnings_;
  std::size_t next_ = 0;
  // The complete HTTP answers to a refused connection.
  std::shared_ptr<const std::string> over_cap_answer_;
  std::shared_ptr<const std::string> over_address_answer_;
  // Refused connections still open; touched on several I/O threads.
  std::shared_ptr<std::atomic<std::size_t>> lingering_;
};

}  // namespace matchd::gateway
