#include "call_deadline.h"

#include <matchd/obs/thread_name.h>
#include <sys/socket.h>

#include <utility>

namespace matchd::store {

call_deadline::call_deadline() {
  thread_ = std::thread([this] {
    obs::name_this_thread("matchd-dbwatch");
    run();
  });
}

call_deadline::~call_deadline() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

call_deadline::window call_deadline::arm(int socket, std::chrono::steady_clock::duration timeout) {
  {
    std::lock_guard lock(mutex_);
    socket_ = socket;
    deadline_ = std::chrono::steady_clock::now() + timeout;
  }
  changed_.notify_all();
  return window(*this);
}

void call_deadline::disarm() {
  std::lock_guard lock(mutex_);
  socket_ = -1;
}

void call_deadline::cut() {
  std::lock_guard lock(mutex_);
  shut_down_locked();
}

bool call_deadline::take_expired() {
  std::lock_guard lock(mutex_);
  return std::exchange(expired_, false);
}

void call_deadline::shut_down_locked() {
  if (socket_ < 0) return;
  ::shutdown(socket_, SHUT_RDWR);
  socket_ = -1;
  expired_ = true;
}

void call_deadline::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (socket_ < 0) {
      changed_.wait(lock);
    } else if (std::chrono::steady_clock::now() >= deadline_) {
      shut_down_locked();
    } else {
      changed_.wait_until(lock, deadline_);
    }
  }
}

}  // namespace matchd::store
