#include <matchd/auth/key_registry.h>
#include <matchd/gateway/server.h>
#include <matchd/obs/logger.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>

#include "descriptor_budget.h"
#include "gateway_context.h"
#include "io_thread.h"
#include "listener.h"

namespace matchd::gateway {

namespace {

// The connection cap the file descriptors allow, and the per-address limit made explicit;
// says in one line what was done.
server_options fit_to_descriptors(server_options options) {
  const descriptor_budget b = plan_descriptors(options.max_connections, options.io_threads);
  const std::size_t asked = options.max_connections;
  options.max_connections = b.connection_cap;
  if (options.max_connections_per_address == 0) {
    options.max_connections_per_address = std::max<std::size_t>(1, options.max_connections / 4);
  }
  auto log = obs::logger("gateway");
  const auto level = b.clamped ? spdlog::level::warn : spdlog::level::info;
  log->log(level,
           "file descriptors: soft limit {} -> {} (hard {}); connection cap {}{} plus {} for "
           "health, readiness and metrics; {} per address",
           b.old_soft_limit, b.soft_limit, b.hard_limit, b.connection_cap,
           b.clamped ? fmt::format(" (--max-connections {} does not fit)", asked) : "",
           kOperatorReserve, options.max_connections_per_address);
  return options;
}

}  // namespace

server::server(server_options options, std::vector<engine::instrument> instruments,
               std::vector<io_thread_links> links, pipeline_hooks hooks, obs::registry& registry,
               obs::order_flow_metrics& order_flow)
    : ctx_(std::make_unique<gateway_context>(fit_to_descriptors(std::move(options)),
                                             std::move(instruments), std::move(hooks), registry,
                                             order_flow)) {
  for (std::size_t i = 0; i < links.size(); ++i) {
    threads_.push_back(std::make_unique<io_thread>(static_cast<std::uint32_t>(i), *ctx_, links[i]));
  }
}

server::~server() {
  stop();
}

void server::use_keys(auth::key_registry& registry) {
  ctx_->keys = &registry;
  std::vector<io_thread*> threads;
  for (auto& t : threads_) threads.push_back(t.get());
  registry.add_listener([threads](std::shared_ptr<const auth::key_table> table,
                                  const std::vector<auth::key_id>& revoked) {
    for (io_thread* t : threads) {
      boost::asio::post(t->context(), [t, table, revoked] { t->set_keys(table, revoked); });
    }
  });
}

void server::use_history(analytics::history_source& source) {
  ctx_->history = &source;
}

void server::use_settlements(clearing::settlement_source& source) {
  ctx_->settlements = &source;
}

void server::use_webhooks(event_export::webhook_source& source,
                          const event_export::webhook_destinations& allowed) {
  ctx_->webhooks = &source;
  ctx_->webhook_destinations = allowed;
}

void server::add_instrument(const engine::instrument& ins) {
  for (auto& t : threads_) {
    boost::asio::post(t->context(), [t = t.get(), ins] { t->add_instrument(ins); });
  }
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
