#include <gtest/gtest.h>
#include <matchd/codec/wire.h>
#include <matchd/publish/publish_stage.h>

#include <chrono>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "thread_state.h"
#include "wait.h"

namespace matchd::publish {
namespace {

using namespace std::chrono_literals;

constexpr std::uint64_t kToken = 7;
// The publish stage's thread, as test::wait_until_asleep knows it.
constexpr std::string_view kPublishThread = "matchd-publish";

// A publish stage wired to one I/O thread whose delivery queue the test drains by hand, so
// it can let the queue fill up the way a busy I/O thread would.
class publish_fixture : public ::testing::Test {
 protected:
  static constexpr std::size_t kDeliveryCapacity = 64;
  static constexpr std::size_t kReserve = 40;
  // A frame is queued while the queue has at least kReserve free slots.
  static constexpr std::size_t kFramesThatFit = kDeliveryCapacity - kReserve + 1;

  publish_fixture()
      : registry_(obs::make_registry()),
        order_flow_(*registry_),
        queries_(16),
        deliveries_(kDeliveryCapacity),
        committed_(8),
        recycle_(8) {
    publish_options options;
    options.delivery_reserve = kReserve;
    stage_ = std::make_unique<publish_stage>(
        std::vector<engine::instrument>{engine::instrument::btc_usd()},
        std::vector<io_link>{{&queries_, &deliveries_, [] {}}}, committed_, recycle_, [] {},
        *registry_, order_flow_, options);
    stage_->start();
  }
  ~publish_fixture() override { stage_->stop(); }

  void subscribe_everything() {
    bus::read_query q;
    q.kind = bus::query_kind::subscribe;
    q.reply = {0, kToken};
    q.channels = bus::channel_trades | bus::channel_orderbook | bus::channel_orders;
    ASSERT_TRUE(queries_.try_push(q));
    stage_->notify();
  }

  // One command whose events are `deltas` level deltas at consecutive prices.
  void publish_deltas(std::uint32_t deltas) {
    batch_.clear();
    bus::command_outcome c;
    c.sequence = ++sequence_;
    c.end_event = deltas;
    batch_.commands.push_back(c);
    for (std::uint32_t i = 0; i < deltas; ++i) {
      engine::level_delta d;
      d.price = engine::price_ticks{1000 + next_price_++};
      d.quantity = engine::quantity_lots{1};
      d.orders = 1;
      d.sequence = c.sequence;
      batch_.events.emplace_back(d);
    }
    ASSERT_TRUE(committed_.try_push(&batch_));
    stage_->notify();
    // The stage hands the batch back once it has published it.
    ASSERT_TRUE(test::wait_until([&] { return recycle_.front() != nullptr; }, 10s, 1ms))
        << "batch never published";
    recycle_.pop();
  }

  // Everything queued for the I/O thread now, after the stage has had time to add more.
  std::vector<bus::io_delivery> drain(std::size_t at_least) {
    std::vector<bus::io_delivery> got;
    (void)test::wait_until(
        [&] {
          while (bus::io_delivery* d = deliveries_.front()) {
            got.push_back(std::move(*d));
            deliveries_.pop();
          }
          return got.size() >= at_least;
        },
        10s, 1ms);
    return got;
  }

