#include "jetstream_reader.h"

#include <nats/nats.h>

#include <atomic>
#include <memory>
#include <stdexcept>

namespace matchd::pgtest {

namespace {

void check(natsStatus s, const char* what) {
  if (s != NATS_OK) {
    throw std::runtime_error(std::string(what) + ": " + natsStatus_GetText(s));
  }
}

// A connection and its JetStream context, closed on scope exit.
struct js_session {
  explicit js_session(const std::string& url) {
    check(natsConnection_ConnectTo(&nc, url.c_str()), "connect to NATS");
    check(natsConnection_JetStream(&js, nc, nullptr), "JetStream context");
  }
  ~js_session() {
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
  }
  js_session(const js_session&) = delete;
  js_session& operator=(const js_session&) = delete;
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
};

}  // namespace

stream_state read_stream_state(const std::string& url, const std::string& stream) {
  js_session s(url);
  jsStreamInfo* si = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  const natsStatus st = js_GetStreamInfo(&si, s.js, stream.c_str(), nullptr, &code);
  stream_state out;
  if (st == NATS_NOT_FOUND || code == JSStreamNotFoundErr) return out;
  check(st, "stream info");
  out.exists = true;
  out.messages = si->State.Msgs;
  out.last_sequence = si->State.LastSeq;
  out.duplicate_window_ns = si->Config->Duplicates;
  for (int i = 0; i < si->Config->SubjectsLen; ++i)
    out.subjects.emplace_back(si->Config->Subjects[i]);
  jsStreamInfo_Destroy(si);
  return out;
}

std::vector<stream_message> read_stream(const std::string& url, const std::string& stream) {
  const stream_state state = read_stream_state(url, stream);
  std::vector<stream_message> out;
  if (state.messages == 0) return out;
  js_session s(url);
  static std::atomic<int> readers{0};
  const std::string durable =
      "test-reader-" + std::to_string(::getpid()) + "-" + std::to_string(readers.fetch_add(1));
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = stream.c_str();
  so.Config.AckPolicy = js_AckNone;
  so.Config.DeliverPolicy = js_DeliverAll;
  natsSubscription* sub = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  // The stream's own subject: a filter must lie within one of them.
  const std::string filter = state.subjects.size() == 1 ? state.subjects[0] : "matchd.>";
  check(js_PullSubscribe(&sub, s.js, filter.c_str(), durable.c_str(), nullptr, &so, &code),
        "pull subscribe");
  try {
    while (out.size() < state.messages) {
      natsMsgList list{};
      const natsStatus st = natsSubscription_Fetch(&list, sub, 1000, 5000, &code);
      if (st == NATS_TIMEOUT) {
        throw std::runtime_error("stream " + stream + ": read " + std::to_string(out.size()) +
                                 " of " + std::to_string(state.messages) + " messages");
      }
      check(st, "fetch");
      for (int i = 0; i < list.Count; ++i) {
        natsMsg* m = list.Msgs[i];
        stream_message one;
        jsMsgMetaData* meta = nullptr;
        check(natsMsg_GetMetaData(&meta, m), "metadata");
        one.stream_sequence = meta->Sequence.Stream;
        jsMsgMetaData_Destroy(meta);
        one.subject = natsMsg_GetSubject(m);
        const char* id = nullptr;
        if (natsMsgHeader_Get(m, "Nats-Msg-Id", &id) == NATS_OK && id != nullptr) one.msg_id = id;
        one.body = nlohmann::json::parse(
            std::string(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m))));
        out.push_back(std::move(one));
      }
      natsMsgList_Destroy(&list);
    }
  } catch (...) {
    natsSubscription_Destroy(sub);
    js_DeleteConsumer(s.js, stream.c_str(), durable.c_str(), nullptr, nullptr);
    throw;
  }
  natsSubscription_Destroy(sub);
  js_DeleteConsumer(s.js, stream.c_str(), durable.c_str(), nullptr, nullptr);
  return out;
}

bool publish_with_id(const std::string& url, const std::string& subject, const std::string& id,
                     const std::string& payload) {
  js_session s(url);
  natsMsg* m = nullptr;
  check(natsMsg_Create(&m, subject.c_str(), nullptr, payload.data(),
                       static_cast<int>(payload.size())),
        "message");
  check(natsMsgHeader_Set(m, "Nats-Msg-Id", id.c_str()), "header");
  jsPubAck* ack = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  const natsStatus st = js_PublishMsg(&ack, s.js, m, nullptr, &code);
  natsMsg_Destroy(m);
  check(st, "publish");
  const bool duplicate = ack->Duplicate;
  jsPubAck_Destroy(ack);
  return duplicate;
}

}  // namespace matchd::pgtest
