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
// participant that sees it appends a "gone" frame for it; every reader
// delivers all of them, so the leave (and the no-op repeats) sit at the
// same places in everyone's order. A newcomer registers, then reads from
// the queue's tail (no history: the master's JOIN_RESPONSE tells it the
// members), and is alone when no other member znode exists. The
// participant with the oldest member znode deletes the queue entries every
// member has read, so the queue stays short.
//
// With a cluster key every znode carries a digest ACL derived from it
// (ClusterKey::zookeeper_acl_id): without the key a client can neither
// read nor write them; children that do not carry it are deleted.
//
// Sessions: an answer to a `sync` (one goes every tenth of the session
// timeout) vouches for us for half the timeout after its question left
// (in_contact). Past that the others may be about to drop us: the sheep
// refuses I/O at once, and the loop suspends (forgets the membership),
// closes the handle, and once ZooKeeper answers again joins with a new
// session, as a newcomer. An expired session, or an append that failed
// (a cluster message may be lost), is handled the same way. Nothing ever
// uses a handle in an unusable state.
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

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
#include "cluster/zookeeper_transport.h"
#include "cluster/zookeeper_znodes.h"

namespace sd {

namespace {

enum FrameKind : uint8_t { kRecord = 1, kGone = 2 };
using Clock = std::chrono::steady_clock;

class ZooKeeperTransport : public OrderedTransport {
 public:
  ZooKeeperTransport(ZooKeeperOptions opts, ClusterKey key)
      : opts_(std::move(opts)), key_(std::move(key)), acl_(key_) {}
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
    // What the servers granted (they bound it by their tick time).
    timeout_ms_ = uint32_t(std::max(100, zoo_recv_timeout(zh)));
    ping_in_flight_ = false;
    append_failed_ = false;
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
      int rc = zoo_create(zh, p.c_str(), nullptr, -1, acl_.vector(), 0, nullptr, 0);
      if (rc != ZOK && rc != ZNODEEXISTS) {
        *why = "cannot create " + p + ": " + zerror(rc);
        return false;
      }
    }
    if (!key_.empty()) {
      for (const std::string& p : {base(), member_path(), queue_path()})
        if (!acl_.guard(zh, p, why)) return false;
      for (const std::string& p : {member_path(), queue_path()})
        if (!acl_.sweep(zh, p, why)) return false;
    }
    const clientid_t* cid = zoo_client_id(zh);
    char idbuf[32];
    std::snprintf(idbuf, sizeof(idbuf), "z%" PRIx64, uint64_t(cid->client_id));
    id_ = idbuf;
    // Registered first, as having read nothing, which holds the cleanup
    // back; then the tail is read, and what we will read next is set.
    // (The other order would let the oldest member delete an entry past
    // the tail we saw before our member znode was there to stop it.)
    last_read_ = -1;
    std::vector<char> data = member_data();
    char created[512];
    int rc = zoo_create(zh, (member_path() + "/m-").c_str(), data.data(), int(data.size()), acl_.vector(),
                        ZOO_EPHEMERAL_SEQUENTIAL, created, sizeof(created));
    if (rc != ZOK) {
      *why = "cannot register in " + member_path() + ": " + zerror(rc) +
             (rc == ZNOAUTH ? " (it belongs to a cluster with another key, or none)" : "");
      return false;
    }
    my_member_ = created;
    String_vector names{};
    rc = zoo_get_children(zh, queue_path().c_str(), 0, &names);
    if (rc != ZOK) {
      *why = "cannot read " + queue_path() + ": " + zerror(rc);
      return false;
    }
    for (int i = 0; i < names.count; i++) last_read_ = std::max(last_read_, znode_seq(names.data[i]));
    deallocate_String_vector(&names);
    data = member_data();
    int64_t asked_ms = now_ms();  // the servers heard from us after this
    rc = zoo_set(zh, my_member_.c_str(), data.data(), int(data.size()), -1);
    if (rc != ZOK) {
      *why = "cannot update " + my_member_ + ": " + zerror(rc);
      return false;
    }
    confirmed_ms_ = asked_ms;
    reported_read_ = last_read_;
    members_.clear();
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
  // False (to be retried) when ZooKeeper does not answer.
  bool read_members() {
    String_vector names{};
    int rc = zoo_wget_children(zh_, member_path().c_str(), on_watch, this, &names);
    if (rc != ZOK) return false;
    std::map<std::string, std::string> now;
    bool ok = true;
    if (names.count > int(kMaxMembers)) {
      uint64_t skipped = 0;
      if (complaints_.allow(&skipped))
        sd_err("%s has %d children; only the oldest %zu are taken for members", member_path().c_str(),
               names.count, kMaxMembers);
    }
    std::vector<std::string> sorted(names.data, names.data + names.count);
    deallocate_String_vector(&names);
    std::sort(sorted.begin(), sorted.end());
    if (sorted.size() > kMaxMembers) sorted.resize(kMaxMembers);
    for (const std::string& name : sorted) {
      auto known = members_.find(name);
      if (known != members_.end()) {
        now[name] = known->second;
        continue;
      }
      char buf[256];
      int len = sizeof(buf);
      rc = zoo_get(zh_, (member_path() + "/" + name).c_str(), 0, buf, &len, nullptr);
      if (rc == ZNONODE) continue;  // gone again already
      if (rc != ZOK) {
        ok = false;  // not known yet: looked at again at the retry
        continue;
      }
      RecordReader r(buf, size_t(std::max(len, 0)));
      std::string id = r.str();
      if (r.ok() && valid_participant_id(id)) now[name] = id;
    }
    for (const auto& [name, id] : members_)
      if (!now.count(name) && !gone_sent_.count(id) && id != id_) {
        std::lock_guard<std::mutex> lk(zh_mu_);
        if (append_locked(kGone, id, {}).ok()) gone_sent_.insert(id);
      }
    members_ = std::move(now);
    return ok;
  }

