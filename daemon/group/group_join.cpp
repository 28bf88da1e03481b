// Group: joining and leaving. What a newcomer presents, the master's
// verdict, the reply every member applies, and what a leave or a cut-off
// ends (docs/PROTOCOL.md §8.7).
#include "group/group.h"

#include <algorithm>
#include <cinttypes>
#include <cstring>
#include <ctime>

#include "cluster/wire_buffer.h"
#include "base/log.h"
#include "group/group_detail.h"
#include "store/object_store.h"
#include "store/read_lease.h"

namespace sd {

using group_detail::contains;
using group_detail::log_released;

namespace {

void write_record(RecordWriter& w, const EpochRecord& r) {
  w.u32(r.epoch).u64(r.time).u32(uint32_t(r.nodes.size()));
  for (const auto& n : r.nodes) w.node(n);
}

EpochRecord read_record(RecordReader& r) {
  EpochRecord rec;
  rec.epoch = r.u32();
  rec.time = r.u64();
  uint32_t n = r.u32();
  for (uint32_t i = 0; i < n && r.ok(); i++) rec.nodes.push_back(r.node());
  return rec;
}

constexpr uint8_t kJoinAccepted = 1;

using VdiList = std::vector<std::pair<uint32_t, VdiInfo>>;

void write_vdis(RecordWriter& w, const VdiList& vdis) {
  w.u32(uint32_t(vdis.size()));
  for (const auto& [vid, v] : vdis) {
    uint8_t flags = (v.snapshot ? 1 : 0) | (v.deleted ? 2 : 0) | (v.store_policy == 1 ? 4 : 0);
    w.u32(vid).u8(v.copies).u8(v.copy_policy).u8(v.block_size_shift).u8(flags).u32(v.parent);
  }
}

VdiList read_vdis(RecordReader& r) {
  VdiList out;
  uint32_t n = r.u32();
  for (uint32_t i = 0; i < n && r.ok(); i++) {
    uint32_t vid = r.u32();
    VdiInfo v;
    v.copies = r.u8();
    v.copy_policy = r.u8();
    v.block_size_shift = r.u8();
    if (!valid_block_size_shift(v.block_size_shift)) v.block_size_shift = 0;
    uint8_t flags = r.u8();
    v.parent = r.u32();
    v.snapshot = flags & 1;
    v.deleted = flags & 2;
    v.store_policy = (flags & 4) ? 1 : 0;
    if (r.ok()) out.push_back({vid, v});
  }
  return out;
}

// The VDIs both sides know of: a node may hold inodes the others lack (it
// kept the only copy). A VDI one side saw become a snapshot or deleted is
// one: those changes only go one way.
VdiList merge_vdis(const VdiList& ours, const VdiList& theirs) {
  std::map<uint32_t, VdiInfo> all(ours.begin(), ours.end());
  for (const auto& [vid, v] : theirs) {
    auto [it, added] = all.emplace(vid, v);
    if (!added) {
      it->second.snapshot |= v.snapshot;
      it->second.deleted |= v.deleted;
    }
  }
  return VdiList(all.begin(), all.end());
}

void apply_vdis(VdiTable& table, const VdiList& vdis) {
  for (const auto& [vid, v] : vdis) {
    auto cur = table.get(vid);
    if (!cur) {
      table.add(vid, v, true);
      continue;
    }
    if (v.snapshot && !cur->snapshot) table.mark_snapshot(vid);
    if (v.deleted && !cur->deleted) table.mark_deleted(vid);
  }
}

// The lock table (with the tokens of ended holds that may come back), as
// a newcomer receives it.
void write_locks(RecordWriter& w, const VdiLocks& table) {
  auto locks = table.all();
  w.u32(uint32_t(locks.size()));
  for (const auto& [vid, l] : locks) {
    w.u32(vid).u32(uint32_t(l.state)).u64(l.since);
    w.raw(&l.owner.nid, sizeof(NodeId)).u64(l.owner.conn).u64(l.token);
    w.u32(uint32_t(l.participants.size()));
    for (const auto& p : l.participants)
      w.raw(&p.who.nid, sizeof(NodeId)).u64(p.who.conn).u32(uint32_t(p.state)).u64(p.token);
  }
  auto resumable = table.resumable();
  w.u32(uint32_t(resumable.size()));
  for (const auto& [vid, tokens] : resumable) {
    w.u32(vid).u32(uint32_t(tokens.size()));
    for (uint64_t t : tokens) w.u64(t);
  }
  auto touched = table.touched();
  w.u32(uint32_t(touched.size()));
  for (uint32_t vid : touched) w.u32(vid);
}

// Revoked lock tokens (vdi_locks.h), as join info and join replies carry them.
void write_tokens(RecordWriter& w, const std::set<uint64_t>& tokens) {
  w.u32(uint32_t(tokens.size()));
  for (uint64_t t : tokens) w.u64(t);
}

std::set<uint64_t> read_tokens(RecordReader& r) {
  std::set<uint64_t> out;
  uint32_t n = r.u32();
  if (n > kMaxRevoked) r.fail();
  for (uint32_t i = 0; i < n && r.ok(); i++) out.insert(r.u64());
  return out;
}

void read_locks(RecordReader& r, std::map<uint32_t, VdiLock>* locks,
                std::map<uint32_t, std::vector<uint64_t>>* resumable,
                std::set<uint32_t>* touched) {
  uint32_t n = r.u32();
  for (uint32_t i = 0; i < n && r.ok(); i++) {
    uint32_t vid = r.u32();
    VdiLock l;
    l.state = LockState(r.u32());
    l.since = r.u64();
    r.raw(&l.owner.nid, sizeof(NodeId));
    l.owner.conn = r.u64();
    l.token = r.u64();
    uint32_t np = r.u32();
    if (np > kMaxLockParticipants) r.fail();
    for (uint32_t j = 0; j < np && r.ok(); j++) {
      VdiLock::Participant p;
      r.raw(&p.who.nid, sizeof(NodeId));
      p.who.conn = r.u64();
      p.state = ParticipantState(r.u32());
      p.token = r.u64();
      l.participants.push_back(p);
    }
    if (r.ok()) (*locks)[vid] = std::move(l);
  }
  n = r.u32();
  for (uint32_t i = 0; i < n && r.ok(); i++) {
    uint32_t vid = r.u32();
    uint32_t nt = r.u32();
    if (nt > kMaxResumable) r.fail();
    std::vector<uint64_t> tokens;
    for (uint32_t j = 0; j < nt && r.ok(); j++) tokens.push_back(r.u64());
    if (r.ok()) (*resumable)[vid] = std::move(tokens);
  }
  n = r.u32();
  for (uint32_t i = 0; i < n && r.ok(); i++) touched->insert(r.u32());
}

}  // namespace

// ---- joining ---------------------------------------------------------------

// What a newcomer tells the master: protocol version, vnode mode, the
// cluster it belongs to (its settings, ctime 0 when unformatted), its newest
// epoch and the VDIs it knows of.
std::vector<char> Group::join_info() {
  std::lock_guard<std::mutex> lk(mu_);
  RecordWriter w;
  w.u8(kSheepProtoVer).u8(opts_.vnodes == 0);
  w.raw(&settings_, sizeof(settings_));
  write_record(w, latest_);
  write_vdis(w, vdis_.all());
  write_tokens(w, locks_.revoked());
  return w.buf();
}

// As upstream, the master admits every newcomer (so a join is an epoch when
// the cluster runs) and says whether it may stay. (Whether it holds the
// cluster key was settled before: the driver never hands over a join it
// could not authenticate.) One that may not (another
// cluster's node, the other vnode strategy, another protocol) leaves at
// once, which is the next epoch. After a full restart (waiting) the newest
// epoch among the nodes wins; a node with a newer epoch of another cluster
// means this master must not lead either, and both stop.
bool Group::check_join(const SdNode& node, const std::vector<char>& info,
                       std::vector<char>* reply, std::string* refusal) {
  RecordReader r(info);
  uint8_t proto = r.u8();
  bool node_auto = r.u8() != 0;
  ClusterSettings theirs;
  r.raw(&theirs, sizeof(theirs));
  EpochRecord their = read_record(r);
  VdiList their_vdis = read_vdis(r);
  std::set<uint64_t> revoked = read_tokens(r);  // theirs and ours: revoked everywhere
  std::string addr = node_addr_str(node.nid);
  std::lock_guard<std::mutex> lk(mu_);
  RecordWriter w;
  if (contains(members_, node)) {
    *refusal = "a node with the address " + addr + " is already a member";
    sd_err("refusing %s: %s", addr.c_str(), refusal->c_str());
    return false;
  }
  std::string why;        // the newcomer must leave
  bool abdicate = false;  // so must this master
  ClusterSettings cluster = settings_;
  EpochRecord best = latest_;
  bool waiting = status_ == ClusterStatus::Wait;
  if (!r.ok() || proto != kSheepProtoVer) {
    why = "invalid protocol version: " + std::to_string(proto) + ", " +
          std::to_string(kSheepProtoVer);
  } else if (!settings_.ctime) {
    // Not formatted: a formatted newcomer brings its cluster with it.
    if (theirs.ctime && waiting) {
      cluster = theirs;
      best = their;
      sd_info("%s brings its cluster (epoch %u); adopting it", addr.c_str(), their.epoch);
    }
  } else if (theirs.ctime && theirs.ctime != settings_.ctime) {
    why = "joining node ctime doesn't match: " + std::to_string(theirs.ctime) + " vs " +
          std::to_string(settings_.ctime);
    if (waiting && their.epoch > latest_.epoch) {
      abdicate = true;
      sd_err("%s has epoch %u of another cluster, newer than ours (%u): this node must not lead",
             addr.c_str(), their.epoch, latest_.epoch);
    }
  } else if (node.nr_vnodes && node_auto != bool(settings_.flags & kClusterAutoVnodes)) {
    // (A gateway has no vnodes of either kind: it joins any cluster.)
    why = std::string("the cluster uses ") +
          (settings_.flags & kClusterAutoVnodes ? "auto" : "fixed") +
          " vnodes and the joining node does not";
  } else if (waiting && their.epoch > latest_.epoch) {
    best = their;  // after a full restart the newest epoch wins
  }
  if (!why.empty()) sd_err("%s may not stay: %s", addr.c_str(), why.c_str());
  w.u8(kJoinAccepted).str(why).u8(abdicate);
  w.raw(&cluster, sizeof(cluster)).u8(uint8_t(status_.load()));
  write_record(w, best);
  // Same cluster: what the newcomer knows joins what we know.
  VdiList vdis = vdis_.all();
  if (why.empty() && theirs.ctime == cluster.ctime) vdis = merge_vdis(vdis, their_vdis);
  write_vdis(w, vdis);
  write_locks(w, locks_);
  if (why.empty()) {
    std::set<uint64_t> ours = locks_.revoked();
    revoked.insert(ours.begin(), ours.end());
    while (revoked.size() > kMaxRevoked) revoked.erase(revoked.begin());
  } else {
    revoked = locks_.revoked();
  }
  write_tokens(w, revoked);
  *reply = w.buf();
  return true;
}

// Applies the master's reply. Every member adopts a newer epoch record and,
// when it was not formatted, the cluster the newcomer brought; the
// newcomer also adopts the status and the VDI table. Returns false when
// this node must stop (it may not stay, or as a master it must not lead).
bool Group::adopt_reply(const std::vector<char>& reply, bool self_join) {
  RecordReader r(reply);
  if (r.u8() != kJoinAccepted) return true;
  std::string why = r.str();
  bool abdicate = r.u8() != 0;
  ClusterSettings s;
  r.raw(&s, sizeof(s));
  auto status = ClusterStatus(r.u8());
  EpochRecord rec = read_record(r);
  VdiList vdis = read_vdis(r);
  std::map<uint32_t, VdiLock> locks;
  std::map<uint32_t, std::vector<uint64_t>> resumable;
  std::set<uint32_t> touched;
  read_locks(r, &locks, &resumable, &touched);
  std::set<uint64_t> revoked = read_tokens(r);
  if (!r.ok()) {
    sd_err("malformed join reply");
    return !self_join;  // joining on what we cannot read would be worse than leaving
  }
  if (self_join && !why.empty()) {
    sd_err("%s", why.c_str());
    sd_err("failed to join Sheepdog");
    return false;  // nothing of theirs is taken: our own data stays as it was
  }
  bool master = !members_.empty() && same_node(members_.front(), self_);
  if (abdicate && master) {
    sd_err("a node with a newer epoch of another cluster joined: leaving, this node must not lead");
    return false;
  }
  if (!why.empty()) return true;  // the newcomer leaves again at once
  if (s.ctime != settings_.ctime) {
    // A cluster we were not part of yet (we were not formatted, or we are
    // the newcomer to a formatted cluster): start clean in it.
    if (!settings_.ctime || self_join) {
      if (!store_.purge().ok()) sd_err("failed to purge the store");
      if (!epochs_.clear().ok()) sd_err("failed to clear the epoch log");
      rings_.clear();
      history_replaced_ = true;  // cleared again once published (on_join)
      recovered_by_.clear();  // reports of another history
      incomplete_.clear();
      complete_epoch_ = 0;
      listener_.on_store_reset(rec.epoch);
      latest_ = EpochRecord{};
      settings_ = s;
      apply_store_layout();
      config_dirty_ = true;  // saved by on_join once mu_ is released
    }
  }
  if (rec.epoch > latest_.epoch) {
    if (!epochs_.save(rec).ok()) sd_err("failed to save epoch %u", rec.epoch);
    latest_ = rec;
  } else if (self_join && rec.epoch < latest_.epoch && s.ctime == settings_.ctime) {
    // The cluster's history wins over ours: epochs we recorded beyond it
    // belong to a history that did not happen.
    for (uint32_t e = rec.epoch + 1; e <= latest_.epoch; e++) epochs_.remove(e);
    rings_.clear();
    history_replaced_ = true;
    if (!epochs_.save(rec).ok()) sd_err("failed to save epoch %u", rec.epoch);
    latest_ = rec;
  }
  if (!self_join) {
    apply_vdis(vdis_, vdis);
    locks_.merge_revoked(revoked);
    return true;
  }
  // (Copies that missed epochs while we were away stop being live through
  // the ownership audit: it checks every epoch since its last run.)
  settings_ = s;
  apply_store_layout();
  status_ = status;
  publish_lease();
  vdis_.clear();
  apply_vdis(vdis_, vdis);
  locks_.replace(std::move(locks), std::move(resumable), std::move(touched));
  locks_.merge_revoked(revoked);
  return true;
}

void Group::on_join(const std::vector<SdNode>& members, const SdNode& node,
                    const std::vector<char>& reply) {
  bool self_join = same_node(node, self_);
  bool stay = true;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!reply.empty()) stay = adopt_reply(reply, self_join);
    if (!stay) {
      status_ = ClusterStatus::Killed;
      publish_lease();
    } else if (self_join) {
      joined_ = true;
      if (suspended_) sd_info("back in the cluster");
      suspended_ = false;
      if (reply.empty()) status_ = ClusterStatus::Wait;  // founder: formatted or not, wait
      publish_lease();
    }
    members_ = members;
    carry_node_attributes(&node);
    sd_info("%s joined (%zu members)", node_addr_str(node.nid).c_str(), members.size());
    // A sheep that joins again started again: its connections are gone.
    if (!self_join) log_released(locks_.release_node(node.nid), "its gateway started again");
    if (stay) membership_changed_locked();
    if (history_replaced_) {
      // Published now: a ring or record looked up with the members of the
      // replaced history until now is not kept (epoch_rings.h).
      history_replaced_ = false;
      rings_.clear();
    }
  }
  if (!stay) {
    listener_.on_stop();
    return;
  }
  bool dirty;
  {
    std::lock_guard<std::mutex> lk(mu_);
    dirty = config_dirty_ || self_join;
    config_dirty_ = false;
  }
  if (dirty && !save_config().ok()) sd_err("failed to save config");
}

