#include <matchd/publish/order_view.h>

#include <algorithm>
#include <random>

namespace matchd::publish {

order_view::order_view() : clients_(0, engine::seeded_id_hash{std::random_device{}()}) {}

void order_view::insert_by_creation(order_list& list, links entry::*l, entry& h) const {
  // From the newest end: a new order is nearly always the client's newest. While seeding,
  // at the end, unsorted (finish_seeding).
  entry* after = list.tail;
  const engine::sequence_number created = h.order.created_sequence;
  if (!seeding_ && after != nullptr) {
    if (list.tail_created == order_list::kUnknown) {
      list.tail_created = after->order.created_sequence;
    }
    if (list.tail_created > created) {
      do {
        after = (after->*l).prev;
      } while (after != nullptr && after->order.created_sequence > created);
    }
  }
  entry* before = after != nullptr ? (after->*l).next : list.head;
  (h.*l).prev = after;
  (h.*l).next = before;
  if (after != nullptr) {
    (after->*l).next = &h;
  } else {
    list.head = &h;
  }
  if (before != nullptr) {
    (before->*l).prev = &h;
  } else {
    list.tail = &h;
    list.tail_created = seeding_ ? order_list::kUnknown : created;
  }
}

void order_view::remove(order_list& list, links entry::*l, entry& h) {
  links& own = h.*l;
  if (own.prev != nullptr) {
    (own.prev->*l).next = own.next;
  } else {
    list.head = own.next;
  }
  if (own.next != nullptr) {
    (own.next->*l).prev = own.prev;
  } else {
    list.tail = own.prev;
    list.tail_created = own.prev != nullptr ? order_list::kUnknown : 0;
  }
  own = links{};
}

void order_view::attach(entry& h) {
  auto& held = clients_[h.order.client];
  if (!held) held = std::make_unique<client_orders>();
  client_orders& c = *held;
  h.owner = &c;
  insert_by_creation(c.all, &entry::all, h);
  ++c.held_count;
  h.in_open = !engine::is_final(h.order.status);
  if (h.in_open) {
    insert_by_creation(c.open, &entry::open, h);
    ++c.open_count;
  }
}

void order_view::detach(entry& h) {
  client_orders& c = *h.owner;
  if (h.in_open) {
    remove(c.open, &entry::open, h);
    --c.open_count;
    h.in_open = false;
  }
  remove(c.all, &entry::all, h);
  h.owner = nullptr;
  if (--c.held_count == 0) clients_.erase(h.order.client);
}

void order_view::update(entry& h, const engine::order& o) {
  // Another creation under the same id (or, defensively, another client): a new place in
  // the lists.
  if (h.order.created_sequence != o.created_sequence || !(h.order.client == o.client)) {
    detach(h);
    h.order = o;
    attach(h);
    return;
  }
  h.order = o;
  const bool open = !engine::is_final(o.status);
  if (open == h.in_open) return;
  client_orders& c = *h.owner;
  if (open) {
    insert_by_creation(c.open, &entry::open, h);
    ++c.open_count;
  } else {
    remove(c.open, &entry::open, h);
    --c.open_count;
  }
  h.in_open = open;
}

void order_view::relink_by_creation(order_list& list, links entry::*l) {
  std::vector<entry*> sorted;
  for (entry* e = list.head; e != nullptr; e = (e->*l).next) sorted.push_back(e);
  std::stable_sort(sorted.begin(), sorted.end(), [](const entry* a, const entry* b) {
    return a->order.created_sequence < b->order.created_sequence;
  });
  list = order_list{};
  for (entry* e : sorted) {
    (e->*l).prev = list.tail;
    (e->*l).next = nullptr;
    if (list.tail != nullptr) {
      (list.tail->*l).next = e;
    } else {
      list.head = e;
    }
    list.tail = e;
  }
  list.tail_created = list.tail != nullptr ? list.tail->order.created_sequence : 0;
}

void order_view::finish_seeding() {
  seeding_ = false;
  for (auto& [client, c] : clients_) {
    relink_by_creation(c->open, &entry::open);
    relink_by_creation(c->all, &entry::all);
  }
}

std::vector<const order_view::entry*> order_view::page(const page_query& q) const {
  std::vector<const entry*> out;
  const auto it = clients_.find(q.client);
  if (it == clients_.end() || q.limit == 0) return out;
  const bool open_only = q.open_only;
  links entry::*const l = open_only ? &entry::open : &entry::all;
  out.reserve(std::min<std::size_t>(q.limit + 1,
                                    open_only ? it->second->open_count : it->second->held_count));
  for (const entry* h = open_only ? it->second->open.tail : it->second->all.tail; h != nullptr;
       h = (h->*l).prev) {
    if (q.before != 0 && h->order.created_sequence >= q.before) continue;
    if (q.instrument && h->order.instrument != *q.instrument) continue;
    out.push_back(h);
    if (out.size() > q.limit) break;
  }
  return out;
}

std::size_t order_view::open_count(const engine::client_id& client) const {
  const auto it = clients_.find(client);
  return it == clients_.end() ? 0 : it->second->open_count;
}

std::size_t order_view::held_count(const engine::client_id& client) const {
  const auto it = clients_.find(client);
  return it == clients_.end() ? 0 : it->second->held_count;
}

}  // namespace matchd::publish
