#pragma once

#include <cstdint>

namespace matchd::load {

class load_worker;

// One client connection of a worker. Every member is called on the worker's thread only.
class connection {
 public:
  connection(load_worker& owner, unsigned id) noexcept : owner_(owner), id_(id), next_index_(id) {}
  virtual ~connection() = default;
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  // Connects (and reconnects after failures by itself); sends once connected.
  virtual void start() = 0;
  // Sends what is due, as far as the connection may (one request in flight for HTTP, a
  // window for WebSocket). Cheap when there is nothing to do.
  virtual void pump() = 0;
  [[nodiscard]] virtual std::uint64_t in_flight() const noexcept = 0;
  // Ends the connection for good; whatever is in flight is abandoned, no callbacks follow.
  virtual void close() = 0;

  [[nodiscard]] unsigned id() const noexcept { return id_; }
  // Open loop: the next request this connection sends (id, id + C, id + 2C, ...); the
  // requests from here up to the due count are its queue.
  [[nodiscard]] std::uint64_t next_index() const noexcept { return next_index_; }
  void advance(std::uint64_t step) noexcept { next_index_ += step; }

 protected:
  load_worker& owner_;

 private:
  unsigned id_;
  std::uint64_t next_index_;
};

}  // namespace matchd::load
