// Background recovery after epoch changes.
#include "epoch_recovery.h"

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <set>
#include <vector>

#include "log.h"
#include "oid.h"
#include "sheep.h"

namespace sd {

namespace {

enum Phase : uint32_t { kPrepareList = 0, kRecoverObj = 1, kNotifyCompletion = 2 };

// Every oid a sheep stores (GET_OBJ_LIST, growing the buffer as needed).
bool object_list(SheepClient& c, std::vector<uint64_t>* out) {
  for (uint32_t len = 1u << 20; len <= (256u << 20); len *= 2) {
    std::vector<uint64_t> buf(len / 8);
    SdReq req = make_req(kOpGetObjList, 0, len);
    SdRsp rsp;
    Status st = c.exec(req, nullptr, buf.data(), &rsp);
    if (st.code() == Res::BufferSmall) continue;
    if (!st.ok()) return false;
    out->insert(out->end(), buf.begin(), buf.begin() + rsp.data_length / 8);
    return true;
  }
  return false;
}

}  // namespace

void EpochRecovery::start() {
  thread_ = std::thread([this] { run(); });
}

void EpochRecovery::stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void EpochRecovery::epoch_changed(uint32_t epoch) {
  std::lock_guard<std::mutex> lk(mu_);
  wanted_ = std::max(wanted_, epoch);
  cv_.notify_all();
}

void EpochRecovery::all_recovered(uint32_t epoch) {
  std::lock_guard<std::mutex> lk(mu_);
  clean_ = std::max(clean_, epoch);
  cv_.notify_all();
}

RecoveryState EpochRecovery::state() const {
  RecoveryState s{};
  s.in_recovery = in_recovery_.load();
  s.state = phase_.load();
  s.nr_finished = finished_.load();
  s.nr_total = total_.load();
  return s;
}

void EpochRecovery::set_throttle(uint32_t max_objects, uint64_t interval_ms) {
  max_ = max_objects;
  interval_ms_ = interval_ms;
  cv_.notify_all();
}

RecoveryThrottling EpochRecovery::throttle() const {
  RecoveryThrottling t{};
  t.max_exec_count = max_.load();
  t.queue_work_interval = interval_ms_.load();
  t.throttling = t.max_exec_count && t.queue_work_interval;
  return t;
}

bool EpochRecovery::superseded(uint32_t epoch) const {
  std::lock_guard<std::mutex> lk(mu_);
  return stopping_ || wanted_ > epoch;
}

void EpochRecovery::wait_while_paused(uint32_t epoch) {
  // `dog cluster recover disable` holds recovery (I/O still recovers
  // single objects on demand).
  // (Group calls into us with its lock held: never call Group with ours.)
  while (sheep_.group.settings().disable_recovery) {
    std::unique_lock<std::mutex> lk(mu_);
    if (stopping_ || wanted_ != epoch) return;
    cv_.wait_for(lk, std::chrono::milliseconds(200));
  }
}

void EpochRecovery::run() {
  log::set_thread_name("recovery");
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    cv_.wait(lk, [&] { return stopping_ || wanted_ > recovered_ || clean_ > cleaned_; });
    if (stopping_) return;
    if (wanted_ > recovered_) {
      uint32_t epoch = wanted_;
      lk.unlock();
      bool done = recover(epoch);
      lk.lock();
      if (done) recovered_ = std::max(recovered_, epoch);
      continue;
    }
    uint32_t epoch = clean_;
    lk.unlock();
    clean_up(epoch);
    lk.lock();
    cleaned_ = std::max(cleaned_, epoch);
  }
}

