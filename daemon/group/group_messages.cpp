// Group: cluster-wide operations. Each is a message broadcast through the
// cluster driver and applied by every member in the driver's order: the
// sender waits until its own copy is applied (format, shutdown, VDIs
// added, deleted and released, VDI locks, recovery settings and reports).
#include "group/group.h"

#include <algorithm>
#include <cinttypes>
#include <cstring>
#include <ctime>
#include <unordered_set>

#include "base/log.h"
#include "group/group_detail.h"
#include "erasure_code.h"
#include "proto/inode.h"
#include "store/object_store.h"
#include "store/read_lease.h"

namespace sd {

using group_detail::log_released;

// ---- cluster-wide operations ------------------------------------------------

Res Group::broadcast_and_wait(MsgType type, const void* payload, size_t len) {
  std::vector<char> msg(sizeof(MsgHeader) + len);
  uint32_t seq;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (suspended_) return Res::Halt;
    if (stopping_) return Res::Shutdown;
    seq = next_seq_++;
    waiting_.insert(seq);
  }
  MsgHeader h{type, seq};
  std::memcpy(msg.data(), &h, sizeof(h));
  if (len) std::memcpy(msg.data() + sizeof(h), payload, len);
  Status st = driver_->broadcast(msg);
  std::unique_lock<std::mutex> lk(mu_);
  if (!st.ok()) {
    waiting_.erase(seq);
    return st.code();
  }
  cv_.wait(lk, [&] {
    return done_.count(seq) != 0 || status_ == ClusterStatus::Killed || stopping_;
  });
  waiting_.erase(seq);
  if (!done_.count(seq)) return Res::ClusterError;
  Res r = done_[seq];
  done_.erase(seq);
  return r;
}

void Group::on_message(const SdNode& sender, const std::vector<char>& msg) {
  if (msg.size() < sizeof(MsgHeader)) return;
  MsgHeader h;
  std::memcpy(&h, msg.data(), sizeof(h));
  Res r = apply(MsgType(h.type), msg.data() + sizeof(h), msg.size() - sizeof(h), sender);
  if (same_node(sender, self_)) {
    std::lock_guard<std::mutex> lk(mu_);
    if (waiting_.count(h.seq)) done_[h.seq] = r;
    cv_.notify_all();
  }
}

