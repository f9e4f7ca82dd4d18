#pragma once

#include <matchd/engine/client_scope.h>
#include <matchd/engine/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace matchd::clearing {

// Where the gateway sends the settlement routes (store::settlement_worker, in durable mode).
// Each call answers exactly once, possibly on another thread, with the body or why there is
// none.
class settlement_source {
 public:
  enum class status : std::uint8_t {
    created,       // 201: a new settlement
    existing,      // 200: the settlement of that cutoff, as it was made
    out_of_order,  // 409: a settlement with a later cutoff exists
    not_found,     // 404: no settlement with that id
    overloaded,    // 503: the queue is full
    unavailable,   // 503: the database is away or has not caught up
  };
  using done_fn = std::function<void(status, std::string body)>;

  virtual ~settlement_source() = default;
  // Nets every trade in [the previous cutoff, cutoff). `cutoff` is not in the future.
  virtual void settle(engine::timestamp_us cutoff, done_fn done) = 0;
  // The newest `limit` settlements, without their entries.
  virtual void list(std::size_t limit, done_fn done) = 0;
  // One settlement, its entries only of the clients in `scope` (null: every client), as JSON
  // or CSV.
  virtual void get(std::uint64_t settlement_id, bool csv, engine::client_scope scope,
                   done_fn done) = 0;
};

}  // namespace matchd::clearing
