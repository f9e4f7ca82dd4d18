#include "loopback_port.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <system_error>

namespace matchd::test {
namespace {

struct port_range {
  unsigned first = 0;
  unsigned last = 0;  // inclusive
};

port_range ephemeral_range() {
  port_range range{32768, 60999};  // Linux's default
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  unsigned first = 0;
  unsigned last = 0;
  if (in >> first >> last && first <= last && last <= 65535) range = {first, last};
  return range;
}

// Ten thousand ports beside the ephemeral range: below it where there is room above the
// well-known and registered services most machines run, otherwise above it.
port_range candidate_range() {
  constexpr unsigned kWidth = 10000;
  constexpr unsigned kLowest = 10000;
  const port_range ephemeral = ephemeral_range();
  if (ephemeral.first >= kLowest + kWidth) return {ephemeral.first - kWidth, ephemeral.first - 1};
  if (ephemeral.last + kWidth <= 65535) return {ephemeral.last + 1, ephemeral.last + kWidth};
  throw std::runtime_error(
      "the ephemeral port range leaves no room for test servers; narrow "
      "/proc/sys/net/ipv4/ip_local_port_range");
}

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  return address;
}

// True when nothing on the machine holds 127.0.0.1:port, not even a connection in
// TIME_WAIT (no SO_REUSEADDR here, unlike the servers themselves).
bool bindable(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  const sockaddr_in address = loopback(port);
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
  const bool ok = ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

std::uint16_t pick_loopback_port() {
  static const port_range range = candidate_range();
  thread_local std::mt19937 random{std::random_device{}()};
  std::uniform_int_distribution<unsigned> pick(range.first, range.last);
  for (int attempt = 0; attempt < 200; ++attempt) {
    const auto port = static_cast<std::uint16_t>(pick(random));
    if (bindable(port)) return port;
  }
  throw std::runtime_error("no free loopback port in " + std::to_string(range.first) + "-" +
                           std::to_string(range.last));
}

bool accepts_connections(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  const sockaddr_in address = loopback(port);
  int r = 0;
  do {
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
    r = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  } while (r != 0 && errno == EINTR);
  ::close(fd);
  return r == 0;
}

}  // namespace matchd::test
