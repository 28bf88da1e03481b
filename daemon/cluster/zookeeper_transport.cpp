// ZooKeeperTransport: the ordered transport of the zookeeper driver
// (`-c zookeeper:HOST:PORT[,HOST:PORT...][/CLUSTER][,timeout=MS]`), on
// ZooKeeper's C client (docs/PROTOCOL.md §8.9).
//
// Under the cluster's path P (/sheepdog, or /sheepdog/CLUSTER):
//   P/member/m-NNNNNNNNNN  one ephemeral sequential znode per participant
//                          session: its id, and how far it has read the
//                          queue (u64, refreshed every second)
//   P/queue/q-NNNNNNNNNN   the total order: persistent sequential znodes,
//                          each a frame {u8 kind (1 record, 2 gone), id,
//                          payload}, read by every participant in order.
// A participant is its session ("z" and the session id in hex). When a
// member znode disappears (its session closed or expired), every
// participant that sees it appends a "gone" frame for it; readers deliver
// the first one and ignore the rest, so a leave takes its place in the
// same order everywhere. A newcomer reads from the queue's tail at the
// time it arrived (no history: the master's JOIN_RESPONSE tells it the
// members) and is alone when no other member znode exists. The
// participant with the oldest member znode deletes the queue entries every
// member has read, so the queue stays short.
//
// With a cluster key every znode carries a digest ACL derived from it
// (ClusterKey::zookeeper_acl_id): without the key a client can neither
// read nor write them.
//
// Sessions: a sheep that has been disconnected from ZooKeeper for 2/3 of
// the session timeout may already be gone for the others: it suspends
// (stops serving I/O, forgets the membership), closes its handle, and
// once ZooKeeper answers again joins with a new session, as a newcomer. An
// expired session is handled the same way. Nothing ever uses a handle in
// an unusable state.
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#define THREADED  // the synchronous API of the multi-threaded client
#include <zookeeper/zookeeper.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "base/log.h"
#include "base/rate_limit.h"
#include "cluster/membership_protocol.h"
#include "cluster/transport.h"
#include "cluster/wire_buffer.h"

namespace sd {

namespace {

enum FrameKind : uint8_t { kRecord = 1, kGone = 2 };
using Clock = std::chrono::steady_clock;

// The digits of a sequential znode's name (m-0000000042 → 42); -1 if none.
int64_t seq_of(const char* name) {
  const char* dash = std::strrchr(name, '-');
  if (!dash || !dash[1]) return -1;
  char* end = nullptr;
  long long v = std::strtoll(dash + 1, &end, 10);
  return end && *end == 0 ? int64_t(v) : -1;
}

class ZooKeeperTransport : public OrderedTransport {
 public:
  ZooKeeperTransport(ZooKeeperOptions opts, ClusterKey key)
      : opts_(std::move(opts)), key_(std::move(key)) {
    if (!key_.empty()) {
      acl_id_ = key_.zookeeper_acl_id();
      acl_entry_.perms = ZOO_PERM_ALL;
      acl_entry_.id.scheme = const_cast<char*>("digest");
      acl_entry_.id.id = acl_id_.data();
      acl_.count = 1;
      acl_.data = &acl_entry_;
    }
  }
  ~ZooKeeperTransport() override { stop(); }

  Result<std::string> start(TransportEvents* events) override {
    events_ = events;
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    std::string why;
    if (!open_session(&why)) {
      sd_err("cannot use ZooKeeper at %s: %s", opts_.hosts.c_str(), why.c_str());
      close_session();
      return err(Res::ClusterError);
    }
    thread_ = std::thread([this] { loop(); });
    return id_;
  }

  Status send(const std::vector<char>& rec) override {
    std::lock_guard<std::mutex> lk(zh_mu_);
    if (!zh_ || suspended_) return err(Res::ClusterError);
    return append_locked(kRecord, id_, rec);
  }

  bool has_history() const override { return false; }

  void stop() override {
    if (stopping_.exchange(true)) return;
    wake();
    if (thread_.joinable()) thread_.join();
    close_session();  // our member znode goes with the session
    if (wake_fd_ >= 0) close(wake_fd_);
    wake_fd_ = -1;
  }

 private:
  // ---- the session ----------------------------------------------------

