// Background recovery after epoch changes.
#include "recovery/epoch_recovery.h"

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <map>
#include <set>
#include <vector>

#include "client/sheep_client.h"
#include "base/log.h"
#include "recovery/object_recovery.h"
#include "oid.h"
#include "recovery/ownership_audit.h"
#include "recovery/recovery_scope.h"
#include "group/epoch_rings.h"
#include "group/object_policy.h"
#include "peers/peer_calls.h"
#include "peers/peer_pool.h"
#include "store/object_store.h"

namespace sd {

namespace {

enum Phase : uint32_t { kPrepareList = 0, kRecoverObj = 1, kNotifyCompletion = 2 };

}  // namespace

void EpochRecovery::start() {
  thread_ = std::thread([this] { run(); });
}

void EpochRecovery::stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stopping_ && !thread_.joinable()) return;
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

void EpochRecovery::copies_changed(uint32_t vid) {
  std::lock_guard<std::mutex> lk(mu_);
  altered_.insert(vid);
  cv_.notify_all();
}

void EpochRecovery::recheck() {
  std::lock_guard<std::mutex> lk(mu_);
  lost_ = true;
  cv_.notify_all();
}

void EpochRecovery::retire_unowned(const std::set<uint32_t>& vids) {
  MembershipPtr m = members_.membership();
  if (m->self_index < 0) return;
  size_t n = 0;
  for (uint64_t oid : store_.list()) {
    // (vid 0: the objects the cluster's count places, VDI attributes.)
    bool affected = is_vdi_attr_obj(oid) ? vids.count(0) > 0 : vids.count(oid_to_vid(oid)) > 0;
    if (!affected || m->ring.holds(oid, policy_.copies_for(oid), m->self_index)) continue;
    if (audit_.retire(oid, m->epoch).ok()) n++;
  }
  if (n) sd_info("epoch %u: %zu copies no longer owned after a change of copies: moved to .stale",
                 m->epoch, n);
}

void EpochRecovery::store_reset(uint32_t epoch) {
  std::lock_guard<std::mutex> lk(mu_);
  generation_++;
  wanted_ = recovered_ = clean_ = cleaned_ = complete_ = epoch;
  altered_.clear();
  lost_ = pass_again_ = full_pass_ = false;
  fenced_rounds_ = 0;
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
  // (wanted_ only grows, but for store_reset, which also moves the
  // generation: a reset at the same epoch ends the pass too.)
  return stopping_ || wanted_ != epoch || generation_ != pass_generation_;
}

void EpochRecovery::wait_while_paused(uint32_t epoch) {
  // `dog cluster recover disable` holds recovery (I/O still recovers
  // single objects on demand).
  // (The cluster layer calls into us with its lock held: never call it
  // with ours.)
  while (cluster_.recovery_disabled()) {
    std::unique_lock<std::mutex> lk(mu_);
    if (stopping_ || wanted_ != epoch) return;
    cv_.wait_for(lk, std::chrono::milliseconds(200));
  }
}

