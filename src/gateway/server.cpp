#include <matchd/gateway/server.h>
#include <matchd/obs/logger.h>

#include <boost/asio/ip/address.hpp>

#include "gateway_context.h"
#include "io_thread.h"
#include "listener.h"

namespace matchd::gateway {

server::server(server_options options, std::vector<engine::instrument> instruments,
               std::vector<io_thread_links> links, pipeline_hooks hooks, obs::registry& registry,
               obs::order_flow_metrics& order_flow)
    : ctx_(std::make_unique<gateway_context>(std::move(options), std::move(instruments),
                                             std::move(hooks), registry, order_flow)) {
  for (std::size_t i = 0; i < links.size(); ++i) {
    threads_.push_back(std::make_unique<io_thread>(static_cast<std::uint32_t>(i), *ctx_, links[i]));
  }
}

server::~server() {
  stop();
}

void server::start() {
  const auto address = boost::asio::ip::make_address(ctx_->options.host);
  std::vector<io_thread*> threads;
  for (auto& t : threads_) threads.push_back(t.get());
  listener_ = std::make_shared<listener>(
      threads, boost::asio::ip::tcp::endpoint(address, ctx_->options.port));
  for (auto& t : threads_) t->start();
  listener_->run();
}

boost::asio::ip::tcp::endpoint server::local_endpoint() const {
  return listener_->local_endpoint();
}

void server::wake(std::uint32_t i) {
  threads_[i]->wake();
}

void server::set_accepting(bool accepting) {
  ctx_->accepting.store(accepting);
}

void server::stop_accepting() {
  if (listener_) listener_->stop();
}

std::size_t server::inflight() const {
  return ctx_->inflight.load(std::memory_order_relaxed);
}

void server::stop() {
  if (ctx_->stopping.exchange(true)) return;
  if (listener_) listener_->stop();
  for (auto& t : threads_) t->stop_and_join();
  listener_.reset();
}

}  // namespace matchd::gateway
