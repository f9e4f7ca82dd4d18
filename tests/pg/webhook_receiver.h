#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace matchd::pgtest {

// A webhook endpoint for tests: an HTTP/1.1 server on 127.0.0.1 (port chosen by the kernel),
// each connection served on a thread of its own so a slow reply to one request never holds
// another; every request recorded. One request per connection: every reply says
// `Connection: close`. Stopped and joined by the destructor (all threads, bounded: a reply
// still sleeping is cut short, a connection still reading or writing is shut down).
class webhook_receiver {
 public:
  // Larger bodies are not a webhook we send; such a request is dropped unrecorded.
  static constexpr std::size_t kBodyLimit = 1024 * 1024;

  struct received {
    std::string method;
    std::string target;
    // Names lowercased; a header sent more than once has its values joined with ", ".
    std::map<std::string, std::string> headers;
    std::string body;
    std::chrono::steady_clock::time_point at;  // when the request was read
  };
  struct reply {
    unsigned status = 200;
    std::chrono::milliseconds delay{0};  // wait this long before answering (a slow endpoint)
  };
  using behaviour = std::function<reply(std::size_t n, const received&)>;

  // `behave(n, request)`: what to answer the n-th request (0-based, in arrival order on this
  // receiver); default: 200 at once. Called on the connection's thread, under no lock of the
  // receiver; if it throws, the connection is dropped without a reply.
  explicit webhook_receiver(behaviour behave = {});
  ~webhook_receiver();
  webhook_receiver(const webhook_receiver&) = delete;
  webhook_receiver& operator=(const webhook_receiver&) = delete;

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  // "http://127.0.0.1:<port><path>"
  [[nodiscard]] std::string url(std::string_view path = "/hook") const;
  // Copies of what arrived so far, in arrival order (thread-safe). A request counts once its
  // body was read, before its reply.
  [[nodiscard]] std::vector<received> requests() const;
  [[nodiscard]] std::size_t count() const;
  // Stops accepting: once it returns, later connections are refused (the port is closed),
  // which looks like an endpoint that is down. Requests in progress finish. Idempotent.
  void close();

 private:
  // A served connection: its thread, and its socket's descriptor while open (-1 after), so
  // the destructor can shut it down without racing the thread's own close.
  struct connection {
    std::thread thread;
    int fd = -1;
  };

  void accept_loop();
  void serve(std::uint64_t id, boost::asio::ip::tcp::socket socket);
  void reap_finished();

  const behaviour behave_;
  boost::asio::io_context io_;
  // Touched only by the constructor, then by the accept thread alone (which closes it).
  boost::asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_accepting_{false};
  std::mutex close_mutex_;  // serialises close() so the accept thread is joined once
  std::thread accept_thread_;

  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable stopping_cv_;
  bool stopping_ = false;  // the destructor began: delays end, no reply is sent any more
  std::vector<received> requests_;
  std::uint64_t next_connection_id_ = 0;
  std::map<std::uint64_t, connection> connections_;
  std::vector<std::uint64_t> finished_;  // connections whose thread is returning, to be joined
};

}  // namespace matchd::pgtest
