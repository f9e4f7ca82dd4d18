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

void on_ack(jsCtx* /*js*/, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* closure) {
  auto* link = static_cast<jetstream_link*>(closure);
  if (pa != nullptr) {
    link->acknowledged(true, pa->Duplicate, 0, {});
  } else {
    link->acknowledged(false, false, pae != nullptr ? static_cast<int>(pae->ErrCode) : 0,
                       pae != nullptr && pae->ErrText != nullptr
                           ? pae->ErrText
                           : (pae != nullptr ? natsStatus_GetText(pae->Err) : "no answer"));
  }
  natsMsg_Destroy(msg);
}

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
  // A round's events are all in flight at once; the exporter bounds a round, not cnats.
  js_opts.PublishAsync.MaxPending = 1 << 20;
  js_opts.PublishAsync.AckHandler = on_ack;
  js_opts.PublishAsync.AckHandlerClosure = this;
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

std::uint64_t jetstream_link::last_sequence() {
  jsStreamInfo* raw = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  check_js(js_GetStreamInfo(&raw, js_, stream_.c_str(), nullptr, &code), code,
           "cannot read the JetStream stream");
  const std::unique_ptr<jsStreamInfo, stream_info_deleter> info(raw);
  if (info->State.Msgs == 0 && info->State.LastSeq == 0) return 0;
  natsMsg* m = nullptr;
  code = static_cast<jsErrCode>(0);
  check_js(js_GetMsg(&m, js_, stream_.c_str(), info->State.LastSeq, nullptr, &code), code,
           "cannot read the stream's last message");
  const std::unique_ptr<natsMsg, msg_deleter> last(m);
  const char* id = nullptr;
  if (natsMsgHeader_Get(last.get(), kMsgId, &id) != NATS_OK || id == nullptr) {
    throw link_error("the stream " + stream_ + "'s last message has no " + kMsgId +
                     ": another publisher writes matchd's subjects");
  }
  std::uint64_t seq = 0;
  const std::string_view text(id);
  if (std::from_chars(text.data(), text.data() + text.size(), seq).ec != std::errc{}) {
    throw link_error("the stream " + stream_ + "'s last message has " + kMsgId + " " +
                     std::string(text) + ", not a sequence number");
  }
  return seq;
}

void jetstream_link::publish(const std::vector<outgoing_event>& events, std::uint64_t previous) {
  {
    std::lock_guard lock(mutex_);
    answered_ = 0;
    failed_ = 0;
    duplicates_ = 0;
    first_error_.clear();
  }
  jsPubOptions pub;
  jsPubOptions_Init(&pub);
  pub.MaxWait = ack_wait_.count();
  std::string id;
  std::string expected = std::to_string(previous);
  for (const outgoing_event& e : events) {
    natsMsg* m = nullptr;
    check(natsMsg_Create(&m, e.subject.c_str(), nullptr, e.payload.data(),
                         static_cast<int>(e.payload.size())),
          "NATS message");
    id = std::to_string(e.sequence);
    natsStatus s = natsMsgHeader_Set(m, kMsgId, id.c_str());
    if (s == NATS_OK && previous != 0)
      s = natsMsgHeader_Set(m, kExpectedLastMsgId, expected.c_str());
    if (s == NATS_OK) s = js_PublishMsgAsync(js_, &m, &pub);
    if (s != NATS_OK) {
      natsMsg_Destroy(m);  // null once the library took it
      check(s, "cannot publish to JetStream");
    }
    previous = e.sequence;
    expected = id;
  }
  // Every message has its own MaxWait, so each is answered (an ack, an error, a timeout);
  // the extra second covers the answers' delivery.
  std::unique_lock lock(mutex_);
  if (!done_.wait_for(lock, ack_wait_ + std::chrono::seconds(1),
                      [&] { return answered_ == events.size(); })) {
    throw link_error("JetStream acknowledged " + std::to_string(answered_) + " of " +
                     std::to_string(events.size()) + " events in time");
  }
  if (failed_ != 0) {
    throw link_error(std::to_string(failed_) + " of " + std::to_string(events.size()) +
                     " events refused by JetStream, first: " + first_error_);
  }
}

void jetstream_link::acknowledged(bool ok, bool duplicate, int error_code,
                                  const std::string& error) {
  std::lock_guard lock(mutex_);
  ++answered_;
  if (duplicate) ++duplicates_;
  if (!ok) {
    if (failed_++ == 0) {
      first_error_ = error + (error_code != 0 ? " (" + std::to_string(error_code) + ")" : "");
    }
  }
  done_.notify_one();
}

}  // namespace matchd::event_export
