// Cluster status, epochs and cluster-wide operations.
#include "group.h"

#include <algorithm>
#include <cstring>
#include <ctime>

#include "log.h"
#include "proto/inode.h"
#include "ring.h"
#include "sheep.h"

namespace sd {

Status Group::start(ClusterDriver* driver) {
  driver_ = driver;
  auto cfg = sheep_.config.load();
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
    sd_err("cannot read %s/config: unsupported format", sheep_.opts.dir.c_str());
    return err(cfg.code());
  }
  if (!space_) space_ = sheep_.store.fs_free();
  if (sheep_.opts.gateway) space_ = 0;
  sheep_.self.space = space_;
  if (sheep_.opts.gateway) sheep_.self.nr_vnodes = 0;
  SD_TRY(save_config());
  if (formatted()) {
    uint32_t e = sheep_.epochs.latest();
    auto rec = sheep_.epochs.load(e);
    if (rec.ok()) publish(e, rec->nodes);
    sd_info("cluster formatted, last epoch %u; waiting for its members", e);
  }
  return driver_->join(sheep_.self, this);
}

void Group::stop() {
  if (driver_) driver_->leave();
}

ClusterSettings Group::settings() const {
  std::lock_guard<std::mutex> lk(mu_);
  return settings_;
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
  return sheep_.config.save(cfg);
}

std::vector<SdNode> Group::with_vnodes(std::vector<SdNode> nodes) const {
  sort_nodes(nodes);
  bool fixed = sheep_.opts.vnodes != 0 ||
               (settings_.ctime && !(settings_.flags & kClusterAutoVnodes));
  if (!fixed) assign_auto_vnodes(nodes);
  return nodes;
}

void Group::publish(uint32_t epoch, std::vector<SdNode> nodes) {
  int self = -1;
  for (size_t i = 0; i < nodes.size(); i++)
    if (same_node(nodes[i], sheep_.self)) self = int(i);
  auto m = std::make_shared<const Membership>(epoch, std::move(nodes), self);
  std::atomic_store(&membership_, std::shared_ptr<const Membership>(m));
}

static bool same_members(const std::vector<SdNode>& a, const std::vector<SdNode>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++)
    if (!same_node(a[i], b[i])) return false;
  return true;
}

void Group::on_membership(const std::vector<SdNode>& members, const SdNode* joined,
                          const SdNode* left) {
  std::unique_lock<std::mutex> lk(mu_);
  members_ = with_vnodes(members);
  if (joined) sd_info("%s joined", node_addr_str(joined->nid).c_str());
  if (left) sd_info("%s left", node_addr_str(left->nid).c_str());
  MembershipPtr cur = membership();
  if (!settings_.ctime) {
    // Not formatted: no epochs yet, but the node list is served.
    publish(0, members_);
    status_ = ClusterStatus::Wait;
    return;
  }
  if (status_ == ClusterStatus::Wait) {
    // After a restart: running again once every member of the last epoch
    // is back. The epoch only moves on if the membership differs.
    for (const auto& n : cur->nodes) {
      bool back = std::any_of(members_.begin(), members_.end(),
                              [&](const SdNode& m) { return same_node(m, n); });
      if (!back) {
        sd_info("waiting for %s to rejoin", node_addr_str(n.nid).c_str());
        return;
      }
    }
    status_ = ClusterStatus::Ok;
    if (same_members(cur->nodes, members_)) {
      publish(cur->epoch, members_);
      sd_info("cluster running again at epoch %u", cur->epoch);
      return;
    }
  }
  if (status_ != ClusterStatus::Ok) return;
  uint32_t e = cur->epoch + 1;
  EpochRecord rec{e, uint64_t(time(nullptr)), members_};
  if (!sheep_.epochs.save(rec).ok()) sd_err("failed to save epoch %u", e);
  publish(e, members_);
  sd_info("epoch %u: %zu nodes", e, members_.size());
}

