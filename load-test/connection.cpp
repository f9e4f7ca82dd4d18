#include "connection.h"

#include <chrono>

#include "load_worker.h"

namespace matchd::load {

namespace {
constexpr auto kReconnectDelay = std::chrono::milliseconds(100);
}  // namespace

connection::connection(load_worker& owner, unsigned id)
    : owner_(owner), retry_timer_(owner.context()), id_(id), next_index_(id) {}

void connection::close() {
  closed_ = true;
  retry_timer_.cancel();
  connected_ = false;
  drop_transport();
}

void connection::connected() {
  connected_ = true;
  report_initial(true);
}

void connection::failed(bool during_connect) {
  if (during_connect) owner_.connect_failed();
  report_initial(false);
  connected_ = false;
  drop_transport();
  if (owner_.finished() || closed_) return;
  retry_timer_.expires_after(kReconnectDelay);
  retry_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec && !closed_) open();
  });
}

void connection::reopen() {
  connected_ = false;
  drop_transport();
  if (!closed_) open();
}

void connection::report_initial(bool ok) {
  if (reported_initial_) return;
  reported_initial_ = true;
  owner_.initial_connect_done(ok);
}

}  // namespace matchd::load