  std::shared_ptr<obs::registry> registry_;
  obs::order_flow_metrics order_flow_;
  bus::spsc_queue<bus::read_query> queries_;
  bus::spsc_queue<bus::io_delivery> deliveries_;
  bus::spsc_queue<bus::engine_batch*> committed_;
  bus::spsc_queue<bus::engine_batch*> recycle_;
  std::unique_ptr<publish_stage> stage_;
  bus::engine_batch batch_;
  engine::sequence_number sequence_ = 0;
  std::int64_t next_price_ = 0;
};

std::size_t count(const std::vector<bus::io_delivery>& ds, bus::io_delivery::kind k) {
  std::size_t n = 0;
  for (const auto& d : ds) n += d.what == k ? 1 : 0;
  return n;
}

TEST_F(publish_fixture, frames_that_fit_are_delivered_in_full) {
  subscribe_everything();
  ASSERT_EQ(drain(2).size(), 2u);  // the subscription's ack and the book snapshot
  publish_deltas(10);
  const auto got = drain(10);
  EXPECT_EQ(count(got, bus::io_delivery::kind::stream), 10u);
  EXPECT_EQ(count(got, bus::io_delivery::kind::evict), 0u);
}

// A subscriber that would get a stream with a hole in it is disconnected instead: it gets
// the frames that fit, then nothing more, and its I/O thread is told to close it.
TEST_F(publish_fixture, a_subscriber_that_misses_a_frame_is_evicted_not_left_with_a_gap) {
  subscribe_everything();
  ASSERT_EQ(drain(2).size(), 2u);
  publish_deltas(100);
  std::vector<bus::io_delivery> got = drain(kFramesThatFit + 1);
  ASSERT_EQ(got.size(), kFramesThatFit + 1);
  for (std::size_t i = 0; i < kFramesThatFit; ++i) {
    EXPECT_EQ(got[i].what, bus::io_delivery::kind::stream) << "delivery " << i;
    EXPECT_EQ(got[i].token, kToken);
  }
  EXPECT_EQ(got.back().what, bus::io_delivery::kind::evict);
  EXPECT_EQ(got.back().token, kToken);

  // Nothing more reaches it, though the queue has room again. The stage sleeps without a
  // timeout only when no eviction notice is waiting for room: once it does so after this
  // batch (a new futex value: the batch's notify bumped it), it has sent all it ever will.
  const std::optional<test::futex_wait> idle = test::wait_until_asleep(
      kPublishThread, 10s, [](const test::futex_wait& w) { return !w.timed; });
  ASSERT_TRUE(idle.has_value()) << "the publish stage did not go idle after the eviction";
  publish_deltas(5);
  got = drain(0);
  ASSERT_TRUE(test::wait_until_asleep(kPublishThread, 10s,
                                      [&](const test::futex_wait& w) {
                                        return !w.timed && w.address == idle->address &&
                                               w.value != idle->value;
                                      })
                  .has_value())
      << "the publish stage did not go idle after the batch";
  const auto more = drain(0);
  got.insert(got.end(), more.begin(), more.end());
  EXPECT_EQ(count(got, bus::io_delivery::kind::stream), 0u);
  EXPECT_EQ(count(got, bus::io_delivery::kind::evict), 0u) << "evicted twice";
}

// The notice itself may not fit at first; it is sent once the I/O thread makes room.
TEST_F(publish_fixture, the_eviction_notice_waits_for_room) {
  subscribe_everything();
  ASSERT_EQ(drain(2).size(), 2u);
  // Answers to reads fill the queue to the brim: neither a frame nor the notice fits.
  constexpr std::size_t kAnswers = kDeliveryCapacity;
  for (std::size_t i = 0; i < kAnswers; ++i) {
    bus::read_query q;
    q.kind = bus::query_kind::get_orderbook;
    q.reply = {0, 1000 + i};
    q.limit = 1;
    while (!queries_.try_push(q)) std::this_thread::yield();
    stage_->notify();
  }
  ASSERT_TRUE(test::wait_until([&] { return deliveries_.size() >= kAnswers; }, 10s, 1ms))
      << deliveries_.size() << " of " << kAnswers << " answers queued";
  publish_deltas(100);
  std::vector<bus::io_delivery> got = drain(kAnswers + 1);
  ASSERT_EQ(got.size(), kAnswers + 1) << "the notice never came after the queue drained";
  EXPECT_EQ(count(got, bus::io_delivery::kind::stream), 0u);
  EXPECT_EQ(count(got, bus::io_delivery::kind::evict), 1u);
}

}  // namespace
}  // namespace matchd::publish

