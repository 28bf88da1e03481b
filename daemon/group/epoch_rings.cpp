// Rings of past epochs, with records fetched from members when missing.
#include "group/epoch_rings.h"

#include <vector>

#include "base/log.h"
#include "peers/peer_calls.h"
#include "peers/peer_pool.h"

namespace sd {

Result<EpochRecord> EpochRings::record(uint32_t epoch) {
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
    if (!log_.save(*r).ok()) sd_err("failed to save epoch %u", epoch);
    return r;
  }
  return err(Res::NoTag);
}

std::shared_ptr<const VnodeRing> EpochRings::ring(uint32_t epoch) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = rings_.find(epoch);
    if (it != rings_.end()) {
      it->second.used = ++use_clock_;
      return it->second.ring;
    }
  }
  auto rec = record(epoch);
  if (!rec.ok()) return nullptr;
  auto ring = std::make_shared<const VnodeRing>(rec->nodes);
  std::lock_guard<std::mutex> lk(mu_);
  auto [it, added] = rings_.try_emplace(epoch);
  if (!added) vnodes_ -= it->second.ring->nr_vnodes();  // built twice at once
  it->second = Cached{ring, ++use_clock_};
  vnodes_ += ring->nr_vnodes();
  while (vnodes_ > kCachedVnodes && rings_.size() > 1) {
    auto oldest = rings_.end();
    for (auto c = rings_.begin(); c != rings_.end(); ++c)
      if (c->first != epoch && (oldest == rings_.end() || c->second.used < oldest->second.used))
        oldest = c;
    vnodes_ -= oldest->second.ring->nr_vnodes();
    rings_.erase(oldest);
  }
  return ring;
}

void EpochRings::clear() {
  std::lock_guard<std::mutex> lk(mu_);
  rings_.clear();
  vnodes_ = 0;
}

size_t EpochRings::cached_vnodes() {
  std::lock_guard<std::mutex> lk(mu_);
  return vnodes_;
}

}  // namespace sd
