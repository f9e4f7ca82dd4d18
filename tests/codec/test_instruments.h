// The instruments the codec tests parse against, and a check on both parser paths.

#pragma once

#include <matchd/engine/instrument.h>

#include <string>
#include <vector>

namespace matchd::codec {

// BTC-USD: tick 0.01, lot 0.00000001. ETH-USD: tick 0.05, lot 0.001.
inline const std::vector<engine::instrument>& test_instruments() {
  static const std::vector<engine::instrument> kInstruments = {
      engine::instrument::btc_usd(), *engine::instrument::parse_spec("ETH-USD:0.05:0.001")};
  return kInstruments;
}

// Runs `check` on `body` as clients send it and again with a nested unknown field, which
// only the SAX parser reads: both parser paths must answer alike.
template <class Check>
void both_paths(const std::string& body, Check check) {
  check(body);
  std::string nested = body;
  nested.insert(1, R"("x":{"y":[1]},)");
  check(nested);
}

}  // namespace matchd::codec