namespace matchd::publish {
namespace {

// The retention horizon: the engine stage's word that an order was forgotten
// (engine_batch::expired_orders) takes it out of the order view, so GET /orders/{id} is 404.
TEST_F(publish_fixture, an_order_the_engine_forgot_leaves_the_order_view) {
  const auto get_order_status = [&] {
    bus::read_query q;
    q.kind = bus::query_kind::get_order;
    q.reply = {0, kToken};
    q.id = engine::order_id::from("gone");
    EXPECT_TRUE(queries_.try_push(q));
    stage_->notify();
    const std::vector<bus::io_delivery> got = drain(1);
    return got.empty() ? 0 : got.front().status;
  };
  const auto publish = [&] {
    ASSERT_TRUE(committed_.try_push(&batch_));
    stage_->notify();
    ASSERT_TRUE(test::wait_until([&] { return recycle_.front() != nullptr; }, 10s, 1ms));
    recycle_.pop();
  };

  batch_.clear();
  bus::command_outcome c;
  c.sequence = 1;
  c.subject = engine::order_id::from("gone");
  c.end_event = 1;
  batch_.commands.push_back(c);
  engine::order o;
  o.id = c.subject;
  o.status = engine::order_status::cancelled;
  o.quantity = engine::quantity_lots{1};
  o.sequence = 1;
  batch_.events.emplace_back(o);
  publish();
  EXPECT_EQ(get_order_status(), 200);

  batch_.clear();
  batch_.expired_orders.push_back(engine::order_id::from("gone"));
  publish();
  EXPECT_EQ(get_order_status(), 404);
}

// Durable mode: an order the view does not hold is asked of the history reader
// (store/history_reader.h), never looked up on this thread; the stage delivers the reader's
// answer, formatted as it formats its own.
class publish_history : public ::testing::Test {
 protected:
  publish_history()
      : registry_(obs::make_registry()),
        order_flow_(*registry_),
        queries_(16),
        deliveries_(64),
        committed_(8),
        recycle_(8),
        history_queries_(2),
        history_answers_(8) {
    publish_options options;
    options.delivery_reserve = 40;
    stage_ = std::make_unique<publish_stage>(
        std::vector<engine::instrument>{engine::instrument::btc_usd()},
        std::vector<io_link>{{&queries_, &deliveries_, [] {}}}, committed_, recycle_, [] {},
        *registry_, order_flow_, options);
    stage_->attach_history({&history_queries_, &history_answers_, [] {}});
    stage_->start();
  }
  ~publish_history() override { stage_->stop(); }

  void get(std::uint64_t token, std::string_view id) {
    bus::read_query q;
    q.kind = bus::query_kind::get_order;
    q.reply = {0, token};
    q.id = engine::order_id::from(id);
    ASSERT_TRUE(queries_.try_push(q));
    stage_->notify();
  }
  void answer(bus::history_answer a) {
    ASSERT_TRUE(history_answers_.try_push(std::move(a)));
    stage_->notify();
  }
  std::optional<bus::io_delivery> next() {
    std::optional<bus::io_delivery> got;
    (void)test::wait_until(
        [&] {
          if (bus::io_delivery* d = deliveries_.front()) {
            got = std::move(*d);
            deliveries_.pop();
          }
          return got.has_value();
        },
        10s, 1ms);
    return got;
  }

  std::shared_ptr<obs::registry> registry_;
  obs::order_flow_metrics order_flow_;
  bus::spsc_queue<bus::read_query> queries_;
  bus::spsc_queue<bus::io_delivery> deliveries_;
  bus::spsc_queue<bus::engine_batch*> committed_;
  bus::spsc_queue<bus::engine_batch*> recycle_;
  bus::spsc_queue<bus::history_query> history_queries_;
  bus::spsc_queue<bus::history_answer> history_answers_;
  std::unique_ptr<publish_stage> stage_;
};

TEST_F(publish_history, a_miss_is_asked_of_the_history_reader_and_its_answers_delivered) {
  get(11, "old");
  ASSERT_TRUE(test::wait_until([&] { return history_queries_.front() != nullptr; }, 10s, 1ms));
  const bus::history_query q = *history_queries_.front();
  history_queries_.pop();
  EXPECT_EQ(q.io_thread, 0u);
  EXPECT_EQ(q.token, 11u);
  EXPECT_EQ(q.id.view(), "old");
  EXPECT_GT(q.asked_ns, 0);
  EXPECT_EQ(deliveries_.front(), nullptr) << "answered before the history reader did";

  bus::history_answer found;
  found.io_thread = 0;
  found.token = 11;
  found.what = bus::history_answer::result::found;
  found.order.id = engine::order_id::from("old");
  found.order.client = engine::client_id::from("client-A");
  found.order.status = engine::order_status::filled;
  found.order.price = engine::price_ticks{10000};
  found.order.quantity = engine::quantity_lots{100000000};
  found.order.filled = found.order.quantity;
  found.order.notional = engine::int128{10000} * 100000000;
  found.order.sequence = 4;
  answer(found);
  std::optional<bus::io_delivery> d = next();
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->token, 11u);
  EXPECT_EQ(d->status, 200);
  std::string expected = "{\"order\":";
  codec::append_order(expected, found.order, engine::instrument::btc_usd());
  expected += '}';
  ASSERT_NE(d->body, nullptr);
  EXPECT_EQ(*d->body, expected);

