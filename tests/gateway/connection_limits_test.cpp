// The admission rules of the listener (src/gateway/connection_limits.h): an address's
// share first, then the cap, then the operators' reserve above it; a ticket gives its place
// back when it is destroyed, also after moving with its socket.
#include "connection_limits.h"

#include <gtest/gtest.h>
#include <matchd/obs/atomic_histogram.h>
#include <matchd/obs/metrics.h>

#include <boost/asio/ip/address.hpp>
#include <string>
#include <vector>

#include "gateway_probe.h"

namespace matchd::gateway {
namespace {

boost::asio::ip::address peer(int n) {
  return boost::asio::ip::make_address("127.0.0." + std::to_string(n));
}

struct limits_fixture : ::testing::Test {
  obs::registry registry;
  gateway_probe probe{registry};
};

TEST_F(limits_fixture, an_address_over_its_share_is_refused_and_others_are_not) {
  connection_limits limits(100, 2, probe);
  connection_ticket a, b, c, d;
  EXPECT_EQ(limits.admit(peer(2), a), admission::admitted);
  EXPECT_EQ(limits.admit(peer(2), b), admission::admitted);
  EXPECT_EQ(limits.admit(peer(2), c), admission::over_address_limit);
  EXPECT_EQ(limits.admit(peer(3), d), admission::admitted);
}

TEST_F(limits_fixture, above_the_cap_the_reserve_then_refusal) {
  constexpr std::size_t kCap = 3;
  connection_limits limits(kCap, 1000, probe);
  std::vector<connection_ticket> tickets(kCap + kOperatorReserve + 1);
  for (std::size_t i = 0; i < kCap; ++i) {
    EXPECT_EQ(limits.admit(peer(2), tickets[i]), admission::admitted);
    EXPECT_FALSE(tickets[i].reserve_only());
  }
  for (std::size_t i = kCap; i < kCap + kOperatorReserve; ++i) {
    EXPECT_EQ(limits.admit(peer(2), tickets[i]), admission::reserve_only) << i;
    EXPECT_TRUE(tickets[i].reserve_only());
  }
  EXPECT_EQ(limits.admit(peer(2), tickets.back()), admission::over_cap);
}

TEST_F(limits_fixture, a_destroyed_ticket_gives_its_place_back_once_after_moves) {
  connection_limits limits(1, 1, probe);
  {
    connection_ticket first;
    ASSERT_EQ(limits.admit(peer(2), first), admission::admitted);
    connection_ticket moved(std::move(first));
    connection_ticket again;
    again = std::move(moved);
    connection_ticket other;
    EXPECT_EQ(limits.admit(peer(2), other), admission::over_address_limit);
  }
  connection_ticket next, reserve;
  EXPECT_EQ(limits.admit(peer(2), next), admission::admitted);
  // Given back exactly once: the count is 1 again, so the next one is in the reserve.
  EXPECT_EQ(limits.admit(peer(3), reserve), admission::reserve_only);
}

}  // namespace
}  // namespace matchd::gateway