Res Group::apply(MsgType type, const char* p, size_t len, const SdNode& sender) {
  switch (type) {
    case kMakeFs: {
      if (len != sizeof(ClusterSettings)) return Res::InvalidParms;
      ClusterSettings s;
      std::memcpy(&s, p, sizeof(s));
      return apply_make_fs(s);
    }
    case kShutdown:
      status_ = ClusterStatus::Shutdown;
      publish_lease();
      if (!save_config().ok()) sd_err("failed to save config");
      sd_info("cluster shutdown requested");
      listener_.on_stop();
      return Res::Success;
    case kVdiAdded: {
      if (len != sizeof(VdiAddedMsg)) return Res::InvalidParms;
      VdiAddedMsg m;
      std::memcpy(&m, p, sizeof(m));
      if (m.old_vid) vdis_.mark_snapshot(m.old_vid);
      if (m.old_vid) locks_.move(m.old_vid, m.new_vid);
      locks_.touch(m.new_vid);  // no hold from before it existed may come back
      VdiInfo info;
      info.copies = m.copies;
      info.copy_policy = m.copy_policy;
      info.block_size_shift = m.block_size_shift;
      info.store_policy = m.store_policy;
      info.parent = m.parent;
      vdis_.add(m.new_vid, info, true);
      return Res::Success;
    }
    case kVdiDeleted: {
      if (len != 4) return Res::InvalidParms;
      uint32_t vid;
      std::memcpy(&vid, p, 4);
      // A VDI a client holds the lock of is not deleted: decided here, in
      // the cluster's order, so no lock can slip in between.
      if (locks_.get(vid)) return Res::VdiLocked;
      vdis_.mark_deleted(vid);
      locks_.forget(vid);
      return Res::Success;
    }
    case kRecovery: {
      if (len != 1) return Res::InvalidParms;
      std::lock_guard<std::mutex> lk(mu_);
      settings_.disable_recovery = p[0] != 0;
      return Res::Success;
    }
    case kVdisReleased: {
      if (len % 4) return Res::InvalidParms;
      for (size_t i = 0; i < len / 4; i++) {
        uint32_t vid;
        std::memcpy(&vid, p + 4 * i, 4);
        vdis_.release(vid);
        locks_.forget(vid);
      }
      return Res::Success;
    }
    case kVdiLock:
    case kVdiRelease:
    case kLocksReleased: {
      if (len != sizeof(LockMsg)) return Res::InvalidParms;
      LockMsg m;
      std::memcpy(&m, p, sizeof(m));
      LockHolder who{m.nid, m.conn};
      if (type == kLocksReleased) {
        log_released(locks_.release_holder(who), "its client connection closed");
        return Res::Success;
      }
      if (type == kVdiRelease) {
        // A break (a release by anyone but a holder) fences the holders
        // through us first: from this moment their gateway refuses what
        // they still send, and their connections go.
        if (auto l = locks_.get(m.vid); l && !m.own_only) {
          bool holder = l->state == LockState::Locked ? l->owner == who : false;
          for (const auto& p : l->participants) holder |= p.who == who;
          std::vector<uint64_t> conns;
          if (!holder) {
            if (l->state == LockState::Locked && same_node_id(l->owner.nid, self_.nid))
              conns.push_back(l->owner.conn);
            for (const auto& p : l->participants)
              if (same_node_id(p.who.nid, self_.nid)) conns.push_back(p.who.conn);
          }
          if (!conns.empty()) listener_.on_locks_lost(conns);
        }
        std::vector<LockHolder> broken;
        Res r = locks_.release(m.vid, who, m.own_only, &broken);
        if (r != Res::Success) return r;
        if (broken.empty())
          sd_info("VDI %" PRIx32 " unlocked: released", m.vid);
        else
          sd_info("VDI %" PRIx32 " unlocked: the lock was broken by a client of %s", m.vid,
                  node_addr_str(m.nid).c_str());
        return r;
      }
      {
        std::lock_guard<std::mutex> lk(mu_);
        bool member = false;
        for (const auto& n : members_)
          if (same_node_id(n.nid, m.nid)) member = true;
        if (!member) return Res::VdiLocked;  // its gateway left before this was decided
      }
      // The name was looked up before this message: in the cluster's
      // order the VDI may since have been deleted, or become a snapshot
      // (then the gateway looks the name up again).
      auto info = vdis_.get(m.vid);
      if (!info || info->deleted) return Res::NoVdi;
      if (m.expect_working && info->snapshot) return Res::Again;
      Res r = locks_.lock(m.vid, who, m.shared, m.now, m.token, m.resume);
      if (r == Res::Success)
        sd_info("VDI %" PRIx32 " locked%s%s by a client of %s", m.vid, m.shared ? " (shared)" : "",
                m.resume ? " again" : "", node_addr_str(m.nid).c_str());
      return r;
    }
    case kBarrier:
      return Res::Success;
    case kAlterClusterCopy: {
      if (len != 1 || p[0] == 0 || uint8_t(p[0]) > kMaxCopies) return Res::InvalidParms;
      uint8_t old;
      uint32_t epoch = membership()->epoch;
      {
        std::lock_guard<std::mutex> lk(mu_);
        old = settings_.copies;
        if (old == uint8_t(p[0])) return Res::Success;
        // VDI attribute objects follow the cluster's count: as for
        // ALTER_VDI_COPY, only on a recovered cluster, and the pass again.
        if (settings_.disable_recovery || all_recovered_epoch_.load() < epoch)
          return Res::NodeInRecovery;
        recovered_by_.erase(epoch);
        all_recovered_epoch_ = epoch - 1;
        complete_epoch_ = 0;  // copies move: the next pass lists everyone
        settings_.copies = uint8_t(p[0]);
      }
      if (!save_config().ok()) sd_err("failed to save config");
      listener_.on_copies_changed(kClusterDefaultCopies);
      sd_info("the cluster's redundancy level is %u (was %u)", unsigned(uint8_t(p[0])),
              unsigned(old));
      return Res::Success;
    }
    case kAlterVdiCopy: {
      if (len != sizeof(AlterVdiCopyMsg)) return Res::InvalidParms;
      AlterVdiCopyMsg m;
      std::memcpy(&m, p, sizeof(m));
      if (m.copies == 0 || m.copies > kMaxCopies) return Res::InvalidParms;
      auto info = vdis_.get(m.vid);
      if (!info || info->deleted) return Res::NoVdi;
      if (info->copy_policy) return Res::InvalidParms;  // erasure-coded
      // Standalone only (dog checks it too, but not in the cluster's
      // order): objects shared along a family belong to their owner's
      // count, which another member of the family cannot change.
      if (info->snapshot || info->parent || vdis_.live_children(m.vid))
        return Res::InvalidParms;
      // Decided here, in the cluster's order: no writer may be moving
      // bytes to the old owners while the new ones fetch.
      if (locks_.get(m.vid)) return Res::VdiLocked;
      if (info->copies == m.copies) return Res::Success;
      // Only on a cluster every node has recovered, with recovery on: the
      // audit judges a copy's past with today's count, which is right only
      // when every copy was checked at the current epoch.
      uint32_t epoch = membership()->epoch;
      {
        std::lock_guard<std::mutex> lk(mu_);
        if (settings_.disable_recovery || all_recovered_epoch_.load() < epoch)
          return Res::NodeInRecovery;
        // The pass runs again: this epoch is not recovered until every
        // node has reported once more.
        recovered_by_.erase(epoch);
        all_recovered_epoch_ = epoch - 1;
        complete_epoch_ = 0;  // copies move: the next pass lists everyone
      }
      vdis_.set_copies(m.vid, m.copies);
      sd_info("VDI %" PRIx32 " now keeps %u copies (was %u)", m.vid, unsigned(m.copies),
              unsigned(info->copies));
      listener_.on_copies_changed(m.vid);
      return Res::Success;
    }
    case kVdiRegistered: {
      if (len != sizeof(VdiRegisteredMsg)) return Res::InvalidParms;
      VdiRegisteredMsg m;
      std::memcpy(&m, p, sizeof(m));
      // Checked here too: a forged message must not place or size objects
      // absurdly, nor make a parent chain that never ends.
      if (!m.vid || m.vid >= kNrVdis || !m.copies || m.copies > kMaxCopies ||
          m.parent >= kNrVdis || m.parent == m.vid ||
          m.block_size_shift < kMinBlockSizeShift || m.block_size_shift > kMaxBlockSizeShift ||
          (m.copy_policy && !ec_shape_of(m.copy_policy)))
        return Res::InvalidParms;
      std::unordered_set<uint32_t> above;  // the chain of parents, each once
      for (uint32_t up = m.parent; up; ) {
        if (up == m.vid) return Res::InvalidParms;  // it would be its own ancestor
        if (!above.insert(up).second) break;        // a loop already there: not ours to add
        auto p = vdis_.get(up);
        if (!p) break;
        up = p->parent;
      }
      locks_.touch(m.vid);
      VdiInfo info;
      if (auto cur = vdis_.get(m.vid)) {
        // Known already: only what only ever goes one way (it became a
        // snapshot, it was deleted, its parent became known) changes, and
        // the map's kind its inode gives; its placement and size stay
        // (ALTER_VDI_COPY changes copies).
        info = *cur;
        info.snapshot |= m.snapshot != 0;
        info.deleted |= m.deleted != 0;
        if (!info.parent) info.parent = m.parent;
        info.store_policy = m.store_policy == 1 ? 1 : 0;  // what its inode says
      } else {
        info.copies = m.copies;
        info.copy_policy = m.copy_policy;
        info.block_size_shift = m.block_size_shift;
        info.store_policy = m.store_policy == 1 ? 1 : 0;
        info.parent = m.parent;
        info.snapshot = m.snapshot != 0;
        info.deleted = m.deleted != 0;
      }
      vdis_.add(m.vid, info, true);
      return Res::Success;
    }
    case kNodesUpdate:
      return apply_nodes_update(p, len);
    case kRecoveryDone: {
      // The epoch, then (ours since the scale work) 1 when the sender's
      // pass was complete; a report without that byte counts as incomplete.
      if (len != 4 && len != 5) return Res::InvalidParms;
      uint32_t e;
      std::memcpy(&e, p, 4);
      bool complete = len == 5 && p[4] == 1;
      MembershipPtr m = membership();
      // A member reports an epoch it has applied, which we have too (the
      // cluster's order): one far ahead is not kept (memory stays bounded).
      if (e > m->epoch + 64) return Res::Success;
      std::lock_guard<std::mutex> lk(mu_);
      auto& who = recovered_by_[e];
      who.insert(node_addr_str(sender.nid));
      if (!complete) {
        incomplete_.insert(e);
        // (A pass run again, after a lost disk, found something missing.)
        if (complete_epoch_.load() == e) complete_epoch_ = 0;
      }
      recovered_by_.erase(recovered_by_.begin(), recovered_by_.lower_bound(m->epoch));
      incomplete_.erase(incomplete_.begin(), incomplete_.lower_bound(m->epoch));
      if (e != m->epoch) return Res::Success;
      for (const auto& n : m->nodes)
        if (!who.count(node_addr_str(n.nid))) return Res::Success;
      if (!incomplete_.count(e)) complete_epoch_ = e;
      all_recovered_epoch_ = e;
      listener_.on_all_recovered(e);
      return Res::Success;
    }
  }
  return Res::InvalidParms;
}