void EpochRecovery::run() {
  log::set_thread_name("recovery");
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    cv_.wait(lk, [&] {
      return stopping_ || wanted_ > recovered_ || clean_ > cleaned_ || !altered_.empty() || lost_;
    });
    if (stopping_) return;
    if (lost_) {
      // Objects went missing here: the pass of the current epoch again
      // (also when one is running now: it may have listed them as held).
      lost_ = false;
      full_pass_ = true;
      complete_ = 0;  // until a full pass has found everything again
      uint32_t epoch = members_.membership()->epoch;
      if (epoch) {
        wanted_ = std::max(wanted_, epoch);
        if (recovered_ >= epoch) recovered_ = epoch - 1;
      }
    }
    if (!altered_.empty()) {
      std::set<uint32_t> vids;
      vids.swap(altered_);
      full_pass_ = true;
      complete_ = 0;
      lk.unlock();
      retire_unowned(vids);
      lk.lock();
      // The pass again for the current epoch (its report makes every node
      // clean up once more). A freshly formatted cluster never ran one.
      uint32_t epoch = members_.membership()->epoch;
      if (epoch) {
        wanted_ = std::max(wanted_, epoch);
        if (recovered_ >= epoch) recovered_ = epoch - 1;
        // Cleaning waits for the reports of this pass (a stale copy goes
        // only where an owner holds the object live, so one that comes
        // early is harmless).
        clean_ = std::min(clean_, epoch - 1);
        cleaned_ = std::min(cleaned_, epoch - 1);
      }
      continue;
    }
    if (wanted_ > recovered_) {
      uint32_t epoch = wanted_;
      bool may_narrow = !full_pass_ && epoch > 1 && complete_ == epoch - 1;
      uint64_t generation = generation_;
      pass_generation_ = generation;
      lk.unlock();
      pass_complete_ = 0;
      bool done = recover(epoch, may_narrow);
      lk.lock();
      if (generation != generation_) continue;  // the store was reset meanwhile
      if (done) {
        recovered_ = std::max(recovered_, epoch);
        // Only a pass that found and fetched everything lets the next one
        // list fewer members; a full pass asked for stays asked for until
        // one is done.
        complete_ = pass_complete_ == epoch ? epoch : 0;
        full_pass_ = false;
      }
      if (pass_again_) {
        // Backing off (0.1 s doubling to 5 s): the other nodes normally
        // apply the change within milliseconds.
        pass_again_ = false;
        auto wait = std::chrono::milliseconds(100 << std::min(fenced_rounds_++, 6u));
        cv_.wait_for(lk, std::min<std::chrono::milliseconds>(wait, std::chrono::seconds(5)),
                     [&] { return stopping_ || wanted_ > epoch; });
      } else if (done) {
        fenced_rounds_ = 0;
      }
      continue;
    }
    uint32_t epoch = clean_;
    uint64_t generation = generation_;
    lk.unlock();
    clean_up(epoch);
    lk.lock();
    if (generation == generation_) cleaned_ = std::max(cleaned_, epoch);
  }
}

std::vector<int> EpochRecovery::members_to_ask(const Membership& m, bool may_narrow) {
  if (may_narrow && cluster_.recovered_completely(m.epoch - 1)) {
    std::shared_ptr<const VnodeRing> prev = rings_.ring(m.epoch - 1);
    if (prev && prev->find(m.nodes[size_t(m.self_index)].nid) >= 0)
      return members_to_list(*prev, m.ring, m.self_index, policy_.kinds_in_use());
  }
  std::vector<int> all;
  for (size_t i = 0; i < m.nodes.size(); i++)
    if (!m.is_self(int(i))) all.push_back(int(i));
  return all;
}

bool EpochRecovery::recover(uint32_t epoch, bool may_narrow) {
  if (!cluster_.running()) return true;
  MembershipPtr m = members_.membership();
  if (m->epoch != epoch || m->self_index < 0) return true;
  in_recovery_ = true;
  phase_ = kPrepareList;
  finished_ = 0;
  total_ = 0;
  wait_while_paused(epoch);

  // 0. Copies that may have missed writes stop being live.
  if (!audit_.audit(*m, [&] { return superseded(epoch); })) {
    in_recovery_ = false;
    return false;
  }

  // 1. What the cluster holds, and of that what we must hold and lack.
  bool complete = true;
  std::set<uint64_t> all;
  for (uint64_t oid : store_.list()) all.insert(oid);
  for (const auto& s : store_.stale_list()) all.insert(s.oid);
  std::vector<int> ask = members_to_ask(*m, may_narrow);
  if (ask.size() + 1 < m->nodes.size())
    sd_info("epoch %u: listing the objects of %zu of %zu members (what the ring change touched)",
            epoch, ask.size(), m->nodes.size() - 1);
  // One member after the other: listing several at once was slower here
  // (every sheep lists at the same time after a change; see docs/SCALE.md).
  for (int idx : ask) {
    const NodeId& nid = m->nodes[size_t(idx)].nid;
    auto peer = peers_.get(nid);
    std::vector<uint64_t> live;
    std::vector<std::pair<uint64_t, uint32_t>> stale;
    if (!peer || !peer::object_list(*peer, &live) || !peer::stale_list(*peer, &stale)) {
      sd_warn("cannot list the objects of %s", node_addr_str(nid).c_str());
      complete = false;
      if (superseded(epoch)) {
        in_recovery_ = false;
        return false;
      }
      continue;
    }
    all.insert(live.begin(), live.end());
    for (const auto& [oid, e] : stale) all.insert(oid);
  }
  std::vector<uint64_t> todo;
  for (uint64_t oid : all)
    if (m->ring.holds(oid, policy_.copies_for(oid), m->self_index) && !store_.exists(oid))
      todo.push_back(oid);
  // Inodes first: they are small and VDI operations need them.
  std::stable_partition(todo.begin(), todo.end(), [](uint64_t oid) { return is_vdi_obj(oid); });
  total_ = todo.size();
  phase_ = kRecoverObj;
  if (!todo.empty()) sd_info("epoch %u: recovering %zu objects", epoch, todo.size());

  // 2. Fetch them, throttled.
  size_t fenced = 0;  // refused: a peer places them with another copy count
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
    Status st = objects_.fetch(todo[i]);
    in_window++;
    if (st.code() == Res::NoSpace) {
      // Never fill the disk: wait for room (or a new epoch) and try again.
      sd_err("epoch %u: recovery stopped, no space left for %016" PRIx64, epoch, todo[i]);
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait_for(lk, std::chrono::seconds(5), [&] { return stopping_ || wanted_ > epoch; });
      i--;
      continue;
    }
    if (st.code() == Res::OldNodeVer && !superseded(epoch)) fenced++;
    if (!st.ok() && st.code() != Res::NoObj && st.code() != Res::OldNodeVer)
      sd_err("epoch %u: cannot recover %016" PRIx64 ": %s", epoch, todo[i], strerror(st.code()));
    // NoObj for an object a member listed: deleted meanwhile, or every
    // peer asked failed; either way not proof that nothing is missing.
    if (!st.ok()) complete = false;
    finished_++;
  }
  if (superseded(epoch)) {
    in_recovery_ = false;
    return false;
  }

  if (fenced) {
    // Some members have not applied an ALTER_VDI_COPY yet: the pass runs
    // again shortly (nothing is reported meanwhile).
    sd_info("epoch %u: %zu objects wait for every node to apply a change of copies", epoch,
            fenced);
    in_recovery_ = false;
    std::lock_guard<std::mutex> lk(mu_);
    pass_again_ = true;
    return false;
  }
  // 3. Tell the others.
  phase_ = kNotifyCompletion;
  if (!todo.empty()) sd_info("epoch %u: recovery done (%zu objects)", epoch, todo.size());
  if (complete) pass_complete_ = epoch;
  Res r = cluster_.report_recovered(epoch, complete);
  in_recovery_ = false;
  if (r != Res::Success) sd_warn("epoch %u: could not report recovery: %s", epoch, strerror(r));
  return true;
}

