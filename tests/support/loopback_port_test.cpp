#include "loopback_port.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

namespace matchd::test {
namespace {

// Binds 127.0.0.1:port as a server would (SO_REUSEADDR) and listens; -1 on failure.
int listen_on(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0 ||
      ::listen(fd, 1) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

TEST(pick_loopback_port, lies_outside_the_ephemeral_range) {
  unsigned first = 0;
  unsigned last = 0;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> first >> last;
  ASSERT_GT(last, 0u);
  for (int i = 0; i < 100; ++i) {
    const unsigned port = pick_loopback_port();
    EXPECT_TRUE(port < first || port > last) << port << " in " << first << "-" << last;
    EXPECT_GE(port, 1024u);
  }
}

TEST(pick_loopback_port, a_server_can_listen_on_it_and_a_listening_port_is_not_picked) {
  const std::uint16_t port = pick_loopback_port();
  const int fd = listen_on(port);
  ASSERT_GE(fd, 0) << "could not listen on the picked port " << port;
  // 50,000 picks among 10,000 ports would land on it with near certainty if busy ports
  // were not skipped.
  int landed = 0;
  for (int i = 0; i < 50'000; ++i) landed += pick_loopback_port() == port ? 1 : 0;
  EXPECT_EQ(landed, 0);
  ::close(fd);
}

TEST(accepts_connections, is_true_while_a_server_listens_and_false_after) {
  const std::uint16_t port = pick_loopback_port();
  EXPECT_FALSE(accepts_connections(port)) << "nothing listens on a picked port";
  const int fd = listen_on(port);
  ASSERT_GE(fd, 0) << "could not listen on the picked port " << port;
  EXPECT_TRUE(accepts_connections(port));
  ::close(fd);
  EXPECT_FALSE(accepts_connections(port));
}

}  // namespace
}  // namespace matchd::test
