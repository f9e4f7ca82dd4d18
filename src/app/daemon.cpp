#include "daemon.h"

#include <chrono>
#include <thread>

#include <matchd/obs/logger.h>

namespace matchd::app {

namespace {
constexpr std::size_t kBatchPool = 64;
constexpr std::size_t kQueryQueue = 4096;
}  // namespace

daemon::daemon(config cfg) : cfg_(std::move(cfg)), registry_(obs::make_registry()) {
  order_flow_ = std::make_unique<obs::order_flow_metrics>(*registry_);
  engine::engine_options engine_opts;
  engine_opts.expected_orders_per_book = cfg_.expected_orders;
  engine_ = std::make_unique<engine::matching_engine>(cfg_.instruments, engine_opts);

  const std::size_t budget = cfg_.server.inflight_budget;
  publish::publish_options publish_opts;
  // Every admitted command's answer must fit next to the stream frames in flight.
  publish_opts.delivery_reserve = budget + 1024;
  const std::size_t delivery_capacity = budget + 1024 + 65536;

  std::vector<bus::spsc_queue<bus::engine_request>*> engine_inputs;
  std::vector<gateway::io_thread_links> gateway_links;
  for (std::size_t i = 0; i < cfg_.server.io_threads; ++i) {
    io_queues q;
    q.to_engine = std::make_unique<bus::spsc_queue<bus::engine_request>>(budget);
    q.to_publish = std::make_unique<bus::spsc_queue<bus::read_query>>(kQueryQueue);
    q.deliveries = std::make_unique<bus::spsc_queue<bus::io_delivery>>(delivery_capacity);
    engine_inputs.push_back(q.to_engine.get());
    gateway_links.push_back({q.to_engine.get(), q.to_publish.get(), q.deliveries.get()});
    io_queues_.push_back(std::move(q));
  }

  executed_ = std::make_unique<bus::spsc_queue<bus::engine_batch*>>(kBatchPool);
  sequencer::engine_stage_options stage_opts;
  stage_opts.batch_pool = kBatchPool;
  engine_stage_ = std::make_unique<sequencer::engine_stage>(
      *engine_, engine_inputs, *executed_, [this] { publish_stage_->notify(); }, stage_opts);

  std::vector<publish::io_link> publish_links;
  for (std::size_t i = 0; i < io_queues_.size(); ++i) {
    publish_links.push_back({io_queues_[i].to_publish.get(), io_queues_[i].deliveries.get(),
                             [this, i] { server_->wake(static_cast<std::uint32_t>(i)); }});
  }
  publish_stage_ = std::make_unique<publish::publish_stage>(
      cfg_.instruments, std::move(publish_links), *executed_, engine_stage_->recycle_queue(),
      [this] { engine_stage_->notify(); }, *registry_, *order_flow_, publish_opts);

  gateway::pipeline_hooks hooks;
  hooks.notify_engine = [this] { engine_stage_->notify(); };
  hooks.notify_publish = [this] { publish_stage_->notify(); };
  hooks.not_ready_reason = [] { return std::string{}; };
  server_ = std::make_unique<gateway::server>(cfg_.server, cfg_.instruments,
                                              std::move(gateway_links), std::move(hooks),
                                              *registry_, *order_flow_);
}

daemon::~daemon() { stop(); }

boost::asio::ip::tcp::endpoint daemon::start() {
  publish_stage_->start();
  engine_stage_->start();
  server_->start();
  started_ = true;
  return server_->local_endpoint();
}

void daemon::stop() {
  if (!started_) return;
  started_ = false;
  auto log = obs::logger("app");
  server_->stop_accepting();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (server_->inflight() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (server_->inflight() > 0) {
    log->warn("stopping with {} commands unanswered", server_->inflight());
  }
  server_->stop();
  engine_stage_->stop();
  publish_stage_->stop();
}

}  // namespace matchd::app
