#include <matchd/clearing/position_book.h>

#include <algorithm>

namespace matchd::clearing {

namespace {

const std::vector<position_book::held> kNone;

}  // namespace

position& position_book::at(const engine::client_id& client, engine::instrument_id instrument) {
  std::vector<held>& list = clients_[client];
  // A client holds few instruments: a sorted vector beats a map at every size that occurs.
  const auto it =
      std::lower_bound(list.begin(), list.end(), instrument,
                       [](const held& h, engine::instrument_id i) { return h.instrument < i; });
  if (it != list.end() && it->instrument == instrument) return it->pos;
  return list.insert(it, held{instrument, {}})->pos;
}

const position& position_book::apply(const engine::client_id& client,
                                     engine::instrument_id instrument, const fill& f,
                                     const quote_scale& scale) {
  position& p = at(client, instrument);
  p.apply(f, scale);
  return p;
}

void position_book::seed(const engine::client_id& client, engine::instrument_id instrument,
                         const position& p) {
  at(client, instrument) = p;
}

const std::vector<position_book::held>& position_book::of(const engine::client_id& client) const {
  const auto it = clients_.find(client);
  return it == clients_.end() ? kNone : it->second;
}

const position* position_book::find(const engine::client_id& client,
                                    engine::instrument_id instrument) const {
  for (const held& h : of(client)) {
    if (h.instrument == instrument) return &h.pos;
  }
  return nullptr;
}

}  // namespace matchd::clearing
