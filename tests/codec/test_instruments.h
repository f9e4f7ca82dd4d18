// The instruments the codec tests parse against.

#pragma once

#include <matchd/engine/instrument.h>

#include <vector>

namespace matchd::codec {

// BTC-USD: tick 0.01, lot 0.00000001. ETH-USD: tick 0.05, lot 0.001.
inline const std::vector<engine::instrument>& test_instruments() {
  static const std::vector<engine::instrument> kInstruments = {
      engine::instrument::btc_usd(), *engine::instrument::parse_spec("ETH-USD:0.05:0.001")};
  return kInstruments;
}

}  // namespace matchd::codec
