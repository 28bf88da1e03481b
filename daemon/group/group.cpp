// Cluster status, epochs, joins and leaves, and cluster-wide operations.
#include "group/group.h"

#include <algorithm>
#include <cinttypes>
#include <cstring>
#include <ctime>

#include "cluster/wire_buffer.h"
#include "base/log.h"
#include "proto/inode.h"
#include "ring.h"
#include "store/plain_store.h"
#include "store/read_lease.h"

namespace sd {

namespace {

bool same_members(const std::vector<SdNode>& a, const std::vector<SdNode>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++)
    if (!same_node(a[i], b[i])) return false;
  return true;
}

bool contains(const std::vector<SdNode>& v, const SdNode& n) {
  return std::any_of(v.begin(), v.end(), [&](const SdNode& m) { return same_node(m, n); });
}

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
    uint8_t flags = (v.snapshot ? 1 : 0) | (v.deleted ? 2 : 0);
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
    uint8_t flags = r.u8();
    v.parent = r.u32();
    v.snapshot = flags & 1;
    v.deleted = flags & 2;
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
}

void read_locks(RecordReader& r, std::map<uint32_t, VdiLock>* locks,
                std::map<uint32_t, std::vector<uint64_t>>* resumable) {
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
}

void log_released(const std::vector<uint32_t>& vids, const char* why) {
  for (uint32_t vid : vids) sd_info("VDI %" PRIx32 " unlocked: %s", vid, why);
}

}  // namespace

Status Group::start(ClusterDriver* driver) {
  driver_ = driver;
  auto cfg = config_.load();
  if (cfg.ok()) {
    std::lock_guard<std::mutex> lk(mu_);
    settings_.ctime = cfg->ctime;
    settings_.flags = cfg->flags;
    settings_.copies = cfg->copies;
    settings_.copy_policy = cfg->copy_policy;
    settings_.block_size_shift = cfg->block_size_shift;
    std::memcpy(settings_.store, cfg->default_store, kStoreLen);
    space_ = cfg->space;
  } else if (cfg.code() != Res::NoObj) {
    sd_err("cannot read %s: unsupported format", config_.path().c_str());
    return err(cfg.code());
  }
  if (!space_) space_ = store_.fs_free();
  if (opts_.gateway) space_ = 0;
  self_.space = space_;
  if (opts_.gateway) self_.nr_vnodes = 0;
  SD_TRY(save_config());
  if (formatted()) {
    uint32_t e = epochs_.latest();
    auto rec = epochs_.load(e);
    std::lock_guard<std::mutex> lk(mu_);
    if (rec.ok()) latest_ = *rec;
    sd_info("cluster formatted, last epoch %u", e);
    // The vnode strategy (and a fixed count) is the store's, set at format.
    if (!opts_.gateway) {
      bool stored_auto = settings_.flags & kClusterAutoVnodes;
      bool mismatch = stored_auto != (opts_.vnodes == 0);
      if (!mismatch && !stored_auto)
        for (const auto& n : latest_.nodes)
          if (same_node(n, self_) && n.nr_vnodes != self_.nr_vnodes) mismatch = true;
      if (mismatch) {
        sd_err("Designation of before a restart and a vnodes option is different.");
        return err(Res::InvalidParms);
      }
    }
  }
  return driver_->join(self_, this);
}

void Group::begin_stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  epoch_cv_.notify_all();
}

void Group::stop() {
  if (driver_) driver_->leave();
}

ClusterSettings Group::settings() const {
  std::lock_guard<std::mutex> lk(mu_);
  return settings_;
}

bool Group::is_master() const {
  std::lock_guard<std::mutex> lk(mu_);
  return !members_.empty() && same_node(members_.front(), self_);
}

SdNode Group::master() const {
  std::lock_guard<std::mutex> lk(mu_);
  return members_.empty() ? self_ : members_.front();
}

bool Group::halted() const {
  ClusterSettings s = settings();
  if (!(s.flags & kClusterStrict)) return false;
  return membership()->ring.nr_zones() < s.copies;
}

Status Group::save_config() {
  SheepConfig cfg{};
  {
    std::lock_guard<std::mutex> lk(mu_);
    cfg.ctime = settings_.ctime;
    cfg.flags = settings_.flags;
    cfg.copies = settings_.copies;
    cfg.copy_policy = settings_.copy_policy;
    cfg.block_size_shift = settings_.block_size_shift;
    std::memcpy(cfg.default_store, settings_.store, kStoreLen);
    cfg.shutdown = status_ == ClusterStatus::Shutdown;
    cfg.space = space_;
  }
  return config_.save(cfg);
}

