#include "publish_probe.h"

namespace matchd::publish {

publish_probe::publish_probe(obs::registry& r, const std::vector<engine::instrument>& instruments)
    : trades_(prometheus::BuildCounter()
                  .Name("trades_total")
                  .Help("Trades acknowledged and published")
                  .Register(r)
                  .Add({})),
      subscribers_(prometheus::BuildGauge()
                       .Name("stream_subscribers")
                       .Help("Stream subscriptions (WebSocket and SSE) per instrument, summed")
                       .Register(r)
                       .Add({})),
      dropped_(prometheus::BuildCounter()
                   .Name("stream_frames_dropped_total")
                   .Help("Stream frames not delivered because an I/O thread's delivery queue "
                         "was full")
                   .Register(r)
                   .Add({})) {
  depth_family_ = &prometheus::BuildGauge()
                       .Name("current_orderbook_depth")
                       .Help("Price levels in the book")
                       .Register(r);
  resting_family_ = &prometheus::BuildGauge()
                         .Name("orderbook_resting_orders")
                         .Help("Resting orders in the book")
                         .Register(r);
  for (const auto& ins : instruments) add_instrument(ins);
}

void publish_probe::add_instrument(const engine::instrument& ins) {
  for (const char* s : {"buy", "sell"}) {
    depth_.push_back(&depth_family_->Add({{"instrument", ins.symbol}, {"side", s}}));
    resting_.push_back(&resting_family_->Add({{"instrument", ins.symbol}, {"side", s}}));
  }
}

void publish_probe::set_depth(engine::instrument_id ins, engine::side s, double levels,
                              double orders) {
  const std::size_t i = ins * 2 + (s == engine::side::buy ? 0 : 1);
  depth_[i]->Set(levels);
  resting_[i]->Set(orders);
}

}  // namespace matchd::publish
