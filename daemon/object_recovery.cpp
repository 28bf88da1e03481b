// On-demand recovery of single objects from earlier owners.
#include "object_recovery.h"

#include <cinttypes>
#include <cstring>

#include "log.h"
#include "oid.h"
#include "sheep.h"

namespace sd {

Result<EpochRecord> ObjectRecovery::load_epoch(uint32_t epoch) {
  auto rec = sheep_.epochs.load(epoch);
  if (rec.ok()) return rec;
  // Missing here: ask the members that are up.
  MembershipPtr m = sheep_.group.membership();
  std::vector<char> buf(kMaxNodes * sizeof(SdNode) + 8);
  for (size_t i = 0; i < m->nodes.size(); i++) {
    if (m->is_self(int(i))) continue;
    auto peer = sheep_.peers.get(m->nodes[i].nid);
    if (!peer) continue;
    SdReq req = make_req(kOpGetEpoch, 0, uint32_t(buf.size()));
    req.obj.tgt_epoch = epoch;
    SdRsp rsp;
    if (!peer->exec(req, nullptr, buf.data(), &rsp).ok()) continue;
    auto r = EpochLog::decode(epoch, buf.data(), rsp.data_length);
    if (!r.ok()) continue;
    if (!sheep_.epochs.save(*r).ok()) sd_err("failed to save epoch %u", epoch);
    return r;
  }
  return err(Res::NoTag);
}

std::shared_ptr<const VnodeRing> ObjectRecovery::ring_of(uint32_t epoch) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = rings_.find(epoch);
    if (it != rings_.end()) return it->second;
  }
  auto rec = load_epoch(epoch);
  if (!rec.ok()) return nullptr;
  auto ring = std::make_shared<const VnodeRing>(rec->nodes);
  std::lock_guard<std::mutex> lk(mu_);
  rings_[epoch] = ring;
  return ring;
}

Status ObjectRecovery::fetch(uint64_t oid) {
  {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [&] { return !in_progress_.count(oid); });
    if (sheep_.store.exists(oid)) return {};
    in_progress_.insert(oid);
  }
  Status st = try_fetch(oid);
  {
    std::lock_guard<std::mutex> lk(mu_);
    in_progress_.erase(oid);
  }
  cv_.notify_all();
  return st;
}

Status ObjectRecovery::try_fetch(uint64_t oid) {
  uint64_t size = sheep_.gateway.object_size_of(oid);
  std::unique_ptr<char[]> buf(new char[size]);
  int copies = sheep_.gateway.copies_for(oid, 0);
  MembershipPtr cur = sheep_.group.membership();
  // Newest epoch first: the current owners, then every earlier set.
  for (uint32_t e = cur->epoch; e >= 1; e--) {
    auto ring = e == cur->epoch ? std::shared_ptr<const VnodeRing>(cur, &cur->ring) : ring_of(e);
    if (!ring) continue;
    Placement p = ring->place(oid, copies);
    for (int i = 0; i < p.count; i++) {
      const SdNode& n = ring->nodes()[p.node[i]];
      if (same_node(n, sheep_.self)) continue;
      if (!read_from_peer(n.nid, oid, e, buf.get(), uint32_t(size)).ok()) continue;
      SD_TRY(sheep_.store.create_and_write(oid, size, buf.get(), uint32_t(size), 0));
      sd_info("recovered %016" PRIx64 " from %s (epoch %u)", oid,
              node_addr_str(n.nid).c_str(), e);
      return {};
    }
  }
  // Last resort: our own copy from before we rejoined.
  if (sheep_.store.read_stale(oid, buf.get(), uint32_t(size), 0).ok()) {
    SD_TRY(sheep_.store.create_and_write(oid, size, buf.get(), uint32_t(size), 0));
    sd_warn("restored %016" PRIx64 " from our own stale copy", oid);
    return {};
  }
  return err(Res::NoObj);
}

Status ObjectRecovery::read_from_peer(const NodeId& nid, uint64_t oid, uint32_t epoch,
                                      void* buf, uint32_t size) {
  auto peer = sheep_.peers.get(nid);
  if (!peer) return err(Res::NetworkError);
  SdReq req = make_req(kOpReadPeer, kFlagRecovery, size);
  req.epoch = sheep_.group.epoch();
  req.obj.oid = oid;
  req.obj.tgt_epoch = epoch;
  SdRsp rsp;
  SD_TRY(peer->exec(req, nullptr, buf, &rsp));
  if (rsp.data_length != size) return err(Res::Eio);
  return {};
}

Status ObjectRecovery::read_for_recovery(uint64_t oid, void* buf, uint32_t len, uint32_t offset) {
  Status st = sheep_.store.read(oid, buf, len, offset);
  if (st.code() != Res::NoObj) return st;
  return sheep_.store.read_stale(oid, buf, len, offset);
}

void ObjectRecovery::retire_local_objects(uint32_t epoch) {
  size_t n = 0;
  for (uint64_t oid : sheep_.store.list()) {
    if (sheep_.store.move_to_stale(oid, epoch).ok()) n++;
  }
  if (n) sd_info("moved %zu objects from before our rejoin to .stale", n);
}

}  // namespace sd
