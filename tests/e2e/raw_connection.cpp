#include "raw_connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace matchd::e2e {

raw_connection::raw_connection(std::uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw transport_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    throw transport_error(std::string("connect: ") + std::strerror(err));
  }
}

raw_connection::~raw_connection() {
  if (fd_ >= 0) ::close(fd_);
}

void raw_connection::send(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw transport_error(std::string("send: ") + std::strerror(errno));
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

bool raw_connection::read_more(std::chrono::steady_clock::time_point deadline) {
  if (closed_) return false;
  const auto now = std::chrono::steady_clock::now();
  if (now >= deadline) return false;
  pollfd p{fd_, POLLIN, 0};
  const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
  const int ready = ::poll(&p, 1, static_cast<int>(wait.count()) + 1);
  if (ready <= 0) return false;
  char chunk[16384];
  const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
  if (n <= 0) {
    if (n < 0 && errno == EINTR) return true;
    closed_ = true;  // end of stream, or a reset
    return false;
  }
  in_.append(chunk, static_cast<std::size_t>(n));
  return true;
}

std::optional<http_response> raw_connection::read_response(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::size_t head_end = std::string::npos;
  while ((head_end = in_.find("\r\n\r\n")) == std::string::npos) {
    if (!read_more(deadline)) return std::nullopt;
  }
  http_response r;
  const std::string head = in_.substr(0, head_end);
  std::size_t line_end = head.find("\r\n");
  const std::string status_line = head.substr(0, line_end);
  // "HTTP/1.1 200 OK"
  const std::size_t space = status_line.find(' ');
  if (space == std::string::npos) return std::nullopt;
  r.status = static_cast<unsigned>(std::atoi(status_line.c_str() + space + 1));
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
  const std::size_t total = head_end + 4 + content_length;
  while (in_.size() < total) {
    if (!read_more(deadline)) return std::nullopt;
  }
  r.body = in_.substr(head_end + 4, content_length);
  in_.erase(0, total);
  return r;
}

bool raw_connection::wait_closed(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!closed_ && std::chrono::steady_clock::now() < deadline) (void)read_more(deadline);
  return closed_;
}

}  // namespace matchd::e2e
