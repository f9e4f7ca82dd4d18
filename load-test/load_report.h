#pragma once

#include <iosfwd>
#include <nlohmann/json.hpp>

#include "load_plan.h"

namespace matchd::load {

// The figures of a finished run, derived from the merged statistics.
struct load_summary {
  double measured_s = 0;     // from the window start to the last measured answer
  double throughput = 0;     // measured answers per second
  double ok_throughput = 0;  // measured 2xx answers per second
  std::uint64_t count_2xx = 0;
  std::uint64_t count_4xx = 0;
  std::uint64_t count_5xx = 0;
  std::uint64_t count_other = 0;  // 1xx, 3xx and out-of-range statuses
  std::uint64_t errors = 0;       // everything that is not a 2xx answer, incl. transport
};

[[nodiscard]] load_summary summarize(const load_plan& plan, const load_stats& stats);

// The JSON report (schema "matchd-load/1"), for --json and for scripts.
[[nodiscard]] nlohmann::json report_json(const load_plan& plan, const load_stats& stats,
                                         const load_summary& summary, double elapsed_s);

// The same, for people.
void print_report(std::ostream& out, const nlohmann::json& report);

}  // namespace matchd::load
