#include <matchd/auth/key_registry.h>
#include <matchd/obs/logger.h>
#include <matchd/obs/thread_name.h>

#include <boost/unordered/unordered_flat_map.hpp>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace matchd::auth {

namespace {

engine::timestamp_us now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The bootstrap key's id: the first 8 bytes of its digest, so it is the same at every
// start and public without telling anything of the secret.
key_id bootstrap_id(const secret_digest& d) {
  key_id id = 0;
  for (std::size_t i = 0; i < 8; ++i) id = (id << 8) | d[i];
  return id == 0 ? 1 : id;
}

// A label as a log line may carry it: quotes, backslashes and control characters escaped,
// so a label cannot forge a line or a field.
std::string loggable(std::string_view label) {
  std::string s;
  s.reserve(label.size());
  for (const char c : label) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      s.push_back('\\');
      s.push_back(c);
    } else if (u < 0x20 || u == 0x7f) {
      constexpr char kDigits[] = "0123456789abcdef";
      s += "\\x";
      s.push_back(kDigits[u >> 4]);
      s.push_back(kDigits[u & 0xf]);
    } else {
      s.push_back(c);
    }
  }
  return s;
}

}  // namespace

struct key_registry::impl {
  registry_options options;
  std::unique_ptr<key_store> store;
  std::shared_ptr<spdlog::logger> log = obs::logger("auth");

  // Guards table, listeners, jobs and stopping.
  mutable std::mutex mutex;
  std::condition_variable wake;
  std::shared_ptr<const key_table> table = std::make_shared<const key_table>();
  std::vector<listener> listeners;
  std::deque<std::function<void()>> jobs;
  bool stopping = false;
  std::thread thread;

  // The registry's thread only (and start() before the thread exists): every key known,
  // live or revoked, by id. The same principal for a key through every table, so its rate
  // bucket and its revoked flag are shared by all of them.
  boost::unordered_flat_map<key_id, std::shared_ptr<principal>> principals;
  std::shared_ptr<principal> bootstrap;
  bool store_failing = false;

  std::shared_ptr<principal> make_principal(key_record r) const {
    auto p = std::make_shared<principal>(std::move(r), options.default_rate, options.default_burst);
    if (p->record().revoked_at != 0) p->mark_revoked();
    return p;
  }

  // Builds the table from `principals` and hands it to the listeners.
  void publish(const std::vector<key_id>& revoked) {
    auto t = std::make_shared<key_table>();
    if (bootstrap) t->add(bootstrap);
    for (const auto& [id, p] : principals) t->add(p);
    std::shared_ptr<const key_table> next = std::move(t);
    std::vector<listener> ls;
    {
      const std::lock_guard lock(mutex);
      table = next;
      ls = listeners;
    }
    for (const auto& l : ls) l(next, revoked);
  }

  void log_created(const key_record& r, std::string_view how) const {
    log->info("API key created{} key_id={} role={} label=\"{}\" clients={}", how,
              format_key_id(r.id), to_string(r.key_role), loggable(r.label), r.client_ids.size());
  }
  void log_revoked(const key_record& r, std::string_view how) const {
    log->info("API key revoked{} key_id={} role={} label=\"{}\" clients={}", how,
              format_key_id(r.id), to_string(r.key_role), loggable(r.label), r.client_ids.size());
  }

  // Takes in what the store holds: keys new to this process and keys revoked since.
  // Returns whether anything changed; the ids newly revoked go to `revoked`.
  bool absorb(std::vector<key_record> records, std::vector<key_id>& revoked, bool outside) {
    bool changed = false;
    for (key_record& r : records) {
      if (bootstrap && r.id == bootstrap->id()) continue;
      const auto it = principals.find(r.id);
      if (it == principals.end()) {
        if (outside) {
          if (r.revoked_at == 0) {
            log_created(r, " (from outside)");
          } else {
            log_revoked(r, " (from outside)");
          }
        }
        principals.emplace(r.id, make_principal(std::move(r)));
        changed = true;
      } else if (r.revoked_at != 0 && !it->second->revoked()) {
        it->second->mark_revoked();
        revoked.push_back(r.id);
        if (outside) log_revoked(r, " (from outside)");
        changed = true;
      }
    }
    return changed;
  }

  void start() {
    if (options.bootstrap_secret) {
      key_record r;
      r.digest = digest_of(*options.bootstrap_secret);
      r.id = bootstrap_id(r.digest);
      r.key_role = role::admin;
      r.label = "MATCHD_ADMIN_KEY";
      r.created_at = now_us();
      r.bootstrap = true;
      bootstrap = make_principal(std::move(r));
      log->info("bootstrap admin key from MATCHD_ADMIN_KEY key_id={}",
                format_key_id(bootstrap->id()));
    }
    std::vector<key_record> records = store->load_all();  // throws: the caller refuses to start
    std::vector<key_id> revoked;
    absorb(std::move(records), revoked, false);
    std::size_t live = 0;
    for (const auto& [id, p] : principals) live += p->revoked() ? 0 : 1;
    log->info("API keys loaded live={} revoked={} store={}", live, principals.size() - live,
              store->durable() ? "postgresql" : "memory");
    if (!store->durable()) {
      log->warn("API keys are kept in memory only: keys created now are lost when matchd stops");
    }
    publish({});
    thread = std::thread([this] {
      obs::name_this_thread("matchd-keys");
      run();
    });
  }

