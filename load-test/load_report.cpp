#include "load_report.h"

#include <cstdio>
#include <ostream>
#include <string>

namespace matchd::load {

namespace {

double ms(std::int64_t ns) {
  return static_cast<double>(ns) / 1e6;
}

nlohmann::json percentiles_ms(const latency_histogram& h) {
  return {
      {"count", h.count()},
      {"min", ms(h.min())},
      {"mean", h.mean() / 1e6},
      {"p50", ms(h.value_at_percentile(50))},
      {"p90", ms(h.value_at_percentile(90))},
      {"p99", ms(h.value_at_percentile(99))},
      {"p99_9", ms(h.value_at_percentile(99.9))},
      {"p99_99", ms(h.value_at_percentile(99.99))},
      {"max", ms(h.max())},
  };
}

// Non-empty buckets as [highest equivalent value in ns, count].
nlohmann::json buckets(const latency_histogram& h) {
  nlohmann::json out = nlohmann::json::array();
  for (std::size_t i = 0; i < latency_histogram::kBucketCount; ++i) {
    if (const std::uint64_t n = h.count_at_index(i)) {
      out.push_back({latency_histogram::highest_equivalent(i), n});
    }
  }
  return out;
}

std::string fixed(double v, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, v);
  return text;
}

}  // namespace

void load_stats::merge(const load_stats& o) {
  latency.merge(o.latency);
  send_delay.merge(o.send_delay);
  for (std::size_t i = 0; i < by_status.size(); ++i) by_status[i] += o.by_status[i];
  sent += o.sent;
  answered += o.answered;
  bad_status += o.bad_status;
  transport_errors += o.transport_errors;
  connect_errors += o.connect_errors;
  unmatched += o.unmatched;
  unfinished += o.unfinished;
  window_sent += o.window_sent;
  window_answered += o.window_answered;
  window_ok += o.window_ok;
  window_last_answer_ns = std::max(window_last_answer_ns, o.window_last_answer_ns);
}

load_summary summarize(const load_plan& plan, const load_stats& stats) {
  load_summary s;
  for (std::size_t code = 0; code < stats.by_status.size(); ++code) {
    const std::uint64_t n = stats.by_status[code];
    if (code >= 200 && code < 300) {
      s.count_2xx += n;
    } else if (code >= 400 && code < 500) {
      s.count_4xx += n;
    } else if (code >= 500) {
      s.count_5xx += n;
    } else {
      s.count_other += n;
    }
  }
  s.count_other += stats.bad_status;
  s.errors = s.count_4xx + s.count_5xx + s.count_other + stats.transport_errors +
             stats.connect_errors + stats.unmatched + stats.unfinished;
  // A time-bounded window lasts at least its nominal length; a slower target stretches it.
  std::int64_t span = stats.window_last_answer_ns - plan.window_begin_ns;
  if (plan.window_end_ns != std::numeric_limits<std::int64_t>::max()) {
    span = std::max(span, plan.window_end_ns - plan.window_begin_ns);
  }
  if (span > 0 && stats.window_answered > 0) {
    s.measured_s = static_cast<double>(span) / 1e9;
    s.throughput = static_cast<double>(stats.window_answered) / s.measured_s;
    s.ok_throughput = static_cast<double>(stats.window_ok) / s.measured_s;
  }
  return s;
}

