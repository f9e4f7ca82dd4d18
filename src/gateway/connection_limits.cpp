#include "connection_limits.h"

#include <utility>

#include "gateway_probe.h"

namespace matchd::gateway {

connection_ticket::connection_ticket(connection_ticket&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)),
      address_(other.address_),
      reserve_only_(other.reserve_only_) {}

connection_ticket& connection_ticket::operator=(connection_ticket&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = std::exchange(other.owner_, nullptr);
    address_ = other.address_;
    reserve_only_ = other.reserve_only_;
  }
  return *this;
}

connection_ticket::~connection_ticket() {
  release();
}

void connection_ticket::release() noexcept {
  if (owner_ != nullptr) std::exchange(owner_, nullptr)->release(address_);
}

connection_limits::connection_limits(std::size_t cap, std::size_t per_address, gateway_probe& probe)
    : cap_(cap), per_address_(per_address), probe_(probe) {}

admission connection_limits::admit(const boost::asio::ip::address& peer,
                                   connection_ticket& ticket) {
  admission verdict = admission::admitted;
  {
    const std::lock_guard lock(mutex_);
    if (open_ >= cap_ + kOperatorReserve) return admission::over_cap;
    std::uint32_t& mine = by_address_[peer];
    if (mine >= per_address_) {
      if (mine == 0) by_address_.erase(peer);
      return admission::over_address_limit;
    }
    ++mine;
    if (open_ >= cap_) verdict = admission::reserve_only;
    ++open_;
  }
  ticket.release();
  ticket.owner_ = this;
  ticket.address_ = peer;
  ticket.reserve_only_ = verdict == admission::reserve_only;
  probe_.connection_opened();
  return verdict;
}

void connection_limits::release(const boost::asio::ip::address& peer) noexcept {
  {
    const std::lock_guard lock(mutex_);
    --open_;
    if (const auto it = by_address_.find(peer); it != by_address_.end() && --it->second == 0) {
      by_address_.erase(it);
    }
  }
  probe_.connection_closed();
}

}  // namespace matchd::gateway
