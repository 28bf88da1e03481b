// CorosyncTransport: the ordered transport of the corosync driver, on
// corosync's closed process groups (libcpg) and quorum service (libquorum).
//
// Records are multicast to the CPG group "sheepdog" with agreed (total)
// order; a member is "nodeid:pid", so several sheep on one host work too.
// Configuration changes become gone events in the same order as messages.
// Sends are queued and retried from the event loop when corosync answers
// CS_ERR_TRY_AGAIN (flow control); the loop never sleeps on it.
//
// The transport suspends (the sheep stops serving I/O) when
//  - this node loses quorum (votequorum says we are in a minority), or a
//    configuration change takes away at least half of the other hosts at
//    once (we may be the minority before quorum news arrives); the sheep
//    then leaves the group so the majority sees it go;
//  - corosync itself goes away (CS_ERR_LIBRARY).
// It retries every second and, once corosync is reachable and quorate
// again, joins the group afresh and resumes: the sheep rejoins as a
// newcomer and the master decides as for any join.
#include <corosync/cpg.h>
#include <corosync/quorum.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <deque>
#include <mutex>
#include <set>
#include <thread>

#include "cluster/membership_protocol.h"
#include "cluster/transport.h"
#include "base/log.h"

namespace sd {

namespace {

const char kGroupName[] = "sheepdog";

std::string member_id(uint32_t nodeid, uint32_t pid) {
  return std::to_string(nodeid) + ":" + std::to_string(pid);
}

class CorosyncTransport : public OrderedTransport {
 public:
  CorosyncTransport() = default;
  ~CorosyncTransport() override { stop(); }

  Result<std::string> start(TransportEvents* events) override {
    events_ = events;
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!connect()) return err(Res::ClusterError);
    thread_ = std::thread([this] { loop(); });
    return id_;
  }

  Status send(const std::vector<char>& rec) override {
    {
      std::lock_guard<std::mutex> lk(mu_);
      queue_.push_back(rec);
    }
    uint64_t one = 1;
    ssize_t rc = write(wake_fd_, &one, sizeof(one));
    (void)rc;
    return {};
  }

  void stop() override {
    if (stopping_.exchange(true)) return;
    uint64_t one = 1;
    if (wake_fd_ >= 0) {
      ssize_t rc = write(wake_fd_, &one, sizeof(one));
      (void)rc;
    }
    if (thread_.joinable()) thread_.join();
    // Flush what is queued (our leave notice may be among it), then go.
    if (joined_) {
      flush_queue(true);
      cpg_leave(cpg_, &group_);
    }
    disconnect();
    if (wake_fd_ >= 0) close(wake_fd_);
    wake_fd_ = -1;
  }

  bool has_history() const override { return false; }

 private:
  // cpg/quorum callbacks carry our object through the handle context.
  static CorosyncTransport* self_of_cpg(cpg_handle_t h) {
    void* ctx = nullptr;
    cpg_context_get(h, &ctx);
    return static_cast<CorosyncTransport*>(ctx);
  }
  static CorosyncTransport* self_of_quorum(quorum_handle_t h) {
    const void* ctx = nullptr;
    quorum_context_get(h, &ctx);
    return static_cast<CorosyncTransport*>(const_cast<void*>(ctx));
  }

  // corosync names the sending process (node id and pid): the record's
  // claimed sender is checked against it.
  static void on_deliver(cpg_handle_t h, const cpg_name*, uint32_t nodeid, uint32_t pid,
                         void* msg, size_t len) {
    CorosyncTransport* t = self_of_cpg(h);
    if (!t || t->suspended_) return;
    const char* p = static_cast<const char*>(msg);
    t->events_->on_record(member_id(nodeid, pid), std::vector<char>(p, p + len));
  }

  static void on_confchg(cpg_handle_t h, const cpg_name*, const cpg_address* members,
                         size_t nr_members, const cpg_address* left, size_t nr_left,
                         const cpg_address* joined, size_t nr_joined) {
    CorosyncTransport* t = self_of_cpg(h);
    if (t) t->handle_confchg(members, nr_members, left, nr_left, joined, nr_joined);
  }