Res Group::broadcast_and_wait(MsgType type, const void* payload, size_t len) {
  std::vector<char> msg(sizeof(MsgHeader) + len);
  uint32_t seq;
  {
    std::lock_guard<std::mutex> lk(mu_);
    seq = next_seq_++;
  }
  MsgHeader h{type, seq};
  std::memcpy(msg.data(), &h, sizeof(h));
  if (len) std::memcpy(msg.data() + sizeof(h), payload, len);
  Status st = driver_->broadcast(msg);
  if (!st.ok()) return st.code();
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait(lk, [&] { return done_.count(seq) != 0; });
  Res r = done_[seq];
  done_.erase(seq);
  return r;
}

void Group::on_message(const SdNode& sender, const std::vector<char>& msg) {
  if (msg.size() < sizeof(MsgHeader)) return;
  MsgHeader h;
  std::memcpy(&h, msg.data(), sizeof(h));
  Res r = apply(MsgType(h.type), msg.data() + sizeof(h), msg.size() - sizeof(h));
  if (same_node(sender, sheep_.self)) {
    std::lock_guard<std::mutex> lk(mu_);
    done_[h.seq] = r;
    cv_.notify_all();
  }
}

Res Group::apply(MsgType type, const char* p, size_t len) {
  switch (type) {
    case kMakeFs: {
      if (len != sizeof(ClusterSettings)) return Res::InvalidParms;
      ClusterSettings s;
      std::memcpy(&s, p, sizeof(s));
      return apply_make_fs(s);
    }
    case kShutdown:
      status_ = ClusterStatus::Shutdown;
      if (!save_config().ok()) sd_err("failed to save config");
      sd_info("cluster shutdown requested");
      sheep_.request_stop();
      return Res::Success;
    case kVdiAdded: {
      if (len != sizeof(VdiAddedMsg)) return Res::InvalidParms;
      VdiAddedMsg m;
      std::memcpy(&m, p, sizeof(m));
      if (m.old_vid) sheep_.vdis.mark_snapshot(m.old_vid);
      VdiInfo info;
      info.copies = m.copies;
      info.copy_policy = m.copy_policy;
      info.block_size_shift = m.block_size_shift;
      info.parent = m.parent;
      sheep_.vdis.add(m.new_vid, info, true);
      return Res::Success;
    }
    case kVdiDeleted: {
      if (len != 4) return Res::InvalidParms;
      uint32_t vid;
      std::memcpy(&vid, p, 4);
      sheep_.vdis.mark_deleted(vid);
      return Res::Success;
    }
    case kRecovery: {
      if (len != 1) return Res::InvalidParms;
      std::lock_guard<std::mutex> lk(mu_);
      settings_.disable_recovery = p[0] != 0;
      return Res::Success;
    }
  }
  return Res::InvalidParms;
}

Res Group::apply_make_fs(const ClusterSettings& req) {
  std::string store(req.store, strnlen(req.store, kStoreLen));
  if (store != "plain") return Res::NoStore;
  if (!sheep_.store.purge().ok()) return Res::Eio;
  sheep_.vdis.clear();
  if (!sheep_.epochs.clear().ok()) return Res::Eio;
  std::vector<SdNode> nodes;
  {
    std::lock_guard<std::mutex> lk(mu_);
    settings_ = req;
    if (!settings_.copies) settings_.copies = kDefaultCopies;
    if (!settings_.block_size_shift) settings_.block_size_shift = kDefaultBlockSizeShift;
    settings_.disable_recovery = false;
    members_ = with_vnodes(members_);
    nodes = members_;
  }
  status_ = ClusterStatus::Ok;
  if (!save_config().ok()) return Res::Eio;
  EpochRecord rec{1, uint64_t(time(nullptr)), nodes};
  if (!sheep_.epochs.save(rec).ok()) return Res::Eio;
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
  if (!settings_.ctime && !sheep_.opts.vnodes) ci->flags |= kClusterAutoVnodes;
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
Res Group::set_recovery_disabled(bool d) {
  char c = d;
  return broadcast_and_wait(kRecovery, &c, 1);
}

}  // namespace sd
