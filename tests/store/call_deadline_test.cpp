#include "call_deadline.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

namespace matchd::store {
namespace {

using namespace std::chrono_literals;

// A connected pair of sockets standing for a session and a server that never answers.
struct socket_pair {
  socket_pair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fd), 0); }
  ~socket_pair() {
    ::close(fd[0]);
    ::close(fd[1]);
  }
  int fd[2] = {-1, -1};
};

TEST(call_deadline, a_call_blocked_past_the_deadline_returns) {
  socket_pair s;
  call_deadline deadline;
  char byte = 0;
  {
    const auto window = deadline.arm(s.fd[0], 1ms);
    // Blocks until the watchdog shuts the socket down: then recv reads end of file.
    EXPECT_EQ(::recv(s.fd[0], &byte, 1, 0), 0);
  }
  EXPECT_TRUE(deadline.take_expired());
  EXPECT_FALSE(deadline.take_expired()) << "the mark is cleared once taken";
}

TEST(call_deadline, a_window_that_ends_in_time_leaves_the_socket_alone) {
  socket_pair s;
  call_deadline deadline;
  { const auto window = deadline.arm(s.fd[0], 1h); }
  char byte = 'x';
  ASSERT_EQ(::send(s.fd[1], &byte, 1, 0), 1);
  EXPECT_EQ(::recv(s.fd[0], &byte, 1, 0), 1);
  EXPECT_FALSE(deadline.take_expired());
}

TEST(call_deadline, cut_ends_the_armed_call_at_once_and_nothing_when_unarmed) {
  socket_pair s;
  call_deadline deadline;
  deadline.cut();  // nothing armed: nothing happens
  EXPECT_FALSE(deadline.take_expired());
  {
    const auto window = deadline.arm(s.fd[0], 1h);
    deadline.cut();
    char byte = 0;
    EXPECT_EQ(::recv(s.fd[0], &byte, 1, 0), 0);
  }
  EXPECT_TRUE(deadline.take_expired());
}

}  // namespace
}  // namespace matchd::store
