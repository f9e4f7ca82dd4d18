#include "raw_connection.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "http_client.h"

namespace matchd::e2e {

namespace {

using clock = std::chrono::steady_clock;

int remaining_ms(clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

sockaddr_in ipv4(const std::string& address, std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (::inet_pton(AF_INET, address.c_str(), &a.sin_addr) != 1) {
    throw transport_error("not an IPv4 address: " + address);
  }
  return a;
}

}  // namespace

raw_connection::raw_connection(std::uint16_t port, const std::string& source_address,
                               std::chrono::milliseconds timeout) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw transport_error(std::string("socket: ") + std::strerror(errno));
  const sockaddr_in source = ipv4(source_address, 0);
  const sockaddr_in server = ipv4("127.0.0.1", port);
  if (::bind(fd_, reinterpret_cast<const sockaddr*>(&source), sizeof source) != 0) {
    const int e = errno;
    close();
    throw transport_error("bind " + source_address + ": " + std::strerror(e));
  }
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&server), sizeof server) != 0 &&
      errno != EINPROGRESS) {
    const int e = errno;
    close();
    throw transport_error(std::string("connect: ") + std::strerror(e));
  }
  pollfd p{fd_, POLLOUT, 0};
  int error = 0;
  socklen_t length = sizeof error;
  if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1 ||
      ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0) {
    close();
    throw transport_error("connect from " + source_address +
                          " failed or timed out: " + std::strerror(error));
  }
}

raw_connection::~raw_connection() {
  close();
}

void raw_connection::close() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void raw_connection::send(std::string_view bytes) {
  const auto deadline = clock::now() + std::chrono::seconds(5);
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      throw transport_error(std::string("send: ") + std::strerror(errno));
    }
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) != 1) throw transport_error("send timed out");
  }
}

bool raw_connection::read_some(std::chrono::milliseconds timeout) {
  if (peer_closed_ || fd_ < 0) return false;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return false;
  char buffer[16384];
  const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
  if (n > 0) {
    received_.append(buffer, static_cast<std::size_t>(n));
    return true;
  }
  if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) peer_closed_ = true;
  return true;
}

const std::string& raw_connection::read_until(std::string_view marker,
                                              std::chrono::milliseconds timeout) {
  const auto deadline = clock::now() + timeout;
  while (received_.find(marker) == std::string::npos && !peer_closed_) {
    if (!read_some(std::chrono::milliseconds(remaining_ms(deadline))) && clock::now() >= deadline) {
      break;
    }
  }
  return received_;
}

std::optional<http_response> raw_connection::read_response(std::chrono::milliseconds timeout) {
  const auto deadline = clock::now() + timeout;
  std::size_t head_end = std::string::npos;
  const auto wait_more = [&] {
    return !peer_closed_ && (read_some(std::chrono::milliseconds(remaining_ms(deadline))) ||
                             clock::now() < deadline);
  };
  while ((head_end = received_.find("\r\n\r\n", responses_end_)) == std::string::npos) {
    if (!wait_more()) return std::nullopt;
  }
  http_response r;
  const std::string head = received_.substr(responses_end_, head_end - responses_end_);
  std::size_t line_end = head.find("\r\n");
  r.status = status_of(head);
  if (r.status == 0) return std::nullopt;
  std::size_t content_length = 0;
  while (line_end != std::string::npos) {
    const std::size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    const std::string line = head.substr(start, line_end - start);
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    r.headers.emplace_back(line.substr(0, colon), value);
    if (::strcasecmp(line.substr(0, colon).c_str(), "Content-Length") == 0) {
      content_length = static_cast<std::size_t>(std::strtoull(value.c_str(), nullptr, 10));
    }
  }
  if (r.status < 200) content_length = 0;  // an interim response
  const std::size_t end = head_end + 4 + content_length;
  while (received_.size() < end) {
    if (!wait_more()) return std::nullopt;
  }
  r.body = received_.substr(head_end + 4, content_length);
  responses_end_ = end;
  return r;
}

bool raw_connection::wait_closed(std::chrono::milliseconds timeout) {
  const auto deadline = clock::now() + timeout;
  while (!peer_closed_) {
    if (!read_some(std::chrono::milliseconds(remaining_ms(deadline))) && clock::now() >= deadline) {
      break;
    }
  }
  return peer_closed_;
}

std::string loopback(int n) {
  return "127.0.0." + std::to_string(n);
}

std::string get_request(std::string_view target) {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
}

unsigned status_of(std::string_view text) {
  // "HTTP/1.1 200 ..."
  if (text.size() < 12 || text.substr(0, 5) != "HTTP/") return 0;
  const std::size_t space = text.find(' ');
  if (space == std::string_view::npos || space + 4 > text.size()) return 0;
  unsigned status = 0;
  for (std::size_t i = space + 1; i < space + 4; ++i) {
    if (text[i] < '0' || text[i] > '9') return 0;
    status = status * 10 + static_cast<unsigned>(text[i] - '0');
  }
  return status;
}

std::string websocket_upgrade_request() {
  return "GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
         "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
         "Sec-WebSocket-Version: 13\r\n\r\n";
}

std::string client_frame(std::uint8_t opcode, bool fin, std::string_view payload) {
  std::string frame;
  frame.push_back(static_cast<char>((fin ? 0x80 : 0x00) | (opcode & 0x0f)));
  frame.push_back(static_cast<char>(0x80 | (payload.size() & 0x7f)));
  const char mask[4] = {0x12, 0x34, 0x56, 0x78};
  frame.append(mask, 4);
  for (std::size_t i = 0; i < payload.size(); ++i) {
    frame.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
  }
  return frame;
}

int close_code_of(std::string_view received) {
  const std::size_t head_end = received.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return 0;
  std::size_t at = head_end + 4;
  // Server frames are unmasked: walk them to the first close frame (opcode 8).
  while (at + 2 <= received.size()) {
    const auto op = static_cast<std::uint8_t>(received[at]) & 0x0f;
    std::size_t length = static_cast<std::uint8_t>(received[at + 1]) & 0x7f;
    std::size_t header = 2;
    if (length == 126) {
      if (at + 4 > received.size()) return 0;
      length = (static_cast<std::size_t>(static_cast<std::uint8_t>(received[at + 2])) << 8) |
               static_cast<std::uint8_t>(received[at + 3]);
      header = 4;
    } else if (length == 127) {
      return 0;  // no such frames in these tests
    }
    if (op == 8) {
      if (length < 2 || at + header + 2 > received.size()) return 0;
      return (static_cast<std::uint8_t>(received[at + header]) << 8) |
             static_cast<std::uint8_t>(received[at + header + 1]);
    }
    at += header + length;
  }
  return 0;
}

}  // namespace matchd::e2e
