#pragma once

#include <boost/asio/steady_timer.hpp>
#include <cstdint>

namespace matchd::load {

class load_worker;

// One client connection of a worker: what every transport shares (first-connect report,
// reconnecting after a pause, closing for good). Every member is called on the worker's
// thread only.
class connection {
 public:
  connection(load_worker& owner, unsigned id);
  virtual ~connection() = default;
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  // Connects (and reconnects after failures by itself); sends once connected.
  void start() { open(); }
  // Sends what is due, as far as the connection may (one request in flight for HTTP, a
  // window for WebSocket). Cheap when there is nothing to do.
  virtual void pump() = 0;
  [[nodiscard]] virtual std::uint64_t in_flight() const noexcept = 0;
  // Ends the connection for good; whatever is in flight is abandoned, no callbacks follow.
  void close();

  [[nodiscard]] unsigned id() const noexcept { return id_; }
  // Open loop: the next request this connection sends (id, id + C, id + 2C, ...); the
  // requests from here up to the due count are its queue.
  [[nodiscard]] std::uint64_t next_index() const noexcept { return next_index_; }
  void advance(std::uint64_t step) noexcept { next_index_ += step; }

 protected:
  // Starts opening the transport (TCP connect, then whatever handshake it needs); ends in
  // connected() or in failed(true). Not called after close().
  virtual void open() = 0;
  // Closes the transport and forgets its state, so that no pending handler of it acts.
  virtual void drop_transport() = 0;

  // The transport is up; the first time, the worker learns that this connection made it.
  void connected();
  // The transport broke (the derived class has already given back what was in flight):
  // drops it and opens a new one after a pause, unless the run is over.
  void failed(bool during_connect);
  // Drops the transport and opens a new one now (the server asked to close).
  void reopen();

  [[nodiscard]] bool is_connected() const noexcept { return connected_; }
  [[nodiscard]] bool is_closed() const noexcept { return closed_; }

  load_worker& owner_;

 private:
  void report_initial(bool ok);

  boost::asio::steady_timer retry_timer_;
  unsigned id_;
  std::uint64_t next_index_;
  bool connected_ = false;
  bool closed_ = false;
  bool reported_initial_ = false;
};

}  // namespace matchd::load