bool Group::auto_vnodes() const {
  if (settings_.ctime) return settings_.flags & kClusterAutoVnodes;
  return opts_.vnodes == 0;
}

std::vector<SdNode> Group::with_vnodes(std::vector<SdNode> nodes) const {
  sort_nodes(nodes);
  if (auto_vnodes()) assign_auto_vnodes(nodes);
  return nodes;
}

void Group::publish(uint32_t epoch, std::vector<SdNode> nodes) {
  int self = -1;
  for (size_t i = 0; i < nodes.size(); i++)
    if (same_node(nodes[i], self_)) self = int(i);
  auto m = std::make_shared<const Membership>(epoch, std::move(nodes), self);
  {
    std::lock_guard<std::mutex> lk(epoch_mu_);
    std::atomic_store(&membership_, std::shared_ptr<const Membership>(m));
  }
  epoch_cv_.notify_all();
  publish_lease(true);
}

bool Group::wait_for_epoch(uint32_t e, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lk(epoch_mu_);
  return epoch_cv_.wait_for(lk, timeout, [&] {
    return membership()->epoch >= e || status_ == ClusterStatus::Killed ||
           status_ == ClusterStatus::Shutdown;
  }) && membership()->epoch >= e;
}

void Group::wait_for_change(const Membership* seen, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lk(epoch_mu_);
  epoch_cv_.wait_for(lk, timeout, [&] {
    return membership().get() != seen || status_ == ClusterStatus::Killed ||
           status_ == ClusterStatus::Shutdown;
  });
}

bool Group::cluster_recovered() const { return all_recovered_epoch_.load() >= epoch(); }

void Group::publish_lease(bool new_membership) {
  // (The lease itself waits until every object file is known current for
  // the epoch: ReadLease::set_audited.)
  lease_.set_state(epoch(), status_ == ClusterStatus::Ok && !suspended_, new_membership);
}

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
  } else if (node_auto != bool(settings_.flags & kClusterAutoVnodes)) {
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
  read_locks(r, &locks, &resumable);
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
      listener_.on_store_reset(rec.epoch);
      latest_ = EpochRecord{};
      settings_ = s;
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
    if (!epochs_.save(rec).ok()) sd_err("failed to save epoch %u", rec.epoch);
    latest_ = rec;
  }
  if (!self_join) {
    apply_vdis(vdis_, vdis);
    return true;
  }
  // (Copies that missed epochs while we were away stop being live through
  // the ownership audit: it checks every epoch since its last run.)
  settings_ = s;
  status_ = status;
  publish_lease();
  vdis_.clear();
  apply_vdis(vdis_, vdis);
  locks_.replace(std::move(locks), std::move(resumable));
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
    sd_info("%s joined (%zu members)", node_addr_str(node.nid).c_str(), members.size());
    // A sheep that joins again started again: its connections are gone.
    if (!self_join) log_released(locks_.release_node(node.nid), "its gateway started again");
    if (stay) membership_changed_locked();
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

void Group::membership_changed_locked() {
  if (!joined_) return;
  std::vector<SdNode> nodes = with_vnodes(members_);
  if (!settings_.ctime) {
    publish(0, nodes);  // not formatted: no epochs, but the node list is served
    return;
  }
  if (status_ == ClusterStatus::Shutdown || status_ == ClusterStatus::Killed) return;
  if (status_ == ClusterStatus::Wait) {
    // After a full restart: running again once every member of the newest
    // epoch is back; the epoch moves on only if the membership differs.
    for (const auto& n : latest_.nodes) {
      if (!contains(nodes, n)) {
        sd_info("waiting for %s to rejoin", node_addr_str(n.nid).c_str());
        publish(latest_.epoch, nodes);
        return;
      }
    }
    status_ = ClusterStatus::Ok;  // the lease follows with publish()
    if (same_members(latest_.nodes, nodes)) {
      publish(latest_.epoch, nodes);
      sd_info("cluster running again at epoch %u", latest_.epoch);
      // A recovery cut short by the shutdown resumes.
      listener_.on_epoch(latest_.epoch);
      return;
    }
  }
  EpochRecord rec{latest_.epoch + 1, uint64_t(time(nullptr)), nodes};
  if (!epochs_.save(rec).ok()) sd_err("failed to save epoch %u", rec.epoch);
  latest_ = rec;
  publish(rec.epoch, nodes);
  sd_info("epoch %u: %zu nodes", rec.epoch, nodes.size());
  listener_.on_epoch(rec.epoch);
}

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
      VdiInfo info;
      info.copies = m.copies;
      info.copy_policy = m.copy_policy;
      info.block_size_shift = m.block_size_shift;
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
        std::vector<LockHolder> broken;
        Res r = locks_.release(m.vid, who, m.own_only, &broken);
        if (r != Res::Success) return r;
        if (broken.empty()) {
          sd_info("VDI %" PRIx32 " unlocked: released", m.vid);
          return r;
        }
        sd_info("VDI %" PRIx32 " unlocked: the lock was broken by a client of %s", m.vid,
                node_addr_str(m.nid).c_str());
        // Its holders must not write on: the connections through us go.
        std::vector<uint64_t> conns;
        for (const auto& h : broken)
          if (same_node_id(h.nid, self_.nid)) conns.push_back(h.conn);
        if (!conns.empty()) listener_.on_locks_lost(conns);
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
    case kRecoveryDone: {
      if (len != 4) return Res::InvalidParms;
      uint32_t e;
      std::memcpy(&e, p, 4);
      MembershipPtr m = membership();
      std::lock_guard<std::mutex> lk(mu_);
      auto& who = recovered_by_[e];
      who.insert(node_addr_str(sender.nid));
      recovered_by_.erase(recovered_by_.begin(), recovered_by_.lower_bound(m->epoch));
      if (e != m->epoch) return Res::Success;
      for (const auto& n : m->nodes)
        if (!who.count(node_addr_str(n.nid))) return Res::Success;
      all_recovered_epoch_ = e;
      listener_.on_all_recovered(e);
      return Res::Success;
    }
  }
  return Res::InvalidParms;
}