  static void on_quorum(quorum_handle_t h, uint32_t quorate, uint64_t, uint32_t, uint32_t*) {
    CorosyncTransport* t = self_of_quorum(h);
    if (t) t->quorate_ = quorate != 0;
  }

  void handle_confchg(const cpg_address* members, size_t nr_members, const cpg_address* left,
                      size_t nr_left, const cpg_address* joined, size_t nr_joined) {
    if (suspended_) return;
    std::set<uint32_t> hosts_before = hosts_;
    hosts_.clear();
    for (size_t i = 0; i < nr_members; i++) hosts_.insert(members[i].nodeid);
    bool we_joined = false;
    for (size_t i = 0; i < nr_joined; i++)
      if (member_id(joined[i].nodeid, joined[i].pid) == id_) we_joined = true;
    if (we_joined && nr_members == 1) events_->on_alone();
    // Losing at least half of the other hosts at once: we may be the
    // minority side of a partition.
    bool node_down = false;
    for (size_t i = 0; i < nr_left; i++) node_down |= left[i].reason == CPG_REASON_NODEDOWN;
    size_t others_before = hosts_before.size() > 0 ? hosts_before.size() - 1 : 0;
    size_t others_now = hosts_.size() > 0 ? hosts_.size() - 1 : 0;
    if (node_down && others_before > 0 && 2 * (others_before - others_now) >= others_before + 1) {
      suspend("lost contact with most of the cluster");
      return;
    }
    for (size_t i = 0; i < nr_left; i++) events_->on_gone(member_id(left[i].nodeid, left[i].pid));
  }

  bool connect() {
    cpg_model_v1_data_t model{};
    model.model = CPG_MODEL_V1;
    model.cpg_deliver_fn = on_deliver;
    model.cpg_confchg_fn = on_confchg;
    cs_error_t rc = cpg_model_initialize(&cpg_, CPG_MODEL_V1,
                                         reinterpret_cast<cpg_model_data_t*>(&model), this);
    if (rc != CS_OK) {
      if (!warned_) sd_err("cannot reach corosync (cpg_initialize: %d)", int(rc));
      warned_ = true;
      return false;
    }
    unsigned int nodeid = 0;
    if (cpg_local_get(cpg_, &nodeid) != CS_OK) {
      cpg_finalize(cpg_);
      return false;
    }
    id_ = member_id(nodeid, uint32_t(getpid()));
    quorum_callbacks_t qcb{};
    qcb.quorum_notify_fn = on_quorum;
    uint32_t qtype = 0;
    has_quorum_ = quorum_initialize(&quorum_, &qcb, &qtype) == CS_OK;
    if (has_quorum_) {
      quorum_context_set(quorum_, this);
      int q = 0;
      quorum_getquorate(quorum_, &q);
      quorate_ = q != 0;
      quorum_trackstart(quorum_, CS_TRACK_CHANGES);
    } else {
      sd_warn("corosync has no quorum service; partitions cannot be detected");
      quorate_ = true;
    }
    std::memset(&group_, 0, sizeof(group_));
    group_.length = sizeof(kGroupName) - 1;
    std::memcpy(group_.value, kGroupName, group_.length);
    connected_ = true;
    warned_ = false;
    sd_info("connected to corosync as %s%s", id_.c_str(), quorate_ ? "" : " (not quorate)");
    return true;
  }

  void disconnect() {
    if (!connected_) return;
    cpg_finalize(cpg_);
    if (has_quorum_) quorum_finalize(quorum_);
    connected_ = false;
    joined_ = false;
  }

  bool join_group() {
    cs_error_t rc;
    do {
      rc = cpg_join(cpg_, &group_);
    } while (rc == CS_ERR_TRY_AGAIN && !stopping_);
    if (rc != CS_OK) {
      sd_err("cpg_join failed: %d", int(rc));
      return false;
    }
    joined_ = true;
    return true;
  }

  void suspend(const std::string& why) {
    if (suspended_) return;
    suspended_ = true;
    {
      std::lock_guard<std::mutex> lk(mu_);
      queue_.clear();
    }
    if (joined_) cpg_leave(cpg_, &group_);
    disconnect();
    hosts_.clear();
    events_->on_suspend(why);
  }