bool EpochRecovery::recover(uint32_t epoch) {
  if (sheep_.group.status() != ClusterStatus::Ok || sheep_.group.suspended()) return true;
  MembershipPtr m = sheep_.group.membership();
  if (m->epoch != epoch || m->self_index < 0) return true;
  in_recovery_ = true;
  phase_ = kPrepareList;
  finished_ = 0;
  total_ = 0;
  wait_while_paused(epoch);

  // 1. What the cluster holds, and of that what we must hold and lack.
  std::set<uint64_t> all;
  for (size_t i = 0; i < m->nodes.size(); i++) {
    std::vector<uint64_t> oids;
    if (m->is_self(int(i))) {
      oids = sheep_.store.list();
    } else {
      auto peer = sheep_.peers.get(m->nodes[i].nid);
      if (!peer || !object_list(*peer, &oids)) {
        sd_warn("cannot list the objects of %s", node_addr_str(m->nodes[i].nid).c_str());
        continue;
      }
    }
    all.insert(oids.begin(), oids.end());
  }
  std::vector<uint64_t> todo;
  for (uint64_t oid : all) {
    Placement p = m->ring.place(oid, sheep_.gateway.copies_for(oid, 0));
    bool mine = false;
    for (int i = 0; i < p.count; i++) mine |= m->is_self(p.node[i]);
    if (mine && !sheep_.store.exists(oid)) todo.push_back(oid);
  }
  // Inodes first: they are small and VDI operations need them.
  std::stable_partition(todo.begin(), todo.end(), [](uint64_t oid) { return is_vdi_obj(oid); });
  total_ = todo.size();
  phase_ = kRecoverObj;
  if (!todo.empty()) sd_info("epoch %u: recovering %zu objects", epoch, todo.size());

  // 2. Fetch them, throttled.
  auto window_start = std::chrono::steady_clock::now();
  uint32_t in_window = 0;
  for (size_t i = 0; i < todo.size(); i++) {
    if (superseded(epoch)) {
      sd_info("epoch %u: recovery superseded after %zu of %zu objects", epoch, i, todo.size());
      in_recovery_ = false;
      return false;
    }
    wait_while_paused(epoch);
    uint32_t max = max_.load();
    uint64_t interval = interval_ms_.load();
    if (max && interval && in_window >= max) {
      auto next = window_start + std::chrono::milliseconds(interval);
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait_until(lk, next, [&] { return stopping_ || wanted_ > epoch; });
      window_start = std::chrono::steady_clock::now();
      in_window = 0;
    }
    Status st = sheep_.recovery.fetch(todo[i]);
    in_window++;
    if (st.code() == Res::NoSpace) {
      // Never fill the disk: wait for room (or a new epoch) and try again.
      sd_err("epoch %u: recovery stopped, no space left for %016" PRIx64, epoch, todo[i]);
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait_for(lk, std::chrono::seconds(5), [&] { return stopping_ || wanted_ > epoch; });
      i--;
      continue;
    }
    if (!st.ok() && st.code() != Res::NoObj)
      sd_err("epoch %u: cannot recover %016" PRIx64 ": %s", epoch, todo[i], strerror(st.code()));
    finished_++;
  }

  // 3. Tell the others.
  phase_ = kNotifyCompletion;
  if (!todo.empty()) sd_info("epoch %u: recovery done (%zu objects)", epoch, todo.size());
  Res r = sheep_.group.recovery_done(epoch);
  in_recovery_ = false;
  if (r != Res::Success) sd_warn("epoch %u: could not report recovery: %s", epoch, strerror(r));
  return true;
}

void EpochRecovery::clean_up(uint32_t epoch) {
  MembershipPtr m = sheep_.group.membership();
  if (m->epoch != epoch || m->self_index < 0) return;
  size_t removed = 0;
  for (uint64_t oid : sheep_.store.list()) {
    Placement p = m->ring.place(oid, sheep_.gateway.copies_for(oid, 0));
    bool mine = false;
    for (int i = 0; i < p.count; i++) mine |= m->is_self(p.node[i]);
    if (mine || superseded(epoch)) continue;
    if (sheep_.store.remove(oid).ok()) removed++;
  }
  if (!superseded(epoch) && !sheep_.store.purge_stale().ok()) sd_warn("cannot empty .stale");
  if (removed) sd_info("epoch %u: every node recovered; removed %zu objects we no longer own", epoch, removed);
}

}  // namespace sd