  static void on_watch(zhandle_t*, int type, int state, const char* path, void* ctx) {
    auto* t = static_cast<ZooKeeperTransport*>(ctx);
    if (type == ZOO_SESSION_EVENT) {
      t->zk_state_ = state;
    } else if (type == ZOO_CHILD_EVENT && path) {
      if (t->queue_path() == path) t->queue_changed_ = true;
      if (t->member_path() == path) t->members_changed_ = true;
    }
    t->wake();
  }

  std::string base() const { return opts_.path; }
  std::string queue_path() const { return base() + "/queue"; }
  std::string member_path() const { return base() + "/member"; }
  const ACL_vector* acl() const { return key_.empty() ? &ZOO_OPEN_ACL_UNSAFE : &acl_; }

  // Connects, authenticates, creates the cluster's paths, registers our
  // member znode and finds the queue's tail; false with *why otherwise.
  bool open_session(std::string* why) {
    // The client's own log would repeat every failed connection attempt
    // many times a second; what matters is logged here.
    zoo_set_debug_level(ZooLogLevel(0));
    zk_state_ = 0;
    zhandle_t* zh = zookeeper_init(opts_.hosts.c_str(), on_watch, int(opts_.timeout_ms), nullptr,
                                   this, 0);
    if (!zh) {
      *why = std::string("zookeeper_init: ") + std::strerror(errno);
      return false;
    }
    {
      std::lock_guard<std::mutex> lk(zh_mu_);
      zh_ = zh;
    }
    auto deadline = Clock::now() + std::chrono::milliseconds(std::max<uint32_t>(opts_.timeout_ms, 5000));
    while (zk_state_ != ZOO_CONNECTED_STATE && Clock::now() < deadline && !stopping_)
      wait_event(50);
    if (zk_state_ != ZOO_CONNECTED_STATE) {
      *why = "no server answered";
      return false;
    }
    last_connected_ = Clock::now();
    // What the servers granted (they bound it by their tick time).
    timeout_ms_ = uint32_t(std::max(100, zoo_recv_timeout(zh)));
    if (!key_.empty()) {
      std::string cred = key_.zookeeper_credentials();
      int rc = zoo_add_auth(zh, "digest", cred.data(), int(cred.size()), nullptr, nullptr);
      if (rc != ZOK) {
        *why = std::string("zoo_add_auth: ") + zerror(rc);
        return false;
      }
    }
    for (const std::string& p : {std::string("/sheepdog"), base(), member_path(), queue_path()}) {
      if (p == "/sheepdog" && base() != "/sheepdog") {
        int rc = zoo_create(zh, p.c_str(), nullptr, -1, &ZOO_OPEN_ACL_UNSAFE, 0, nullptr, 0);
        if (rc != ZOK && rc != ZNODEEXISTS) {
          *why = "cannot create " + p + ": " + zerror(rc);
          return false;
        }
        continue;
      }
      int rc = zoo_create(zh, p.c_str(), nullptr, -1, acl(), 0, nullptr, 0);
      if (rc != ZOK && rc != ZNODEEXISTS) {
        *why = "cannot create " + p + ": " + zerror(rc);
        return false;
      }
    }
    if (!key_.empty()) {
      for (const std::string& p : {base(), member_path(), queue_path()})
        if (!guard_path(zh, p, why)) return false;
    }
    // The queue's tail: we read what comes after it.
    String_vector names{};
    int rc = zoo_get_children(zh, queue_path().c_str(), 0, &names);
    if (rc != ZOK) {
      *why = "cannot read " + queue_path() + ": " + zerror(rc) +
             (rc == ZNOAUTH ? " (it belongs to a cluster with another key, or none)" : "");
      return false;
    }
    last_read_ = -1;
    for (int i = 0; i < names.count; i++) last_read_ = std::max(last_read_, seq_of(names.data[i]));
    deallocate_String_vector(&names);
    const clientid_t* cid = zoo_client_id(zh);
    char idbuf[32];
    std::snprintf(idbuf, sizeof(idbuf), "z%" PRIx64, uint64_t(cid->client_id));
    id_ = idbuf;
    // Our member znode: our id and how far we read.
    std::vector<char> data = member_data();
    char created[512];
    rc = zoo_create(zh, (member_path() + "/m-").c_str(), data.data(), int(data.size()), acl(),
                    ZOO_EPHEMERAL_SEQUENTIAL, created, sizeof(created));
    if (rc != ZOK) {
      *why = "cannot register in " + member_path() + ": " + zerror(rc);
      return false;
    }
    my_member_ = created;
    reported_read_ = last_read_;
    members_.clear();
    gone_.clear();
    gone_sent_.clear();
    queue_changed_ = members_changed_ = true;
    // Alone: nobody else is registered.
    alone_ = true;
    if (!read_members()) {
      *why = "cannot read " + member_path();
      return false;
    }
    for (const auto& [name, id] : members_)
      if (id != id_) alone_ = false;
    return true;
  }

