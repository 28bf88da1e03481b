// Group: cluster status, epochs and their publication, and the cluster
// info it reports. Joining is in group_join.cpp, cluster-wide operations
// in group_messages.cpp.
#include "group/group.h"

#include <algorithm>
#include <cinttypes>
#include <cstring>
#include <ctime>

#include "base/log.h"
#include "group/group_detail.h"
#include "ring.h"
#include "store/object_store.h"
#include "store/read_lease.h"

namespace sd {

using group_detail::contains;

namespace {

bool same_members(const std::vector<SdNode>& a, const std::vector<SdNode>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++)
    if (!same_node(a[i], b[i])) return false;
  return true;
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
    apply_store_layout();
  } else if (cfg.code() != Res::NoObj) {
    sd_err("cannot read %s: unsupported format", config_.path().c_str());
    return err(cfg.code());
  }
  // The first start measures the disks (their user.md.size); after that
  // the saved space holds until a reweight changes it, as upstream.
  if (!space_) space_ = store_.capacity();
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

void Group::apply_store_layout() {
  std::string store(settings_.store, strnlen(settings_.store, kStoreLen));
  StoreLayout layout = store == "tree" ? StoreLayout::Tree : StoreLayout::Plain;
  if (!store_.set_layout(layout).ok()) sd_err("cannot make the %s store's directories", store.c_str());
}

bool Group::strict() const { return settings().flags & kClusterStrict; }

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

void Group::on_tick() {
  if (driver_) lease_.set_valid_until(driver_->contact_until_ms());
}

void Group::publish_lease(bool new_membership) {
  // (The lease itself waits until every object file is known current for
  // the epoch: ReadLease::set_audited.)
  if (driver_) lease_.set_valid_until(driver_->contact_until_ms());
  lease_.set_state(epoch(), status_ == ClusterStatus::Ok && !suspended_, new_membership);
}

void Group::carry_node_attributes(const SdNode* except) {
  for (auto& n : members_) {
    if (except && same_node(n, *except)) continue;
    for (const auto& known : latest_.nodes) {
      if (!same_node_id(known.nid, n.nid) || n.nr_vnodes == 0) continue;
      n.space = known.space;
      if (!auto_vnodes() && known.nr_vnodes) n.nr_vnodes = known.nr_vnodes;
    }
  }
}

std::vector<SdNode> Group::members() const {
  std::lock_guard<std::mutex> lk(mu_);
  return with_vnodes(members_);
}

uint64_t Group::space() const {
  std::lock_guard<std::mutex> lk(mu_);
  return space_;
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

}  // namespace sd