  // Sends queued records; false when corosync failed.
  bool flush_queue(bool blocking) {
    for (;;) {
      std::vector<char> rec;
      {
        std::lock_guard<std::mutex> lk(mu_);
        if (queue_.empty()) return true;
        rec = queue_.front();
      }
      iovec iov{rec.data(), rec.size()};
      cs_error_t rc = cpg_mcast_joined(cpg_, CPG_TYPE_AGREED, &iov, 1);
      if (rc == CS_ERR_TRY_AGAIN) {
        if (!blocking) {
          retry_ = true;  // flow control: the loop comes back soon
          return true;
        }
        cpg_dispatch(cpg_, CS_DISPATCH_ALL);
        continue;
      }
      if (rc != CS_OK) return false;
      std::lock_guard<std::mutex> lk(mu_);
      queue_.pop_front();
    }
  }

  void loop() {
    log::set_thread_name("cluster");
    auto next_tick = std::chrono::steady_clock::now();
    auto next_retry = next_tick;
    while (!stopping_) {
      auto now = std::chrono::steady_clock::now();
      if (!connected_ && now >= next_retry) {
        next_retry = now + std::chrono::seconds(1);
        connect();
      }
      if (connected_ && !joined_ && quorate_) {
        if (join_group() && suspended_) {
          suspended_ = false;
          events_->on_resume(id_);
        }
      }
      if (connected_ && joined_ && !quorate_) {
        suspend("this node lost quorum (minority partition)");
        next_retry = now + std::chrono::seconds(1);
        continue;
      }
      retry_ = false;
      if (joined_ && !flush_queue(false)) {
        suspend("corosync refused a message");
        continue;
      }
      pollfd fds[3];
      int n = 0;
      fds[n++] = {wake_fd_, POLLIN, 0};
      int cpg_fd = -1, q_fd = -1;
      if (connected_) {
        cpg_fd_get(cpg_, &cpg_fd);
        fds[n++] = {cpg_fd, POLLIN, 0};
        if (has_quorum_) {
          quorum_fd_get(quorum_, &q_fd);
          fds[n++] = {q_fd, POLLIN, 0};
        }
      }
      int rc = poll(fds, nfds_t(n), retry_ ? 1 : 100);
      if (rc > 0 && (fds[0].revents & POLLIN)) {
        uint64_t v;
        while (read(wake_fd_, &v, sizeof(v)) > 0) {
        }
      }
      if (connected_ && rc > 0) {
        for (int i = 1; i < n; i++) {
          if (!fds[i].revents) continue;
          cs_error_t drc = fds[i].fd == cpg_fd ? cpg_dispatch(cpg_, CS_DISPATCH_ALL)
                                               : quorum_dispatch(quorum_, CS_DISPATCH_ALL);
          if (drc != CS_OK && drc != CS_ERR_TRY_AGAIN) {
            suspend("corosync is gone (dispatch error " + std::to_string(int(drc)) + ")");
            next_retry = std::chrono::steady_clock::now() + std::chrono::seconds(1);
            break;
          }
        }
      }
      if (std::chrono::steady_clock::now() >= next_tick) {
        if (!suspended_) events_->on_tick();
        next_tick = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
      }
    }
  }

  TransportEvents* events_ = nullptr;
  std::string id_;
  cpg_handle_t cpg_{};
  quorum_handle_t quorum_{};
  cpg_name group_{};
  bool connected_ = false;
  bool joined_ = false;
  bool has_quorum_ = false;
  bool quorate_ = false;
  bool suspended_ = false;
  bool retry_ = false;
  bool warned_ = false;
  std::set<uint32_t> hosts_;
  int wake_fd_ = -1;
  std::mutex mu_;
  std::deque<std::vector<char>> queue_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
};

}  // namespace

std::unique_ptr<ClusterDriver> make_corosync_driver(const ClusterKey& key) {
  return std::make_unique<MembershipProtocol>(std::make_unique<CorosyncTransport>(), "corosync",
                                              key);
}

bool corosync_available() {
  cpg_handle_t h;
  cpg_callbacks_t cb{};
  if (cpg_initialize(&h, &cb) != CS_OK) return false;
  cpg_finalize(h);
  return true;
}

}  // namespace sd