  const auto status_and_code = [&](bus::history_answer::result r) {
    bus::history_answer a;
    a.token = 12;
    a.what = r;
    a.order.id = engine::order_id::from("old");
    answer(a);
    std::optional<bus::io_delivery> got = next();
    if (!got || got->body == nullptr) return std::pair<int, std::string>{0, ""};
    const std::size_t at = got->body->find("\"code\":\"");
    const std::size_t end = got->body->find('"', at + 8);
    return std::pair<int, std::string>{got->status, got->body->substr(at + 8, end - at - 8)};
  };
  EXPECT_EQ(status_and_code(bus::history_answer::result::not_found),
            (std::pair<int, std::string>{404, "order_not_found"}));
  EXPECT_EQ(status_and_code(bus::history_answer::result::unavailable),
            (std::pair<int, std::string>{503, "not_ready"}));
  EXPECT_EQ(status_and_code(bus::history_answer::result::not_applied),
            (std::pair<int, std::string>{503, "not_ready"}));
}

// GET /orders?status=all in durable mode: the page of the orders table, merged with the
// view when the answer comes. The view's state of an order wins over a row the applier has
// not updated yet, and an order newer than the table comes from the view alone.
TEST_F(publish_history, a_history_page_is_merged_with_the_view) {
  const auto order_of = [](std::string_view id, engine::sequence_number created,
                           engine::order_status status) {
    engine::order o;
    o.id = engine::order_id::from(id);
    o.client = engine::client_id::from("alice");
    o.status = status;
    o.price = engine::price_ticks{10000};
    o.quantity = engine::quantity_lots{100};
    o.created_sequence = created;
    o.sequence = created;
    return o;
  };
  bus::engine_batch batch;
  bus::command_outcome c;
  c.sequence = 10;
  c.end_event = 2;
  batch.commands.push_back(c);
  batch.events.emplace_back(order_of("both", 5, engine::order_status::filled));
  batch.events.emplace_back(order_of("new", 10, engine::order_status::open));
  ASSERT_TRUE(committed_.try_push(&batch));
  stage_->notify();
  ASSERT_TRUE(test::wait_until([&] { return recycle_.front() != nullptr; }, 10s, 1ms));
  recycle_.pop();

  bus::read_query q;
  q.kind = bus::query_kind::list_orders;
  q.reply = {0, 21};
  q.client = engine::client_id::from("alice");
  q.open_only = false;
  q.limit = 2;
  ASSERT_TRUE(queries_.try_push(q));
  stage_->notify();
  ASSERT_TRUE(test::wait_until([&] { return history_queries_.front() != nullptr; }, 10s, 1ms));
  const bus::history_query h = *history_queries_.front();
  history_queries_.pop();
  ASSERT_TRUE(h.page.has_value());
  EXPECT_EQ(h.page->client.view(), "alice");
  EXPECT_FALSE(h.page->instrument.has_value());
  EXPECT_EQ(h.page->before, 0u);
  EXPECT_EQ(h.page->limit, 3u) << "a page and one more";

  bus::history_answer a;
  a.token = 21;
  a.what = bus::history_answer::result::found;
  a.page = h.page;
  a.orders = {{order_of("both", 5, engine::order_status::open), {}},  // not yet updated
              {order_of("old", 2, engine::order_status::cancelled), {}},
              {order_of("older", 1, engine::order_status::filled), {}}};
  answer(a);
  const std::optional<bus::io_delivery> d = next();
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->token, 21u);
  EXPECT_EQ(d->status, 200);
  ASSERT_NE(d->body, nullptr);
  std::string expected = "{\"orders\":[";
  codec::append_order(expected, order_of("new", 10, engine::order_status::open),
                      engine::instrument::btc_usd());
  expected += ',';
  codec::append_order(expected, order_of("both", 5, engine::order_status::filled),
                      engine::instrument::btc_usd());
  expected += "],\"next_before\":5}";
  EXPECT_EQ(*d->body, expected);

