// Rings of past epochs, with records fetched from members when missing.
#include "group/epoch_rings.h"

#include <vector>

#include "base/log.h"
#include "peers/peer_calls.h"
#include "peers/peer_pool.h"

namespace sd {

Result<EpochRecord> EpochRings::record(uint32_t epoch) {
  uint64_t generation;
  {
    std::lock_guard<std::mutex> lk(mu_);
    generation = generation_;
  }
  return record(epoch, generation);
}

Result<EpochRecord> EpochRings::record(uint32_t epoch, uint64_t generation) {
  auto rec = log_.load(epoch);
  if (rec.ok()) return rec;
  MembershipPtr m = members_.membership();
  std::vector<char> buf;
  for (size_t i = 0; i < m->nodes.size(); i++) {
    if (m->is_self(int(i))) continue;
    auto peer = peers_.get(m->nodes[i].nid);
    if (!peer || !peer::epoch_file(*peer, epoch, &buf).ok()) continue;
    auto r = EpochLog::decode(epoch, buf.data(), buf.size());
    if (!r.ok()) continue;
    std::lock_guard<std::mutex> lk(mu_);
    // (Asked of the members of a history that was replaced meanwhile.)
    if (generation != generation_) return err(Res::NoTag);
    if (!log_.save(*r).ok()) sd_err("failed to save epoch %u", epoch);
    return r;
  }
  return err(Res::NoTag);
}

std::shared_ptr<const VnodeRing> EpochRings::ring(uint32_t epoch) {
  uint64_t generation;
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = rings_.find(epoch);
    if (it != rings_.end()) return it->second;
    generation = generation_;
  }
  auto rec = record(epoch, generation);
  if (!rec.ok()) return nullptr;
  auto ring = std::make_shared<const VnodeRing>(rec->nodes);
  std::lock_guard<std::mutex> lk(mu_);
  if (generation != generation_) return nullptr;  // a history replaced meanwhile
  auto& slot = rings_[epoch];
  if (slot) vnodes_ -= slot->nr_vnodes();  // built twice at once
  slot = ring;
  vnodes_ += ring->nr_vnodes();
  // The oldest go while over the budget, never the newest kKeptEpochs
  // (see the header).
  while (vnodes_ > kCachedVnodes && rings_.begin()->first + kKeptEpochs <= rings_.rbegin()->first) {
    vnodes_ -= rings_.begin()->second->nr_vnodes();
    rings_.erase(rings_.begin());
  }
  return ring;
}

void EpochRings::clear() {
  std::lock_guard<std::mutex> lk(mu_);
  rings_.clear();
  vnodes_ = 0;
  generation_++;
}

size_t EpochRings::cached_vnodes() {
  std::lock_guard<std::mutex> lk(mu_);
  return vnodes_;
}

}  // namespace sd