Res Group::apply_make_fs(const ClusterSettings& req) {
  std::string store(req.store, strnlen(req.store, kStoreLen));
  if (store != "plain") return Res::NoStore;
  if (!store_.purge().ok()) return Res::Eio;
  vdis_.clear();
  locks_.clear();
  if (!epochs_.clear().ok()) return Res::Eio;
  rings_.clear();
  listener_.on_store_reset(1);
  all_recovered_epoch_ = 0;
  std::vector<SdNode> nodes;
  {
    std::lock_guard<std::mutex> lk(mu_);
    settings_ = req;
    if (!settings_.copies) settings_.copies = kDefaultCopies;
    if (!settings_.block_size_shift) settings_.block_size_shift = kDefaultBlockSizeShift;
    settings_.disable_recovery = false;
    nodes = with_vnodes(members_);
    latest_ = EpochRecord{1, uint64_t(time(nullptr)), nodes};
    status_ = ClusterStatus::Ok;  // the lease follows with publish()
  }
  if (!save_config().ok()) return Res::Eio;
  if (!epochs_.save(latest_).ok()) return Res::Eio;
  publish(1, nodes);
  sd_info("cluster formatted: %u copies, store %s", unsigned(req.copies), store.c_str());
  return Res::Success;
}

void Group::fill_cluster_info(ClusterInfo* ci) const {
  std::memset(ci, 0, sizeof(*ci));
  MembershipPtr m = membership();
  std::lock_guard<std::mutex> lk(mu_);
  ci->proto_ver = kSheepProtoVer;
  ci->disable_recovery = settings_.disable_recovery;
  ci->epoch = m->epoch;
  ci->ctime = settings_.ctime;
  ci->flags = settings_.flags;
  // Before format the flags say which vnode strategy this sheep runs.
  if (!settings_.ctime && !opts_.vnodes) ci->flags |= kClusterAutoVnodes;
  ci->nr_copies = settings_.copies;
  ci->copy_policy = settings_.copy_policy;
  ci->status = uint8_t(status_.load());
  ci->block_size_shift = settings_.block_size_shift;
  std::memcpy(ci->default_store, settings_.store, kStoreLen);
  size_t n = std::min(m->nodes.size(), kMaxNodes);
  ci->nr_nodes = int16_t(n);
  for (size_t i = 0; i < n; i++) ci->nodes[i] = m->nodes[i];
}

Res Group::make_fs(const ClusterSettings& s) { return broadcast_and_wait(kMakeFs, &s, sizeof(s)); }
Res Group::shutdown() { return broadcast_and_wait(kShutdown, nullptr, 0); }
Res Group::vdi_added(const VdiAddedMsg& m) { return broadcast_and_wait(kVdiAdded, &m, sizeof(m)); }
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
Res Group::recovery_done(uint32_t epoch) { return broadcast_and_wait(kRecoveryDone, &epoch, 4); }
Res Group::set_recovery_disabled(bool d) {
  char c = d;
  return broadcast_and_wait(kRecovery, &c, 1);
}

}  // namespace sd