  // With a key, the cluster's znodes must carry the key's ACL and nothing
  // else: one made by someone else (or by sheep without a key) with an
  // open ACL would let anyone delete the empty member directory, or add
  // fake members. Such an ACL is replaced by ours while it still lets us.
  bool guard_path(zhandle_t* zh, const std::string& p, std::string* why) {
    ACL_vector have{};
    Stat st{};
    int rc = zoo_get_acl(zh, p.c_str(), &have, &st);
    if (rc != ZOK) {
      *why = "cannot read the ACL of " + p + ": " + zerror(rc);
      return false;
    }
    bool ours = have.count == 1 && have.data[0].perms == ZOO_PERM_ALL &&
                std::strcmp(have.data[0].id.scheme, "digest") == 0 &&
                acl_id_ == have.data[0].id.id;
    deallocate_ACL_vector(&have);
    if (ours) return true;
    rc = zoo_set_acl(zh, p.c_str(), -1, &acl_);
    if (rc != ZOK) {
      *why = p + " carries an ACL that is not this cluster key's, and it cannot be changed (" +
             zerror(rc) + "): it belongs to another cluster, or remove it";
      return false;
    }
    sd_warn("%s had an ACL other than the cluster key's: replaced by the key's", p.c_str());
    return true;
  }

  void close_session() {
    zhandle_t* zh;
    {
      std::lock_guard<std::mutex> lk(zh_mu_);
      zh = zh_;
      zh_ = nullptr;
    }
    if (zh) zookeeper_close(zh);
  }

  std::vector<char> member_data() const {
    RecordWriter w;
    w.str(id_).u64(uint64_t(last_read_ + 1));
    return w.buf();
  }

  // ---- reading --------------------------------------------------------

  // Re-reads the member znodes (and sets the watch); a member znode that
  // is gone means its participant is: a GONE frame is appended for it.
  bool read_members() {
    String_vector names{};
    int rc = zoo_wget_children(zh_, member_path().c_str(), on_watch, this, &names);
    if (rc != ZOK) return false;
    std::map<std::string, std::string> now;
    for (int i = 0; i < names.count; i++) {
      std::string name = names.data[i];
      auto known = members_.find(name);
      if (known != members_.end()) {
        now[name] = known->second;
        continue;
      }
      char buf[256];
      int len = sizeof(buf);
      if (zoo_get(zh_, (member_path() + "/" + name).c_str(), 0, buf, &len, nullptr) != ZOK ||
          len < 0)
        continue;  // gone again already
      RecordReader r(buf, size_t(len));
      std::string id = r.str();
      if (r.ok()) now[name] = id;
    }
    deallocate_String_vector(&names);
    for (const auto& [name, id] : members_)
      if (!now.count(name) && !gone_sent_.count(id) && id != id_) {
        std::lock_guard<std::mutex> lk(zh_mu_);
        if (append_locked(kGone, id, {}).ok()) gone_sent_.insert(id);
      }
    members_ = std::move(now);
    return true;
  }