Res Group::apply_make_fs(const ClusterSettings& req) {
  std::string store(req.store, strnlen(req.store, kStoreLen));
  if (store != "plain" && store != "tree") return Res::NoStore;
  if (!store_.purge().ok()) return Res::Eio;
  vdis_.clear();
  // Every lock ends, for good: the writers through us are fenced.
  std::vector<uint64_t> conns;
  for (const auto& h : locks_.clear())
    if (same_node_id(h.nid, self_.nid)) conns.push_back(h.conn);
  if (!conns.empty()) listener_.on_locks_lost(conns);
  if (!epochs_.clear().ok()) return Res::Eio;
  rings_.clear();
  listener_.on_store_reset(1);
  all_recovered_epoch_ = 0;
  complete_epoch_ = 0;
  std::vector<SdNode> nodes;
  {
    std::lock_guard<std::mutex> lk(mu_);
    settings_ = req;
    recovered_by_.clear();  // reports of the old history
    incomplete_.clear();
    apply_store_layout();
    if (!settings_.copies) settings_.copies = kDefaultCopies;
    if (!settings_.block_size_shift) settings_.block_size_shift = kDefaultBlockSizeShift;
    settings_.disable_recovery = false;
    nodes = with_vnodes(members_);
    latest_ = EpochRecord{1, uint64_t(time(nullptr)), nodes};
    status_ = ClusterStatus::Ok;  // the lease follows with publish()
  }
  if (!save_config().ok()) return Res::Eio;
  if (!epochs_.save(latest_).ok()) return Res::Eio;
  all_recovered_epoch_ = 1;  // an empty store has nothing to recover
  complete_epoch_ = 1;
  publish(1, nodes);
  // Again: a ring or record looked up with the old members until now is
  // not kept (epoch_rings.h).
  rings_.clear();
  sd_info("cluster formatted: %u copies, store %s", unsigned(req.copies), store.c_str());
  return Res::Success;
}