void EpochRecovery::clean_up(uint32_t epoch) {
  MembershipPtr m = members_.membership();
  if (m->epoch != epoch || m->self_index < 0) return;
  // A stale copy goes once an owner under `epoch` holds the object live:
  // that copy is the newest there is (recovery takes the newest first).
  std::set<uint64_t> stale;
  for (const auto& s : store_.stale_list()) stale.insert(s.oid);
  std::map<int, std::vector<uint64_t>> ask;  // owner -> oids
  std::set<uint64_t> removable;
  for (uint64_t oid : stale) {
    Placement p = m->ring.place(oid, policy_.copies_for(oid));
    for (int i = 0; i < p.count; i++) {
      if (m->is_self(p.node[i])) {
        if (audit_.has_current(oid, *m)) removable.insert(oid);
      } else {
        ask[p.node[i]].push_back(oid);
      }
    }
  }
  for (auto& [idx, oids] : ask) {
    if (superseded(epoch)) return;
    auto peer = peers_.get(m->nodes[size_t(idx)].nid);
    if (!peer) continue;
    SdReq req = make_req(kOpOidsExist, kFlagWrite, uint32_t(oids.size() * 8));
    std::vector<uint64_t> missing(oids.size());
    SdRsp rsp;
    Status st = peer->exec(req, oids.data(), missing.data(), &rsp, uint32_t(missing.size() * 8));
    if (!st.ok() && st.code() != Res::NoObj && st.code() != Res::OldNodeVer) continue;
    std::set<uint64_t> lacks;
    if (st.code() == Res::NoObj) lacks.insert(missing.begin(), missing.begin() + rsp.data_length / 8);
    for (uint64_t oid : oids)
      if (!lacks.count(oid)) removable.insert(oid);
  }
  if (superseded(epoch)) return;
  for (uint64_t oid : removable) {
    if (!store_.remove_stale(oid).ok()) sd_warn("cannot remove stale copies of %016" PRIx64, oid);
  }
  size_t kept = stale.size() - removable.size();
  if (!removable.empty() || kept)
    sd_info("epoch %u: every node recovered; %zu stale objects removed, %zu kept (no live copy elsewhere)",
            epoch, removable.size(), kept);
}

}  // namespace sd