void Group::on_join_refused(const std::string& why) {
  sd_err("the cluster refused this node: %s", why.c_str());
  sd_err("failed to join Sheepdog");
  status_ = ClusterStatus::Killed;
  publish_lease();
  listener_.on_stop();
}

void Group::on_leave(const std::vector<SdNode>& members, const SdNode& node) {
  listener_.on_peer_left(node.nid);
  std::lock_guard<std::mutex> lk(mu_);
  log_released(locks_.release_node(node.nid),
               ("its gateway " + node_addr_str(node.nid) + " left").c_str());
  members_ = members;
  carry_node_attributes(nullptr);
  sd_info("%s left (%zu members)", node_addr_str(node.nid).c_str(), members.size());
  membership_changed_locked();
}

void Group::on_driver_failure(const std::string& why) {
  sd_err("cluster driver failure: %s; no longer serving I/O", why.c_str());
  status_ = ClusterStatus::Killed;
  publish_lease();
  cv_.notify_all();
}

void Group::on_suspended(const std::string& why) {
  sd_err("%s: no longer serving I/O until this node is back in the cluster", why.c_str());
  // The others drop the locks held through us: so do we, with the
  // connections that held them.
  std::vector<uint64_t> conns = locks_.connections_on(self_.nid);
  log_released(locks_.release_node(self_.nid), "this sheep was cut off from the cluster");
  if (!conns.empty()) listener_.on_locks_lost(conns);
  std::lock_guard<std::mutex> lk(mu_);
  suspended_ = true;
  publish_lease();
  joined_ = false;
  members_.clear();
  // Messages we were waiting for will never come: fail their waiters.
  for (uint32_t seq : waiting_) done_[seq] = Res::Halt;
  cv_.notify_all();
}

}  // namespace sd
