// Moving live copies that may have missed writes to .stale.
#include "recovery/ownership_audit.h"

#include <cinttypes>
#include <string>
#include <vector>

#include "group/epoch_rings.h"
#include "base/file_util.h"
#include "group/object_policy.h"
#include "base/log.h"
#include "store/object_store.h"

namespace sd {

void OwnershipAudit::load() {
  auto data = read_file(path_);
  uint32_t e = 0;
  if (data.ok()) e = uint32_t(std::strtoul(std::string(data->begin(), data->end()).c_str(), nullptr, 10));
  audited_ = e;
}

void OwnershipAudit::save(uint32_t epoch) {
  std::string s = std::to_string(epoch) + "\n";
  if (!write_file_atomic(path_, s.data(), s.size()).ok()) sd_err("cannot save %s", path_.c_str());
}

void OwnershipAudit::reset(uint32_t epoch) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    fresh_.clear();
    any_fresh_ = false;
  }
  audited_ = epoch;
  save(epoch);
  if (listener_) listener_->on_audited(epoch);
}

uint32_t OwnershipAudit::known_current(uint64_t oid) {
  uint32_t a = audited_.load();
  if (!any_fresh_.load()) return a;
  std::lock_guard<std::mutex> lk(mu_);
  auto it = fresh_.find(oid);
  return it != fresh_.end() && it->second.epoch > a ? it->second.epoch : a;
}

void OwnershipAudit::mark_current(uint64_t oid, uint32_t epoch) {
  // Every copy is known current through audited() already: nothing to
  // remember (so a cluster that does not change keeps no list at all).
  if (epoch <= audited_.load()) return;
  std::lock_guard<std::mutex> lk(mu_);
  Fresh& f = fresh_[oid];
  if (f.epoch < epoch) f.epoch = epoch;
  f.seq = ++seq_;
  any_fresh_ = true;
}

Status OwnershipAudit::retire(uint64_t oid, uint32_t epoch) {
  std::lock_guard<std::mutex> lk(mu_);
  Status st = store_.move_to_stale(oid, epoch);
  if (st.ok()) fresh_.erase(oid);
  return st;
}

bool OwnershipAudit::has_current(uint64_t oid, const Membership& m) {
  if (!check(oid, m) || !store_.exists(oid)) return false;
  // Of an erasure-coded object, the strip of this node's position.
  ObjectLayout l = policy_.layout(oid);
  if (l.shape) return store_.piece_of(oid) == m.ring.position(oid, l.copies, m.self_index);
  return store_.piece_of(oid) == kWholeObject;
}

void OwnershipAudit::settle(uint64_t oid, uint32_t written_at) {
  MembershipPtr m = members_.membership();
  if (m->epoch == written_at) return;
  // The audit of a later epoch may have run while the copy was being put
  // in place, and not seen it: audited() then says nothing of this copy,
  // which is current through written_at only. If this node stopped owning
  // the object since, the copy goes to .stale (else it would stay live on
  // a node that is no owner, and be taken for current if the node owns it
  // again later).
  if (m->epoch > written_at && m->self_index >= 0) {
    if (uint32_t missed = first_missed(oid, written_at, *m)) {
      std::lock_guard<std::mutex> lk(mu_);
      Status st = store_.move_to_stale(oid, missed - 1);
      if (st.ok()) {
        fresh_.erase(oid);
        sd_info("%016" PRIx64 " was written at epoch %u, owned no more at %u: moved to .stale",
                oid, written_at, missed);
      }
      return;
    }
  }
  check(oid, *m);
}

uint32_t OwnershipAudit::first_missed(uint64_t oid, uint32_t from, const Membership& m) {
  int copies = policy_.copies_for(oid);
  // A strip is current only while this node stays at its position.
  int piece = store_.piece_of(oid);
  for (uint32_t e = from + 1; e <= m.epoch; e++) {
    if (e == m.epoch) {
      if (!m.ring.holds_piece(oid, copies, m.self_index, piece)) return e;
      continue;
    }
    auto ring = rings_.ring(e);
    if (!ring ||
        !ring->holds_piece(oid, copies, ring->find(m.nodes[size_t(m.self_index)].nid), piece))
      return e;
  }
  return 0;
}

bool OwnershipAudit::check(uint64_t oid, const Membership& m) {
  if (m.epoch == 0 || m.self_index < 0) return true;  // not formatted, or not a member
  for (;;) {
    uint32_t from = known_current(oid);
    if (from >= m.epoch) return true;
    // Rings of the window are looked up (maybe fetched) before taking mu_.
    uint32_t missed = first_missed(oid, from, m);
    if (!missed) return true;
    std::lock_guard<std::mutex> lk(mu_);
    // Decided again under the lock: a fetch may have marked it current.
    auto it = fresh_.find(oid);
    uint32_t a = audited_.load();
    uint32_t now_from = it != fresh_.end() && it->second.epoch > a ? it->second.epoch : a;
    if (now_from != from) continue;
    Status st = store_.move_to_stale(oid, missed - 1);
    if (st.ok())
      sd_info("%016" PRIx64 " may have missed writes of epoch %u: moved to .stale", oid, missed);
    else if (st.code() != Res::NoObj)
      sd_err("cannot move %016" PRIx64 " to .stale: %s", oid, strerror(st.code()));
    return false;
  }
}

bool OwnershipAudit::audit(const Membership& m, const std::function<bool()>& abandon) {
  if (m.epoch == 0 || m.self_index < 0) return false;
  uint64_t start_seq;
  {
    std::lock_guard<std::mutex> lk(mu_);
    start_seq = seq_;
  }
  if (audited_ < m.epoch) {
    for (uint64_t oid : store_.list()) {
      if (abandon()) return false;
      check(oid, m);
    }
    if (!store_.sync_dirs().ok()) sd_err("cannot sync the object directories");
    audited_ = m.epoch;
    save(m.epoch);
  }
  // Copies written whole under an older epoch while the audit ran were not
  // in its list: check them too.
  std::vector<uint64_t> late;
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (const auto& [oid, f] : fresh_)
      if (f.seq > start_seq && f.epoch < m.epoch) late.push_back(oid);
  }
  for (uint64_t oid : late) check(oid, m);
  {
    // Copies written whole before the audit began are covered by it now.
    std::lock_guard<std::mutex> lk(mu_);
    for (auto it = fresh_.begin(); it != fresh_.end();)
      it = it->second.seq <= start_seq && it->second.epoch <= m.epoch ? fresh_.erase(it) : ++it;
    any_fresh_ = !fresh_.empty();
  }
  if (listener_) listener_->on_audited(m.epoch);
  return true;
}

}  // namespace sd