  // Delivers every queue entry after last_read_, in order.
  bool read_queue() {
    String_vector names{};
    int rc = zoo_wget_children(zh_, queue_path().c_str(), on_watch, this, &names);
    if (rc != ZOK) return false;
    std::vector<std::pair<int64_t, std::string>> fresh;
    for (int i = 0; i < names.count; i++) {
      int64_t s = seq_of(names.data[i]);
      if (s > last_read_) fresh.push_back({s, names.data[i]});
    }
    deallocate_String_vector(&names);
    std::sort(fresh.begin(), fresh.end());
    // Fetched in batches of requests in flight together, delivered in order.
    constexpr size_t kBatch = 64;
    for (size_t from = 0; from < fresh.size(); from += kBatch) {
      size_t n = std::min(kBatch, fresh.size() - from);
      Fetch fetch(n);
      for (size_t i = 0; i < n; i++) {
        fetch.slot[i].owner = &fetch;
        std::string path = queue_path() + "/" + fresh[from + i].second;
        if (zoo_aget(zh_, path.c_str(), 0, on_fetched, &fetch.slot[i]) != ZOK) {
          fetch.slot[i].rc = ZCONNECTIONLOSS;
          fetch.done_one();
        }
      }
      fetch.wait();
      for (size_t i = 0; i < n; i++) {
        if (stopping_ || suspended_) return true;
        const Fetch::Slot& f = fetch.slot[i];
        int64_t s = fresh[from + i].first;
        if (f.rc == ZNONODE) {  // cleaned up: every member had read it, and so had we
          last_read_ = s;
          continue;
        }
        if (f.rc != ZOK) return false;
        last_read_ = s;
        deliver(f.data);
      }
    }
    return true;
  }

  // Queue entries being fetched at once: each completion fills its slot.
  struct Fetch {
    struct Slot {
      Fetch* owner = nullptr;
      int rc = ZOK;
      std::vector<char> data;
    };
    explicit Fetch(size_t n) : slot(n), left(n) {}
    void done_one() {
      std::lock_guard<std::mutex> lk(mu);
      if (--left == 0) cv.notify_all();
    }
    void wait() {
      std::unique_lock<std::mutex> lk(mu);
      cv.wait(lk, [&] { return left == 0; });
    }
    std::vector<Slot> slot;
    std::mutex mu;  // guards left
    std::condition_variable cv;
    size_t left;
  };

  static void on_fetched(int rc, const char* value, int len, const Stat*, const void* ctx) {
    auto* slot = static_cast<Fetch::Slot*>(const_cast<void*>(ctx));
    slot->rc = rc;
    if (rc == ZOK && value && len > 0) slot->data.assign(value, value + len);
    slot->owner->done_one();
  }

  // One queue entry, read: a record for the protocol, or a leave (the
  // first GONE of an id counts).
  void deliver(const std::vector<char>& frame) {
    if (frame.empty()) return;
    RecordReader f(frame.data(), frame.size());
    uint8_t kind = f.u8();
    std::string who = f.str();
    if (!f.ok() || who.empty()) return;
    size_t hdr = 1 + 4 + who.size();
    if (kind == kRecord) {
      events_->on_record(who, std::vector<char>(frame.begin() + long(hdr), frame.end()));
    } else if (kind == kGone && !gone_.count(who)) {
      if (gone_.size() > 100000) gone_.clear();
      gone_.insert(who);
      events_->on_gone(who);
    }
  }

  // The oldest member deletes the queue entries every member has read.
  // The member list is read afresh, not taken from our cache: a newcomer
  // registered a moment ago (its reading starts at the tail it saw) must
  // hold back the cleanup before its first record is appended.
  void clean_queue() {
    String_vector members{};
    if (zoo_get_children(zh_, member_path().c_str(), 0, &members) != ZOK) return;
    std::vector<std::string> names(members.data, members.data + members.count);
    deallocate_String_vector(&members);
    std::sort(names.begin(), names.end());
    if (names.empty() || names.front() != my_member_.substr(my_member_.rfind('/') + 1)) return;
    int64_t oldest = last_read_;
    for (const std::string& name : names) {
      char buf[256];
      int len = sizeof(buf);
      if (zoo_get(zh_, (member_path() + "/" + name).c_str(), 0, buf, &len, nullptr) != ZOK ||
          len < 0)
        return;  // gone meanwhile: next time
      RecordReader r(buf, size_t(len));
      r.str();
      int64_t next = int64_t(r.u64());
      if (!r.ok()) return;
      oldest = std::min(oldest, next - 1);
    }
    String_vector queued{};
    if (zoo_get_children(zh_, queue_path().c_str(), 0, &queued) != ZOK) return;
    for (int i = 0; i < queued.count; i++)
      if (seq_of(queued.data[i]) >= 0 && seq_of(queued.data[i]) <= oldest)
        zoo_adelete(zh_, (queue_path() + "/" + queued.data[i]).c_str(), -1, on_deleted, nullptr);
    deallocate_String_vector(&queued);
  }

