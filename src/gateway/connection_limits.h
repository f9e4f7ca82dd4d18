#pragma once

#include <boost/asio/ip/address.hpp>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace matchd::gateway {

class connection_limits;
class gateway_probe;

// Connections above the cap that are still taken, for /healthz, /readyz and /metrics only,
// so that operators can look at a server whose cap is reached.
inline constexpr std::size_t kOperatorReserve = 16;

// One open connection's place in the counts, given back when it is destroyed. It moves with
// the socket when an HTTP session becomes a WebSocket or an event stream.
class connection_ticket {
 public:
  connection_ticket() = default;
  connection_ticket(connection_ticket&& other) noexcept;
  connection_ticket& operator=(connection_ticket&& other) noexcept;
  connection_ticket(const connection_ticket&) = delete;
  connection_ticket& operator=(const connection_ticket&) = delete;
  ~connection_ticket();

  // Taken from the operators' reserve: only the operational routes are served, one request,
  // and the request must come quickly.
  [[nodiscard]] bool reserve_only() const noexcept { return reserve_only_; }

 private:
  friend class connection_limits;
  void release() noexcept;

  connection_limits* owner_ = nullptr;
  boost::asio::ip::address address_;
  bool reserve_only_ = false;
};

enum class admission : std::uint8_t {
  admitted,            // below the cap
  reserve_only,        // at the cap, inside the operators' reserve
  over_cap,            // the cap and the reserve are full
  over_address_limit,  // the peer's address already holds its share
};

// The connection cap, the operators' reserve above it and the limit per peer address.
// admit() runs on the listener's thread; tickets come back on any I/O thread, hence the
// mutex. Connections open and close far less often than orders arrive, and the order path
// never takes it.
class connection_limits {
 public:
  connection_limits(std::size_t cap, std::size_t per_address, gateway_probe& probe);

  // Counts the connection in `ticket` unless the verdict refuses it.
  admission admit(const boost::asio::ip::address& peer, connection_ticket& ticket);

  [[nodiscard]] std::size_t cap() const noexcept { return cap_; }
  [[nodiscard]] std::size_t per_address() const noexcept { return per_address_; }

 private:
  friend class connection_ticket;
  void release(const boost::asio::ip::address& peer) noexcept;

  const std::size_t cap_;
  const std::size_t per_address_;
  gateway_probe& probe_;
  std::mutex mutex_;
  std::size_t open_ = 0;
  std::unordered_map<boost::asio::ip::address, std::uint32_t> by_address_;
};

}  // namespace matchd::gateway
