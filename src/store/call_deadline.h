#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace matchd::store {

// Bounds the libpq calls of one thread. While armed, a watchdog thread waits for the
// deadline and then shuts the connection's socket down (shutdown(2), not close: the
// descriptor stays libpq's), so a call blocked on a server that stopped answering returns
// with an error (pqxx::broken_connection, or in_doubt_error for a COMMIT) and the caller
// replaces the connection. libpq's synchronous calls, which libpqxx 6.4 makes, have no
// timeout of their own; a frozen server keeps its TCP connections open (its kernel still
// acknowledges), so neither keepalives nor tcp_user_timeout end the wait.
//
// One armed window at a time: arm() and the armed window's end are called by the thread
// that uses the connection; cut() from any thread. The socket is only shut down while it
// is armed, so a descriptor that was closed and reused is never touched.
class call_deadline {
 public:
  call_deadline();
  ~call_deadline();
  call_deadline(const call_deadline&) = delete;
  call_deadline& operator=(const call_deadline&) = delete;

  // Disarms when it goes out of scope: declare it before the transaction it bounds, so
  // the transaction's own clean-up also runs under the deadline.
  class window {
   public:
    explicit window(call_deadline& owner) : owner_(&owner) {}
    ~window() {
      if (owner_ != nullptr) owner_->disarm();
    }
    window(window&& other) noexcept : owner_(other.owner_) { other.owner_ = nullptr; }
    window(const window&) = delete;
    window& operator=(const window&) = delete;
    window& operator=(window&&) = delete;

   private:
    call_deadline* owner_;
  };

  // From now until the window ends, the socket is shut down once `timeout` has passed.
  [[nodiscard]] window arm(int socket, std::chrono::steady_clock::duration timeout);
  // Shuts the armed socket down at once (to stop a thread blocked in a call).
  void cut();
  // Whether a window's socket was shut down (by the deadline or by cut()) since the last
  // call; clears the mark.
  [[nodiscard]] bool take_expired();

 private:
  void disarm();
  void run();
  void shut_down_locked();

  std::mutex mutex_;
  std::condition_variable changed_;
  int socket_ = -1;  // armed while >= 0
  std::chrono::steady_clock::time_point deadline_{};
  bool expired_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace matchd::store