  // Appends a frame to the queue. Asynchronous: a client's requests reach
  // the ensemble in the order it sends them, so frames keep their order,
  // and several can be in flight (ZooKeeper commits them together). A
  // failure is logged when it comes back; the session is then in trouble
  // and the loop handles that.
  Status append_locked(FrameKind kind, const std::string& id, const std::vector<char>& payload) {
    RecordWriter w;
    w.u8(kind).str(id).raw(payload.data(), payload.size());
    if (w.buf().size() > kMaxFrame) {
      sd_err("a cluster message of %zu bytes is too big for ZooKeeper", w.buf().size());
      return err(Res::InvalidParms);
    }
    int rc = zoo_acreate(zh_, (queue_path() + "/q-").c_str(), w.buf().data(),
                         int(w.buf().size()), acl(), ZOO_PERSISTENT_SEQUENTIAL, on_appended, this);
    if (rc != ZOK) {
      complain_append(rc);
      return err(Res::ClusterError);
    }
    return {};
  }

  // The C client insists on a completion for every asynchronous call. A
  // failed delete is retried by the next cleanup.
  static void on_deleted(int, const void*) {}

  static void on_appended(int rc, const char*, const void* ctx) {
    if (rc != ZOK)
      static_cast<ZooKeeperTransport*>(const_cast<void*>(ctx))->complain_append(rc);
  }

  void complain_append(int rc) {
    uint64_t skipped = 0;
    if (complaints_.allow(&skipped))
      sd_err("cannot append to %s: %s (%" PRIu64 " more not logged)", queue_path().c_str(),
             zerror(rc), skipped);
  }

  // ---- the loop -------------------------------------------------------

  void wake() {
    uint64_t one = 1;
    if (wake_fd_ >= 0) {
      ssize_t rc = write(wake_fd_, &one, sizeof(one));
      (void)rc;
    }
  }

  void wait_event(int ms) {
    pollfd p{wake_fd_, POLLIN, 0};
    if (poll(&p, 1, ms) > 0) {
      uint64_t v;
      while (read(wake_fd_, &v, sizeof(v)) > 0) {
      }
    }
  }

  void suspend(const std::string& why) {
    {
      std::lock_guard<std::mutex> lk(zh_mu_);
      suspended_ = true;
    }
    close_session();
    events_->on_suspend(why);
  }

  void loop() {
    log::set_thread_name("cluster");
    auto next_tick = Clock::now(), next_report = Clock::now(), next_retry = Clock::now();
    if (alone_) events_->on_alone();
    while (!stopping_) {
      auto now = Clock::now();
      if (suspended_) {
        if (now >= next_retry) {
          next_retry = now + std::chrono::seconds(1);
          std::string why;
          if (open_session(&why)) {
            {
              std::lock_guard<std::mutex> lk(zh_mu_);
              suspended_ = false;
            }
            sd_info("ZooKeeper answers again: joining as %s", id_.c_str());
            events_->on_resume(id_);
            if (alone_) events_->on_alone();
          } else {
            close_session();
          }
        }
        wait_event(100);
        continue;
      }
      int state = zk_state_;
      if (state == ZOO_EXPIRED_SESSION_STATE || state == ZOO_AUTH_FAILED_STATE) {
        suspend(state == ZOO_EXPIRED_SESSION_STATE ? "the ZooKeeper session expired"
                                                   : "ZooKeeper refused our credentials");
        continue;
      }
      if (state == ZOO_CONNECTED_STATE) {
        last_connected_ = now;
      } else if (now - last_connected_ > std::chrono::milliseconds(timeout_ms_ * 2 / 3)) {
        // The others may be about to see our session expire: stop first.
        suspend("lost contact with ZooKeeper for " + std::to_string(timeout_ms_ * 2 / 3) + " ms");
        continue;
      }
      if (state == ZOO_CONNECTED_STATE) {
        bool ok = true;
        if (members_changed_.exchange(false)) ok &= read_members();
        if (queue_changed_.exchange(false)) ok &= read_queue();
        if (!ok) {  // retried at the next turn
          members_changed_ = queue_changed_ = true;
        }
        if (now >= next_report) {
          next_report = now + std::chrono::seconds(1);
          if (last_read_ != reported_read_) {
            std::vector<char> d = member_data();
            if (zoo_set(zh_, my_member_.c_str(), d.data(), int(d.size()), -1) == ZOK)
              reported_read_ = last_read_;
          }
          clean_queue();
        }
      }
      if (now >= next_tick) {
        events_->on_tick();
        next_tick = now + std::chrono::milliseconds(100);
      }
      wait_event(50);
    }
  }

