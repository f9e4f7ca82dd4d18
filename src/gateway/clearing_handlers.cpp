// The clearing routes: GET /positions. Positions are live: the publish stage answers from the
// positions it keeps as committed trades go by.

#include "http_session.h"
#include "query_string.h"

namespace matchd::gateway {

// GET /positions?client_id=&instrument=
void http_session::get_positions(request&, const path_params&, std::string_view query) {
  const query_params params(query);
  const auto selection = query_client(params);
  if (!selection) return;
  bus::read_query q;
  q.kind = bus::query_kind::get_positions;
  q.reply = {io_.index(), token_};
  q.client = selection->client;
  q.any_instrument = !selection->instrument;
  q.instrument = selection->instrument.value_or(0);
  send_query(q);
}

}  // namespace matchd::gateway