Res Group::apply_nodes_update(const char* p, size_t len) {
  if (len == 0 || len % sizeof(NodeUpdate) || len / sizeof(NodeUpdate) > kMaxNodes)
    return Res::InvalidParms;
  bool self_changed = false;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!settings_.ctime || status_ != ClusterStatus::Ok) return Res::WaitForFormat;
    for (size_t i = 0; i < len / sizeof(NodeUpdate); i++) {
      NodeUpdate u;
      std::memcpy(&u, p + i * sizeof(u), sizeof(u));
      auto it = std::find_if(members_.begin(), members_.end(),
                             [&](const SdNode& n) { return same_node_id(n.nid, u.nid); });
      // A gateway stays one; vnodes come from space in auto mode.
      if (it == members_.end() || it->nr_vnodes == 0 || u.nr_vnodes == 0) continue;
      it->space = u.space;
      if (!auto_vnodes()) it->nr_vnodes = u.nr_vnodes;
      sd_info("%s: space %" PRIu64 ", vnodes %u", node_addr_str(u.nid).c_str(), u.space,
              unsigned(u.nr_vnodes));
      if (same_node_id(u.nid, self_.nid)) {
        space_ = u.space;
        self_.space = u.space;
        self_.nr_vnodes = it->nr_vnodes;
        self_changed = true;
      }
      // Each update is an epoch of its own; the next one builds on it.
      membership_changed_locked();
    }
  }
  if (self_changed && !save_config().ok()) sd_err("failed to save config");
  return Res::Success;
}