  // status=open is the view's alone: answered at once, nothing asked of the reader.
  q.open_only = true;
  q.reply = {0, 22};
  ASSERT_TRUE(queries_.try_push(q));
  stage_->notify();
  const std::optional<bus::io_delivery> open = next();
  ASSERT_TRUE(open.has_value());
  EXPECT_EQ(open->token, 22u);
  ASSERT_NE(open->body, nullptr);
  EXPECT_NE(open->body->find("\"order_id\":\"new\""), std::string::npos) << *open->body;
  EXPECT_EQ(open->body->find("\"order_id\":\"both\""), std::string::npos) << *open->body;
  EXPECT_EQ(history_queries_.front(), nullptr);

  // The database cannot be read: 503 not_ready.
  a.token = 23;
  a.what = bus::history_answer::result::unavailable;
  answer(a);
  const std::optional<bus::io_delivery> down = next();
  ASSERT_TRUE(down.has_value());
  EXPECT_EQ(down->status, 503);
}

TEST_F(publish_history, a_full_history_queue_is_503_overloaded) {
  const std::size_t room = history_queries_.capacity();
  for (std::size_t i = 1; i <= room; ++i) get(i, "old-" + std::to_string(i));
  ASSERT_TRUE(test::wait_until([&] { return history_queries_.size() == room; }, 10s, 1ms));
  get(100, "one-too-many");
  const std::optional<bus::io_delivery> d = next();
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->token, 100u);
  EXPECT_EQ(d->status, 503);
  ASSERT_NE(d->body, nullptr);
  EXPECT_NE(d->body->find("\"overloaded\""), std::string::npos) << *d->body;
}

}  // namespace
}  // namespace matchd::publish