  static constexpr size_t kMaxFrame = 1 << 20;  // ZooKeeper's default jute.maxbuffer

  const ZooKeeperOptions opts_;
  const ClusterKey key_;
  std::string acl_id_;
  ACL acl_entry_{};
  ACL_vector acl_{};
  TransportEvents* events_ = nullptr;
  std::mutex zh_mu_;  // guards zh_ (the handle) and suspended_ against send()
  zhandle_t* zh_ = nullptr;
  bool suspended_ = false;
  int wake_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> zk_state_{0};
  std::atomic<bool> queue_changed_{false}, members_changed_{false};
  Clock::time_point last_connected_{};
  RateLimit complaints_{1};
  // Loop-thread state (and start()'s, before the loop exists).
  std::string id_;
  std::string my_member_;                      // our member znode's path
  std::map<std::string, std::string> members_;  // member znode name -> participant id
  std::set<std::string> gone_;                  // ids whose GONE was delivered
  std::set<std::string> gone_sent_;             // ids we appended a GONE for
  int64_t last_read_ = -1;                      // the newest queue entry read
  int64_t reported_read_ = -1;                  // ... as our member znode says
  bool alone_ = false;
  uint32_t timeout_ms_ = 3000;                  // the session timeout granted
};

}  // namespace

bool parse_zookeeper_options(const std::string& text, ZooKeeperOptions* out, std::string* why) {
  ZooKeeperOptions o;
  std::string s = text;
  size_t t = s.find(",timeout=");
  if (t != std::string::npos) {
    std::string v = s.substr(t + 9);
    char* end = nullptr;
    unsigned long ms = std::strtoul(v.c_str(), &end, 10);
    bool digits = !v.empty() && v.size() <= 6 &&
                  std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || *end || ms < 100 || ms > 600000) {
      *why = "Invalid ZooKeeper session timeout '" + v + "': must be milliseconds between 100 and 600000";
      return false;
    }
    o.timeout_ms = uint32_t(ms);
    s = s.substr(0, t);
  }
  size_t slash = s.find('/');
  if (slash != std::string::npos) {
    std::string cluster = s.substr(slash + 1);
    s = s.substr(0, slash);
    if (cluster.empty() || cluster.find('/') != std::string::npos) {
      *why = "Invalid ZooKeeper cluster id '" + cluster + "'";
      return false;
    }
    o.path = "/sheepdog/" + cluster;
  }
  if (s.empty()) {
    *why = "You must specify zookeeper servers.";
    return false;
  }
  o.hosts = s;
  *out = o;
  return true;
}

std::unique_ptr<ClusterDriver> make_zookeeper_driver(const std::string& opts,
                                                     const ClusterKey& key) {
  ZooKeeperOptions o;
  std::string why;
  if (!parse_zookeeper_options(opts, &o, &why)) return nullptr;
  return std::make_unique<MembershipProtocol>(std::make_unique<ZooKeeperTransport>(o, key),
                                              "zookeeper", key);
}

bool zookeeper_available(const ZooKeeperOptions& o) {
  zoo_set_debug_level(ZooLogLevel(0));
  std::atomic<int> state{0};
  auto watcher = [](zhandle_t*, int type, int st, const char*, void* ctx) {
    if (type == ZOO_SESSION_EVENT) static_cast<std::atomic<int>*>(ctx)->store(st);
  };
  zhandle_t* zh = zookeeper_init(o.hosts.c_str(), watcher, int(o.timeout_ms), nullptr, &state, 0);
  if (!zh) return false;
  auto deadline = Clock::now() + std::chrono::milliseconds(std::max<uint32_t>(o.timeout_ms, 5000));
  while (state != ZOO_CONNECTED_STATE && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  bool ok = state == ZOO_CONNECTED_STATE;
  zookeeper_close(zh);
  return ok;
}

}  // namespace sd