Res Group::update_nodes(const std::vector<NodeUpdate>& updates) {
  if (updates.empty()) return Res::Success;
  return broadcast_and_wait(kNodesUpdate, updates.data(), updates.size() * sizeof(NodeUpdate));
}

Res Group::make_fs(const ClusterSettings& s) { return broadcast_and_wait(kMakeFs, &s, sizeof(s)); }
Res Group::shutdown() { return broadcast_and_wait(kShutdown, nullptr, 0); }
Res Group::alter_cluster_copy(uint8_t copies) {
  return broadcast_and_wait(kAlterClusterCopy, &copies, 1);
}
Res Group::alter_vdi_copy(uint32_t vid, uint8_t copies) {
  AlterVdiCopyMsg m{vid, copies, {}};
  return broadcast_and_wait(kAlterVdiCopy, &m, sizeof(m));
}
Res Group::vdi_added(const VdiAddedMsg& m) { return broadcast_and_wait(kVdiAdded, &m, sizeof(m)); }
Res Group::vdi_registered(uint32_t vid, const VdiInfo& info) {
  VdiRegisteredMsg m{};
  m.vid = vid;
  m.parent = info.parent;
  m.copies = info.copies;
  m.copy_policy = info.copy_policy;
  m.block_size_shift = info.block_size_shift;
  m.store_policy = info.store_policy;
  m.snapshot = info.snapshot;
  m.deleted = info.deleted;
  return broadcast_and_wait(kVdiRegistered, &m, sizeof(m));
}
Res Group::vdi_deleted(uint32_t vid) { return broadcast_and_wait(kVdiDeleted, &vid, 4); }
Res Group::vdis_released(const std::vector<uint32_t>& vids) {
  return broadcast_and_wait(kVdisReleased, vids.data(), vids.size() * 4);
}
Res Group::broadcast_lock(MsgType type, uint32_t vid, const LockHolder& who, const LockRequest& q,
                          bool own_only) {
  LockMsg m{};
  m.vid = vid;
  m.shared = q.shared;
  m.own_only = own_only;
  m.resume = q.resume;
  m.expect_working = q.expect_working;
  m.nid = who.nid;
  m.conn = who.conn;
  m.now = uint64_t(time(nullptr));
  m.token = q.token;
  return broadcast_and_wait(type, &m, sizeof(m));
}
Res Group::lock_vdi(uint32_t vid, const LockHolder& who, const LockRequest& q) {
  return broadcast_lock(kVdiLock, vid, who, q);
}
Res Group::release_vdi(uint32_t vid, const LockHolder& who, bool own_only) {
  return broadcast_lock(kVdiRelease, vid, who, LockRequest{}, own_only);
}
Res Group::release_locks(const LockHolder& who) {
  return broadcast_lock(kLocksReleased, 0, who, LockRequest{});
}
Res Group::barrier() { return broadcast_and_wait(kBarrier, nullptr, 0); }
Res Group::recovery_done(uint32_t epoch, bool complete) {
  char msg[5];
  std::memcpy(msg, &epoch, 4);
  msg[4] = complete ? 1 : 0;
  return broadcast_and_wait(kRecoveryDone, msg, sizeof(msg));
}
Res Group::set_recovery_disabled(bool d) {
  char c = d;
  return broadcast_and_wait(kRecovery, &c, 1);
}

}  // namespace sd