  void stop() {
    {
      const std::lock_guard lock(mutex);
      if (!thread.joinable()) return;
      stopping = true;
    }
    wake.notify_all();
    thread.join();
    const std::lock_guard lock(mutex);
    stopping = false;
  }

  void post(std::function<void()> job) {
    {
      const std::lock_guard lock(mutex);
      jobs.push_back(std::move(job));
    }
    wake.notify_one();
  }

  void run() {
    auto next_poll = std::chrono::steady_clock::now() + options.poll_interval;
    while (true) {
      std::function<void()> job;
      {
        std::unique_lock lock(mutex);
        wake.wait_until(lock, next_poll, [this] { return stopping || !jobs.empty(); });
        if (!jobs.empty()) {
          job = std::move(jobs.front());
          jobs.pop_front();
        } else if (stopping) {
          break;
        }
      }
      // What is asked before stop() is still done: its caller waits for `done`.
      if (job) {
        job();
        continue;
      }
      if (std::chrono::steady_clock::now() >= next_poll) {
        poll();
        next_poll = std::chrono::steady_clock::now() + options.poll_interval;
      }
    }
  }

  void poll() {
    std::vector<key_record> records;
    try {
      records = store->load_all();
    } catch (const std::exception& e) {
      // One line when the store starts failing and one when it is back, not one a poll.
      if (!store_failing) log->warn("API key store unreachable, keys as last loaded: {}", e.what());
      store_failing = true;
      return;
    }
    if (store_failing) log->info("API key store reachable again");
    store_failing = false;
    std::vector<key_id> revoked;
    if (absorb(std::move(records), revoked, true)) publish(revoked);
  }

  void create(const key_request& request,
              const std::function<void(std::optional<created_key>, std::string)>& done) {
    created_key k;
    key_record& r = k.record;
    try {
      do {
        r.id = generate_key_id();
      } while (principals.contains(r.id) || (bootstrap && bootstrap->id() == r.id));
      k.secret = generate_secret();
      r.digest = digest_of(k.secret);
      r.key_role = request.key_role;
      if (request.key_role != role::admin) r.client_ids = request.client_ids;
      r.label = request.label;
      r.rate_limit = request.rate_limit;
      r.rate_burst = request.rate_burst;
      r.created_at = now_us();
      store->insert(r);
    } catch (const std::exception& e) {
      log->warn("API key not created: the store failed: {}", e.what());
      done(std::nullopt, e.what());
      return;
    }
    principals.emplace(r.id, make_principal(r));
    log_created(r, "");
    publish({});
    done(std::move(k), {});
  }

  void revoke(key_id id, const std::function<void(std::optional<key_record>, std::string)>& done) {
    // The bootstrap key is not the store's: it is not listed, and ends when the daemon
    // restarts without it.
    if (bootstrap && id == bootstrap->id()) {
      done(std::nullopt, {});
      return;
    }
    std::optional<key_record> r;
    try {
      r = store->revoke(id, now_us());
    } catch (const std::exception& e) {
      log->warn("API key not revoked: the store failed key_id={}: {}", format_key_id(id), e.what());
      done(std::nullopt, e.what());
      return;
    }
    if (!r) {
      done(std::nullopt, {});
      return;
    }
    std::vector<key_id> revoked;
    const auto it = principals.find(id);
    if (it == principals.end()) {
      // Created from outside since the last poll, and revoked at once.
      principals.emplace(id, make_principal(*r));
      log_revoked(*r, "");
      publish({});
    } else if (!it->second->revoked()) {
      it->second->mark_revoked();
      revoked.push_back(id);
      log_revoked(*r, "");
      publish(revoked);
    }
    done(std::move(r), {});
  }

  void list(const std::function<void(std::vector<key_record>, std::string)>& done) {
    std::vector<key_record> records;
    try {
      records = store->load_all();
    } catch (const std::exception& e) {
      log->warn("API keys not listed: the store failed: {}", e.what());
      done({}, e.what());
      return;
    }
    std::vector<key_id> revoked;
    if (absorb(records, revoked, true)) publish(revoked);
    done(std::move(records), {});
  }
};

key_registry::key_registry(registry_options options, std::unique_ptr<key_store> store)
    : impl_(std::make_unique<impl>()) {
  if (!store) throw std::invalid_argument("key_registry needs a key store");
  impl_->options = std::move(options);
  impl_->store = std::move(store);
}

key_registry::~key_registry() {
  stop();
}

void key_registry::start() {
  impl_->start();
}

void key_registry::stop() {
  impl_->stop();
}

void key_registry::add_listener(listener l) {
  const std::lock_guard lock(impl_->mutex);
  impl_->listeners.push_back(std::move(l));
}

std::shared_ptr<const key_table> key_registry::table() const {
  const std::lock_guard lock(impl_->mutex);
  return impl_->table;
}

void key_registry::create(key_request request,
                          std::function<void(std::optional<created_key>, std::string error)> done) {
  impl_->post([this, request = std::move(request), done = std::move(done)] {
    impl_->create(request, done);
  });
}

void key_registry::revoke(key_id id,
                          std::function<void(std::optional<key_record>, std::string error)> done) {
  impl_->post([this, id, done = std::move(done)] { impl_->revoke(id, done); });
}

void key_registry::list(std::function<void(std::vector<key_record>, std::string error)> done) {
  impl_->post([this, done = std::move(done)] { impl_->list(done); });
}

}  // namespace matchd::auth