nlohmann::json report_json(const load_plan& plan, const load_stats& stats,
                           const load_summary& summary, double elapsed_s) {
  const load_config& cfg = *plan.config;
  nlohmann::json status = nlohmann::json::object();
  for (std::size_t code = 0; code < stats.by_status.size(); ++code) {
    if (stats.by_status[code]) status[std::to_string(code)] = stats.by_status[code];
  }
  nlohmann::json r = {
      {"schema", "matchd-load/1"},
      {"label", cfg.label},
      {"mode", cfg.mode == load_mode::http ? "http" : "ws"},
      {"target", plan.host_header},
      {"loop", plan.open_loop ? "open" : "closed"},
      {"offered_rate", plan.open_loop ? nlohmann::json(cfg.rate) : nlohmann::json(nullptr)},
      {"connections", cfg.connections},
      {"threads", cfg.threads},
      {"max_inflight", cfg.mode == load_mode::ws ? cfg.max_inflight : 1U},
      {"tick_us", plan.open_loop ? nlohmann::json(cfg.tick_us) : nlohmann::json(nullptr)},
      {"warmup_s", cfg.warmup_s},
      {"duration_s", cfg.duration_given || cfg.requests == 0 ? nlohmann::json(cfg.duration_s)
                                                             : nlohmann::json(nullptr)},
      {"requests_limit", cfg.requests ? nlohmann::json(cfg.requests) : nlohmann::json(nullptr)},
      {"fixture", cfg.fixture_path},
      {"fixture_orders", plan.orders->size()},
      {"elapsed_s", elapsed_s},
      {"measured_s", summary.measured_s},
      {"throughput", summary.throughput},
      {"ok_throughput", summary.ok_throughput},
      {"counts",
       {
           {"sent", stats.sent},
           {"answered", stats.answered},
           {"status", status},
           {"2xx", summary.count_2xx},
           {"4xx", summary.count_4xx},
           {"5xx", summary.count_5xx},
           {"other_status", summary.count_other},
           {"transport_errors", stats.transport_errors},
           {"connect_errors", stats.connect_errors},
           {"unmatched", stats.unmatched},
           {"unfinished", stats.unfinished},
           {"errors", summary.errors},
       }},
      {"window",
       {{"sent", stats.window_sent}, {"answered", stats.window_answered}, {"ok", stats.window_ok}}},
      {"latency_ms", percentiles_ms(stats.latency)},
      {"latency_reference", plan.open_loop ? "intended send time (coordinated omission corrected)"
                                           : "actual send time (closed loop)"},
      {"send_delay_ms",
       plan.open_loop ? percentiles_ms(stats.send_delay) : nlohmann::json(nullptr)},
      {"latency_histogram_ns", buckets(stats.latency)},
  };
  return r;
}

void print_report(std::ostream& out, const nlohmann::json& r) {
  const auto& c = r["counts"];
  const auto& l = r["latency_ms"];
  out << "matchd-load ";
  if (const auto& label = r["label"].get_ref<const std::string&>(); !label.empty()) {
    out << '[' << label << "] ";
  }
  out << r["mode"].get<std::string>() << ' ' << r["loop"].get<std::string>() << " loop -> "
      << r["target"].get<std::string>() << ", " << r["connections"].get<unsigned>()
      << " connections, " << r["threads"].get<unsigned>() << " thread(s)";
  if (r["mode"] == "ws") out << ", " << r["max_inflight"].get<unsigned>() << " in flight/conn";
  out << '\n';
  if (r["offered_rate"].is_number()) {
    out << "  offered     " << fixed(r["offered_rate"].get<double>(), 0) << " req/s\n";
  }
  out << "  throughput  " << fixed(r["throughput"].get<double>(), 1) << " answers/s ("
      << fixed(r["ok_throughput"].get<double>(), 1) << " 2xx/s) over "
      << fixed(r["measured_s"].get<double>(), 2) << " s measured, "
      << fixed(r["elapsed_s"].get<double>(), 2) << " s total\n";
  out << "  requests    sent " << c["sent"].get<std::uint64_t>() << ", answered "
      << c["answered"].get<std::uint64_t>() << ", measured "
      << r["window"]["answered"].get<std::uint64_t>() << '\n';
  out << "  status     ";
  for (const auto& [code, n] : c["status"].items())
    out << ' ' << code << ": " << n.get<std::uint64_t>();
  out << "\n  errors      " << c["errors"].get<std::uint64_t>() << " (4xx "
      << c["4xx"].get<std::uint64_t>() << ", 5xx " << c["5xx"].get<std::uint64_t>() << ", other "
      << c["other_status"].get<std::uint64_t>() << ", transport "
      << c["transport_errors"].get<std::uint64_t>() << ", connect "
      << c["connect_errors"].get<std::uint64_t>() << ", unmatched "
      << c["unmatched"].get<std::uint64_t>() << ", unfinished "
      << c["unfinished"].get<std::uint64_t>() << ")\n";
  auto line = [&out](const char* name, const nlohmann::json& p) {
    out << "  " << name << " ms  p50 " << fixed(p["p50"].get<double>(), 3) << "  p90 "
        << fixed(p["p90"].get<double>(), 3) << "  p99 " << fixed(p["p99"].get<double>(), 3)
        << "  p99.9 " << fixed(p["p99_9"].get<double>(), 3) << "  max "
        << fixed(p["max"].get<double>(), 3) << "  (mean " << fixed(p["mean"].get<double>(), 3)
        << ", n=" << p["count"].get<std::uint64_t>() << ")\n";
  };
  line("latency   ", l);
  if (r["send_delay_ms"].is_object()) line("send delay", r["send_delay_ms"]);
  out << "  (latency of 2xx answers from the " << r["latency_reference"].get<std::string>()
      << ")\n";
}

}  // namespace matchd::load
