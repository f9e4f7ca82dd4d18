#include "jetstream_link.h"

#include <nats/nats.h>

#include <algorithm>
#include <charconv>
#include <memory>

namespace matchd::event_export {

namespace {

// Headers JetStream reads: the id its duplicate window keys on, and the id the stream's last
// message must have for this one to be stored (so nothing is stored out of order).
constexpr const char* kMsgId = "Nats-Msg-Id";
constexpr const char* kExpectedLastMsgId = "Nats-Expected-Last-Msg-Id";

std::string describe(natsStatus s) {
  std::string out = natsStatus_GetText(s);
  natsStatus ignored = NATS_OK;
  if (const char* last = nats_GetLastError(&ignored); last != nullptr && *last != '\0') {
    out += ": ";
    out += last;
  }
  return out;
}

void check(natsStatus s, const char* what) {
  if (s != NATS_OK) throw link_error(std::string(what) + ": " + describe(s));
}

void check_js(natsStatus s, jsErrCode code, const char* what) {
  if (s == NATS_OK) return;
  throw link_error(std::string(what) + ": " + describe(s) +
                   (code != 0 ? " (JetStream error " + std::to_string(code) + ")" : ""));
}

struct options_deleter {
  void operator()(natsOptions* o) const { natsOptions_Destroy(o); }
};
struct stream_info_deleter {
  void operator()(jsStreamInfo* si) const { jsStreamInfo_Destroy(si); }
};
struct msg_deleter {
  void operator()(natsMsg* m) const { natsMsg_Destroy(m); }
};

}  // namespace

jetstream_link::jetstream_link(const std::string& url, std::string stream,
                               std::chrono::milliseconds ack_wait)
    : stream_(std::move(stream)), ack_wait_(ack_wait) {
  natsOptions* raw = nullptr;
  check(natsOptions_Create(&raw), "NATS options");
  const std::unique_ptr<natsOptions, options_deleter> opts(raw);
  check(natsOptions_SetURL(opts.get(), url.c_str()), "NATS URL");
  check(natsOptions_SetName(opts.get(), "matchd-export"), "NATS options");
  check(natsOptions_SetTimeout(opts.get(), 2000), "NATS options");
  // A dropped connection ends this link: the exporter makes a new one from its durable
  // position, rather than cnats replaying a buffer of publishes after a reconnect.
  check(natsOptions_SetAllowReconnect(opts.get(), false), "NATS options");
  check(natsConnection_Connect(&connection_, opts.get()), "cannot connect to NATS");
  jsOptions js_opts;
  jsOptions_Init(&js_opts);
  js_opts.Wait = ack_wait.count();
  if (const natsStatus s = natsConnection_JetStream(&js_, connection_, &js_opts); s != NATS_OK) {
    natsConnection_Destroy(connection_);
    connection_ = nullptr;
    check(s, "JetStream context");
  }
}

jetstream_link::~jetstream_link() {
  // Closing first: no acknowledgement handler runs once the connection is closed.
  if (connection_ != nullptr) natsConnection_Close(connection_);
  if (js_ != nullptr) jsCtx_Destroy(js_);
  if (connection_ != nullptr) natsConnection_Destroy(connection_);
}

void jetstream_link::ensure_stream(const std::vector<std::string>& wanted,
                                   std::chrono::seconds duplicate_window) {
  jsStreamInfo* raw = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  const natsStatus s = js_GetStreamInfo(&raw, js_, stream_.c_str(), nullptr, &code);
  const std::unique_ptr<jsStreamInfo, stream_info_deleter> info(raw);
  std::vector<const char*> subjects;
  if (s == NATS_NOT_FOUND || code == JSStreamNotFoundErr) {
    for (const std::string& w : wanted) subjects.push_back(w.c_str());
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = stream_.c_str();
    cfg.Description = "matchd's committed events (orders, trades, book, settlements)";
    cfg.Subjects = subjects.data();
    cfg.SubjectsLen = static_cast<int>(subjects.size());
    cfg.Storage = js_FileStorage;
    cfg.Retention = js_LimitsPolicy;
    cfg.Duplicates = std::chrono::duration_cast<std::chrono::nanoseconds>(duplicate_window).count();
    jsStreamInfo* created = nullptr;
    code = static_cast<jsErrCode>(0);
    const natsStatus add = js_AddStream(&created, js_, &cfg, nullptr, &code);
    jsStreamInfo_Destroy(created);
    check_js(add, code, "cannot create the JetStream stream");
    return;
  }
  check_js(s, code, "cannot read the JetStream stream");
  // It exists: add the subjects it lacks (an instrument added since), keep the rest as the
  // operator made it.
  const jsStreamConfig& have = *info->Config;
  for (int i = 0; i < have.SubjectsLen; ++i) subjects.push_back(have.Subjects[i]);
  const std::size_t before = subjects.size();
  for (const std::string& w : wanted) {
    if (std::none_of(subjects.begin(), subjects.end(), [&](const char* x) { return w == x; })) {
      subjects.push_back(w.c_str());
    }
  }
  if (subjects.size() == before) return;
  jsStreamConfig cfg = have;
  cfg.Subjects = subjects.data();
  cfg.SubjectsLen = static_cast<int>(subjects.size());
  jsStreamInfo* updated = nullptr;
  code = static_cast<jsErrCode>(0);
  const natsStatus upd = js_UpdateStream(&updated, js_, &cfg, nullptr, &code);
  jsStreamInfo_Destroy(updated);
  check_js(upd, code, "cannot add subjects to the JetStream stream");
}

stream_end jetstream_link::end() {
  jsStreamInfo* raw = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  check_js(js_GetStreamInfo(&raw, js_, stream_.c_str(), nullptr, &code), code,
           "cannot read the JetStream stream");
  const std::unique_ptr<jsStreamInfo, stream_info_deleter> info(raw);
  stream_end out;
  if (info->State.Msgs == 0) return out;
  // Back from the last message to the newest event: settlements (ids that are not numbers)
  // are a few at most. A message removed by the stream's limits is passed over.
  for (std::uint64_t seq = info->State.LastSeq; seq >= info->State.FirstSeq && seq > 0; --seq) {
    natsMsg* m = nullptr;
    code = static_cast<jsErrCode>(0);
    const natsStatus s = js_GetMsg(&m, js_, stream_.c_str(), seq, nullptr, &code);
    if (s == NATS_NOT_FOUND) continue;
    check_js(s, code, "cannot read the stream's messages");
    const std::unique_ptr<natsMsg, msg_deleter> msg(m);
    const char* id = nullptr;
    if (natsMsgHeader_Get(msg.get(), kMsgId, &id) != NATS_OK || id == nullptr) {
      throw link_error("the stream " + stream_ + " holds a message without " + kMsgId +
                       ": another publisher writes matchd's subjects");
    }
    const std::string_view text(id);
    if (out.last_id.empty()) out.last_id = text;
    std::uint64_t event = 0;
    if (std::from_chars(text.data(), text.data() + text.size(), event).ec == std::errc{}) {
      out.last_event = event;
      break;
    }
  }
  return out;
}

void jetstream_link::publish(const std::vector<outgoing_event>& events, std::string previous) {
  if (events.empty()) return;
  // All but the last go as plain publishes, which JetStream stores without answering each;
  // the last goes with an acknowledgement. One connection's messages reach the stream in
  // order, and each expects the one before it as the stream's last message, so a message
  // lost or refused makes every later one refused: the last one stored (and not as a
  // duplicate) proves that all of them were, in order. Acknowledging each message instead
  // cost a reply subject, an answer and a callback per event, and halved the rate.
  const auto build = [&](const outgoing_event& e) {
    natsMsg* m = nullptr;
    check(natsMsg_Create(&m, e.subject.c_str(), nullptr, e.payload.data(),
                         static_cast<int>(e.payload.size())),
          "NATS message");
    std::unique_ptr<natsMsg, msg_deleter> msg(m);
    check(natsMsgHeader_Set(m, kMsgId, e.msg_id.c_str()), "NATS header");
    if (!previous.empty()) {
      check(natsMsgHeader_Set(m, kExpectedLastMsgId, previous.c_str()), "NATS header");
    }
    previous = e.msg_id;
    return msg;
  };
  for (std::size_t i = 0; i + 1 < events.size(); ++i) {
    const auto msg = build(events[i]);
    check(natsConnection_PublishMsg(connection_, msg.get()), "cannot publish to NATS");
  }
  const auto last = build(events.back());
  jsPubOptions pub;
  jsPubOptions_Init(&pub);
  pub.MaxWait = ack_wait_.count();
  jsPubAck* raw = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  const natsStatus s = js_PublishMsg(&raw, js_, last.get(), &pub, &code);
  const std::unique_ptr<jsPubAck, void (*)(jsPubAck*)> ack(raw, jsPubAck_Destroy);
  check_js(s, code, "JetStream did not store the round");
  if (ack->Duplicate) {
    // Only when the stream held more than the exporter read from it: read its end again.
    throw link_error("JetStream already held event " + events.back().msg_id);
  }
}

}  // namespace matchd::event_export