namespace matchd::publish {
namespace {

engine::client_scope scope_of(std::initializer_list<std::string_view> clients) {
  std::vector<engine::client_id> ids;
  for (const std::string_view c : clients) ids.push_back(engine::client_id::from(c));
  return std::make_shared<const engine::client_set>(std::move(ids));
}

engine::order order_of(std::string_view id, std::string_view client, engine::order_status status,
                       engine::sequence_number seq) {
  engine::order o;
  o.id = engine::order_id::from(id);
  o.client = engine::client_id::from(client);
  o.status = status;
  o.price = engine::price_ticks{10000};
  o.quantity = engine::quantity_lots{1};
  o.created_sequence = seq;
  o.sequence = seq;
  return o;
}

std::string code_of(const bus::io_delivery& d) {
  if (d.body == nullptr) return "";
  const std::size_t at = d.body->find("\"code\":\"");
  if (at == std::string::npos) return "";
  const std::size_t end = d.body->find('"', at + 8);
  return d.body->substr(at + 8, end - at - 8);
}

// Ownership in the read path: an order of a client outside the caller's scope does not exist
// for it, in the view and in streams alike.
class publish_ownership : public publish_fixture {
 protected:
  // One command per order, each with that order's state as its only event.
  void publish_orders(const std::vector<engine::order>& orders) {
    batch_.clear();
    for (const engine::order& o : orders) {
      bus::command_outcome c;
      c.sequence = o.sequence;
      c.subject = o.id;
      c.first_event = static_cast<std::uint32_t>(batch_.events.size());
      batch_.events.emplace_back(o);
      c.end_event = static_cast<std::uint32_t>(batch_.events.size());
      batch_.commands.push_back(c);
    }
    push_batch();
  }
  void push_batch() {
    ASSERT_TRUE(committed_.try_push(&batch_));
    stage_->notify();
    ASSERT_TRUE(test::wait_until([&] { return recycle_.front() != nullptr; }, 10s, 1ms));
    recycle_.pop();
  }
  bus::io_delivery get_order(std::string_view id, engine::client_scope scope) {
    bus::read_query q;
    q.kind = bus::query_kind::get_order;
    q.reply = {0, 99};
    q.id = engine::order_id::from(id);
    q.scope = std::move(scope);
    EXPECT_TRUE(queries_.try_push(q));
    stage_->notify();
    std::vector<bus::io_delivery> got = drain(1);
    return got.empty() ? bus::io_delivery{} : std::move(got.front());
  }
  void subscribe_orders(std::uint64_t token, engine::client_scope scope,
                        std::string_view client = {}) {
    bus::read_query q;
    q.kind = bus::query_kind::subscribe;
    q.reply = {0, token};
    q.channels = bus::channel_orders;
    q.scope = std::move(scope);
    q.client = engine::client_id::from(client);
    ASSERT_TRUE(queries_.try_push(q));
    stage_->notify();
    ASSERT_EQ(drain(1).size(), 1u);  // the subscription's ack
  }
  // Which orders (by id) each subscriber token received, in order.
  std::map<std::uint64_t, std::vector<std::string>> received(std::size_t frames) {
    std::map<std::uint64_t, std::vector<std::string>> by_token;
    for (const bus::io_delivery& d : drain(frames)) {
      EXPECT_EQ(d.what, bus::io_delivery::kind::stream);
      const std::size_t at = d.body->find("\"order_id\":\"");
      const std::size_t end = d.body->find('"', at + 12);
      by_token[d.token].push_back(d.body->substr(at + 12, end - at - 12));
    }
    return by_token;
  }
};

TEST_F(publish_ownership, get_order_of_another_clients_order_is_404_as_an_unknown_id) {
  publish_orders({order_of("a1", "alice", engine::order_status::open, 1)});

  const bus::io_delivery unknown = get_order("never", scope_of({"bob"}));
  const bus::io_delivery foreign = get_order("a1", scope_of({"bob", "carol"}));
  EXPECT_EQ(foreign.status, 404);
  EXPECT_EQ(code_of(foreign), "order_not_found");
  ASSERT_NE(foreign.body, nullptr);
  ASSERT_NE(unknown.body, nullptr);
  std::string unknown_body = *unknown.body;
  unknown_body.replace(unknown_body.find("never"), 5, "a1");
  EXPECT_EQ(*foreign.body, unknown_body) << "the body tells a foreign order from none";

  const bus::io_delivery own = get_order("a1", scope_of({"bob", "alice"}));
  EXPECT_EQ(own.status, 200);
  ASSERT_NE(own.body, nullptr);
  EXPECT_NE(own.body->find("\"client_id\":\"alice\""), std::string::npos) << *own.body;
  EXPECT_EQ(get_order("a1", nullptr).status, 200) << "a null scope sees every client";
}

TEST_F(publish_ownership, the_orders_channel_carries_only_the_subscribers_clients) {
  subscribe_orders(1, nullptr);                            // every client
  subscribe_orders(2, scope_of({"alice", "bob"}));         // its key's clients
  subscribe_orders(3, scope_of({"alice", "bob"}), "bob");  // and only bob's
  subscribe_orders(4, nullptr, "carol");                   // an admin watching one client

  publish_orders({order_of("a1", "alice", engine::order_status::open, 1),
                  order_of("b1", "bob", engine::order_status::open, 2),
                  order_of("c1", "carol", engine::order_status::open, 3)});

  auto got = received(3 + 2 + 1 + 1);
  EXPECT_EQ(got[1], (std::vector<std::string>{"a1", "b1", "c1"}));
  EXPECT_EQ(got[2], (std::vector<std::string>{"a1", "b1"}));
  EXPECT_EQ(got[3], (std::vector<std::string>{"b1"}));
  EXPECT_EQ(got[4], (std::vector<std::string>{"c1"}));
}

// A frame is formatted once per event and shared by every subscriber it goes to.
TEST_F(publish_ownership, an_orders_frame_is_shared_by_the_subscribers_that_get_it) {
  subscribe_orders(1, nullptr);
  subscribe_orders(2, scope_of({"alice"}));
  publish_orders({order_of("a1", "alice", engine::order_status::open, 1)});
  const std::vector<bus::io_delivery> got = drain(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].body, got[1].body) << "one string, not one per subscriber";
}

TEST_F(publish_ownership, trades_and_deltas_reach_a_scoped_subscriber_unfiltered) {
  bus::read_query q;
  q.kind = bus::query_kind::subscribe;
  q.reply = {0, kToken};
  q.channels = bus::channel_orderbook;
  q.scope = scope_of({"nobody-here"});
  q.client = engine::client_id::from("nobody-here");
  ASSERT_TRUE(queries_.try_push(q));
  stage_->notify();
  ASSERT_EQ(drain(2).size(), 2u);  // the ack and the book snapshot
  publish_deltas(3);
  EXPECT_EQ(count(drain(3), bus::io_delivery::kind::stream), 3u);
}

// The engine keeps no client for a finished order, so its cancel comes back order_not_open
// with the caller's scope (bus::command_outcome::scope): a foreign one is 404 here, with no
// order in the body, the answer an unknown id gets.
TEST_F(publish_ownership, a_cancel_of_another_clients_finished_order_is_404_not_409) {
  publish_orders({order_of("a1", "alice", engine::order_status::filled, 1)});
  const auto cancel_answer = [&](engine::client_scope scope, std::string_view id) {
    batch_.clear();
    bus::command_outcome c;
    c.kind = bus::request_kind::cancel;
    c.reply = {0, 55};
    c.subject = engine::order_id::from(id);
    c.error = engine::errc::order_not_open;
    c.scope = std::move(scope);
    batch_.commands.push_back(c);
    push_batch();
    std::vector<bus::io_delivery> got = drain(1);
    return got.empty() ? bus::io_delivery{} : std::move(got.front());
  };

  const bus::io_delivery foreign = cancel_answer(scope_of({"bob"}), "a1");
  EXPECT_EQ(foreign.status, 404);
  EXPECT_EQ(code_of(foreign), "order_not_found");
  ASSERT_NE(foreign.body, nullptr);
  EXPECT_EQ(foreign.body->find("\"order\""), std::string::npos) << *foreign.body;
  EXPECT_EQ(foreign.body->find("alice"), std::string::npos) << *foreign.body;

  for (engine::client_scope own : {scope_of({"alice"}), engine::client_scope{}}) {
    const bus::io_delivery mine = cancel_answer(own, "a1");
    EXPECT_EQ(mine.status, 409);
    EXPECT_EQ(code_of(mine), "order_not_open");
    ASSERT_NE(mine.body, nullptr);
    EXPECT_NE(mine.body->find("\"order\":{\"order_id\":\"a1\""), std::string::npos) << *mine.body;
  }
  // One the view does not hold cannot be shown to be the caller's.
  EXPECT_EQ(cancel_answer(scope_of({"alice"}), "not-in-view").status, 404);
  EXPECT_EQ(cancel_answer(nullptr, "not-in-view").status, 409);
}

// Durable mode: the history reader's answer comes back through the stage with the query's
// scope, and a found order of another client is 404 like one in the view.
TEST_F(publish_history, a_history_answer_of_another_clients_order_is_404) {
  bus::read_query q;
  q.kind = bus::query_kind::get_order;
  q.reply = {0, 21};
  q.id = engine::order_id::from("old");
  q.scope = scope_of({"bob"});
  ASSERT_TRUE(queries_.try_push(q));
  stage_->notify();
  ASSERT_TRUE(test::wait_until([&] { return history_queries_.front() != nullptr; }, 10s, 1ms));
  const bus::history_query asked = *history_queries_.front();
  history_queries_.pop();
  EXPECT_EQ(asked.scope, q.scope) << "the scope travels with the pending request";

  const auto answer_with = [&](engine::client_scope scope, std::string_view client,
                               bus::history_answer::result r) {
    bus::history_answer a;
    a.token = 21;
    a.what = r;
    a.order = order_of("old", client, engine::order_status::filled, 4);
    a.scope = std::move(scope);
    answer(a);
    const std::optional<bus::io_delivery> d = next();
    return d.has_value() ? std::pair<int, std::string>{d->status, code_of(*d)}
                         : std::pair<int, std::string>{0, ""};
  };
  EXPECT_EQ(answer_with(asked.scope, "alice", bus::history_answer::result::found),
            (std::pair<int, std::string>{404, "order_not_found"}));
  EXPECT_EQ(answer_with(asked.scope, "alice", bus::history_answer::result::not_applied),
            (std::pair<int, std::string>{404, "order_not_found"}));
  EXPECT_EQ(answer_with(asked.scope, "bob", bus::history_answer::result::found),
            (std::pair<int, std::string>{200, ""}));
  EXPECT_EQ(answer_with(nullptr, "alice", bus::history_answer::result::found),
            (std::pair<int, std::string>{200, ""}));
}

}  // namespace
}  // namespace matchd::publish