  // Delivers every queue entry after last_read_, in order.
  bool read_queue() {
    String_vector names{};
    int rc = zoo_wget_children(zh_, queue_path().c_str(), on_watch, this, &names);
    if (rc != ZOK) return false;
    std::vector<std::pair<int64_t, std::string>> fresh;
    for (int i = 0; i < names.count; i++) {
      int64_t s = znode_seq(names.data[i]);
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

  // One queue entry, read: a record for the protocol, or a leave. Every
  // GONE frame is delivered, duplicates too (each member that saw the
  // member znode vanish appends one): every reader then sees the same
  // sequence, and a leave after the first is a no-op for all alike.
  void deliver(const std::vector<char>& frame) {
    if (frame.empty()) return;
    RecordReader f(frame.data(), frame.size());
    uint8_t kind = f.u8();
    std::string who = f.str();
    if (!f.ok() || !valid_participant_id(who)) return;
    size_t hdr = 1 + 4 + who.size();
    if (kind == kRecord) {
      events_->on_record(who, std::vector<char>(frame.begin() + long(hdr), frame.end()));
    } else if (kind == kGone) {
      events_->on_gone(who);
    }
  }

  // The member znodes' names, sorted (oldest first); false if unread.
  bool list_members(std::vector<std::string>* out) {
    String_vector members{};
    if (zoo_get_children(zh_, member_path().c_str(), 0, &members) != ZOK) return false;
    out->assign(members.data, members.data + members.count);
    deallocate_String_vector(&members);
    std::sort(out->begin(), out->end());
    return true;
  }

  // The oldest member deletes the queue entries every member has read.
  // The member list is read afresh, not taken from our cache, and read
  // again after the members' positions: a newcomer registers (as having
  // read nothing) before it looks for the queue's tail, so if it is in
  // neither list it registered after we read the positions, and saw a
  // tail later than anything they allow us to delete.
  void clean_queue() {
    std::vector<std::string> names, again;
    if (!list_members(&names)) return;
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
    if (!list_members(&again) || again != names) return;  // next time
    String_vector queued{};
    if (zoo_get_children(zh_, queue_path().c_str(), 0, &queued) != ZOK) return;
    for (int i = 0; i < queued.count; i++)
      if (znode_seq(queued.data[i]) >= 0 && znode_seq(queued.data[i]) <= oldest)
        zoo_adelete(zh_, (queue_path() + "/" + queued.data[i]).c_str(), -1, on_deleted, nullptr);
    deallocate_String_vector(&queued);
  }

  // Appends a frame to the queue. Asynchronous: a client's requests reach
  // the ensemble in the order it sends them, so frames keep their order,
  // and several can be in flight (ZooKeeper commits them together). A
  // failure (now or when it comes back) means a frame may be lost, or
  // stored without our knowing (a connection lost meanwhile): the
  // protocol cannot go on from there, so the loop suspends and we join
  // again with a new session.
  Status append_locked(FrameKind kind, const std::string& id, const std::vector<char>& payload) {
    RecordWriter w;
    w.u8(kind).str(id).raw(payload.data(), payload.size());
    if (w.buf().size() > kMaxFrame) {
      sd_err("a cluster message of %zu bytes is too big for ZooKeeper", w.buf().size());
      return err(Res::InvalidParms);
    }
    int rc = zoo_acreate(zh_, (queue_path() + "/q-").c_str(), w.buf().data(),
                         int(w.buf().size()), acl_.vector(), ZOO_PERSISTENT_SEQUENTIAL, on_appended, this);
    if (rc != ZOK) {
      complain_append(rc);
      append_failed_ = true;
      wake();
      return err(Res::ClusterError);
    }
    return {};
  }

  // The C client insists on a completion for every asynchronous call. A
  // failed delete is retried by the next cleanup.
  static void on_deleted(int, const void*) {}

  static void on_appended(int rc, const char*, const void* ctx) {
    if (rc == ZOK) return;
    auto* t = static_cast<ZooKeeperTransport*>(const_cast<void*>(ctx));
    t->complain_append(rc);
    t->append_failed_ = true;
    t->wake();
  }

  // ---- contact ----------------------------------------------------------

  static int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
        .count();
  }

  // How long an answer vouches for us. The leader expires a session a
  // timeout T after it last heard of it, and a follower passes what its
  // clients did on every half tick (a tick is at most T/2: ZooKeeper's own
  // bound). An answer to a `sync` went through the leader after we asked,
  // so the leader had heard of us at most a ping interval (T/10) and half
  // a tick (T/4) before we asked: it cannot drop us earlier than 0.65 T
  // after the question left. We stop at T/2.
  int64_t contact_ms() const { return int64_t(timeout_ms_.load()) / 2; }

 public:
  bool in_contact() const override { return now_ms() < contact_until_ms(); }
  int64_t contact_until_ms() const override { return confirmed_ms_.load() + contact_ms(); }

 private:
  // Sends a `sync` (it goes through the leader, and writes nothing) every
  // tenth of the timeout; each answer moves confirmed_ms_ to when its
  // question left.
  void ping() {
    if (ping_in_flight_ || now_ms() - ping_sent_ms_.load() < int64_t(timeout_ms_.load()) / 10) return;
    ping_sent_ms_ = now_ms();
    ping_in_flight_ = true;
    if (zoo_async(zh_, member_path().c_str(), on_pinged, this) != ZOK) ping_in_flight_ = false;
  }

  static void on_pinged(int rc, const char*, const void* ctx) {
    auto* t = static_cast<ZooKeeperTransport*>(const_cast<void*>(ctx));
    if (rc == ZOK) {
      int64_t sent = t->ping_sent_ms_.load();
      if (sent > t->confirmed_ms_.load()) t->confirmed_ms_ = sent;
    }
    t->ping_in_flight_ = false;
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
      if (!in_contact()) {
        // The others may be about to see our session expire: stop first.
        suspend("no answer from ZooKeeper for " + std::to_string(contact_ms()) + " ms");
        continue;
      }
      if (append_failed_) {
        suspend("a cluster message may be lost (an append to ZooKeeper failed)");
        continue;
      }
      if (state == ZOO_CONNECTED_STATE) ping();
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

  // ZooKeeper's default jute.maxbuffer is 1 MiB - 1 for a whole request:
  // path, ACL and headers fit in the rest.
  static constexpr size_t kMaxFrame = (1 << 20) - 8192;
  // Far more sheep than a cluster has; bounds what fake member znodes
  // (possible without a key) can cost.
  static constexpr size_t kMaxMembers = 4096;

  const ZooKeeperOptions opts_;
  const ClusterKey key_;
  const ZnodeAcl acl_;
  TransportEvents* events_ = nullptr;
  std::mutex zh_mu_;  // guards zh_ (the handle) and suspended_ against send()
  zhandle_t* zh_ = nullptr;
  bool suspended_ = false;
  int wake_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> zk_state_{0};
  std::atomic<bool> queue_changed_{false}, members_changed_{false};
  // Contact (see in_contact): steady-clock milliseconds, shared with the
  // client's completion thread and with the threads that ask.
  std::atomic<int64_t> confirmed_ms_{0}, ping_sent_ms_{0};
  std::atomic<bool> ping_in_flight_{false};
  std::atomic<bool> append_failed_{false};
  std::atomic<uint32_t> timeout_ms_{3000};  // the session timeout granted
  RateLimit complaints_{1};
  // Loop-thread state (and start()'s, before the loop exists).
  std::string id_;
  std::string my_member_;                      // our member znode's path
  std::map<std::string, std::string> members_;  // member znode name -> participant id
  std::set<std::string> gone_sent_;             // ids we appended a GONE for
  int64_t last_read_ = -1;                      // the newest queue entry read
  int64_t reported_read_ = -1;                  // ... as our member znode says
  bool alone_ = false;
};

}  // namespace

std::unique_ptr<OrderedTransport> make_zookeeper_transport(const ZooKeeperOptions& opts,
                                                           const ClusterKey& key) {
  return std::make_unique<ZooKeeperTransport>(opts, key);
}

}  // namespace sd
