// On-demand recovery of single objects from earlier owners.
#include "recovery/object_recovery.h"

#include <cinttypes>
#include <cstring>
#include <memory>

#include "group/epoch_rings.h"
#include "base/log.h"
#include "recovery/local_replica.h"
#include "recovery/ownership_audit.h"
#include "group/object_policy.h"
#include "peers/peer_calls.h"
#include "peers/peer_pool.h"
#include "store/object_store.h"

namespace sd {

Status ObjectRecovery::fetch(uint64_t oid) { return fetch_exclusive(oid, false); }

Status ObjectRecovery::rebuild_strip(uint64_t oid) {
  if (!policy_.ec_shape(oid)) return err(Res::InvalidParms);
  return fetch_exclusive(oid, true);
}

Status ObjectRecovery::fetch_exclusive(uint64_t oid, bool rebuild) {
  {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [&] { return !in_progress_.count(oid); });
    in_progress_.insert(oid);
  }
  MembershipPtr m = members_.membership();
  Status st;
  ObjectLayout l = policy_.layout(oid);
  int position = m->ring.position(oid, l.copies, m->self_index);
  bool fetched = false;
  if (position < 0) {
    // The epoch moved on and the object with it: the caller retries
    // under the new ring.
    st = err(Res::OldNodeVer);
  } else if (rebuild) {
    st = try_fetch_strip(oid, m, position);
    fetched = true;
  } else if (!audit_.has_current(oid, *m)) {
    st = l.shape ? try_fetch_strip(oid, m, position) : try_fetch(oid, m);
    fetched = true;
  }
  // A copy found under epoch E is current through E only. If the epoch
  // moved while it travelled, the audit of the newer epoch may have run
  // before it landed (it found no file to check) and would take the copy
  // for current now: writes of the epochs in between, which this node did
  // not own, would be missing from a copy served as live. So it is set
  // aside as a stale copy of E, and the caller fetches again under the
  // new ring. (A change after this check finds the file on disk: the
  // audit of that epoch checks it.)
  if (fetched && st.ok() && members_.membership()->epoch != m->epoch) {
    Status aside = store_.move_to_stale(oid, m->epoch);
    if (!aside.ok() && aside.code() != Res::NoObj)
      sd_err("cannot set %016" PRIx64 " aside: %s", oid, strerror(aside.code()));
    sd_info("%016" PRIx64 ": the epoch moved on from %u while it was fetched: set aside, "
            "fetched again", oid, m->epoch);
    st = err(Res::OldNodeVer);
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    in_progress_.erase(oid);
  }
  cv_.notify_all();
  return st;
}

Status ObjectRecovery::try_fetch(uint64_t oid, const MembershipPtr& m) {
  if (m->self_index < 0) return err(Res::NoObj);
  const NodeId& self = m->nodes[size_t(m->self_index)].nid;
  uint64_t size = policy_.object_size_of(oid);
  // The buffers are taken when a peer is asked: a miss with nobody to ask
  // (one node, every owner gone) costs no 4 MiB allocation.
  std::unique_ptr<char[]> buf;
  auto buffer = [&buf, size] {
    if (!buf) buf.reset(new char[size]);
    return buf.get();
  };
  int copies = policy_.copies_for(oid);
  // Newest epoch first: the current owners, then every earlier set.
  for (uint32_t e = m->epoch; e >= 1; e--) {
    std::shared_ptr<const VnodeRing> ring =
        e == m->epoch ? std::shared_ptr<const VnodeRing>(m, &m->ring) : rings_.ring(e);
    if (!ring) continue;
    Placement p = ring->place(oid, copies);
    for (int i = 0; i < p.count; i++) {
      const SdNode& n = ring->nodes()[p.node[i]];
      if (same_node_id(n.nid, self)) {
        if (e == m->epoch) continue;
        auto stale = store_.newest_stale(oid, e, kWholeObject);
        if (!stale || !replica_.restore_stale(oid, m->epoch, *stale).ok()) continue;
        sd_info("recovered %016" PRIx64 " from our own copy of epoch %u", oid, *stale);
        return {};
      }
      if (!m->has(n.nid)) continue;  // gone: nothing to ask
      Status got = read_from_peer(n.nid, oid, e, buffer(), uint32_t(size));
      // The peer places the object with another copy count (an
      // ALTER_VDI_COPY one of us has not applied yet): no older copy may
      // stand in for the one it holds. Tried again later.
      if (got.code() == Res::OldNodeVer) return got;
      if (!got.ok()) continue;
      // (It may have taken long: a copy of an epoch gone by is not stored.)
      if (members_.membership()->epoch != m->epoch) return err(Res::OldNodeVer);
      SD_TRY(replica_.create(oid, m->epoch, buf.get(), uint32_t(size), 0));
      sd_info("recovered %016" PRIx64 " from %s (epoch %u)", oid, node_addr_str(n.nid).c_str(), e);
      return {};
    }
  }
  // No epoch's owners have a current copy: take the newest copy anyone
  // still has, ours included.
  std::unique_ptr<char[]> cand;
  uint32_t best = 0;
  const SdNode* best_node = nullptr;
  for (const SdNode& n : m->nodes) {
    if (same_node_id(n.nid, self)) continue;
    if (!cand) cand.reset(new char[size]);
    uint32_t e = 0;
    Status got = read_from_peer(n.nid, oid, 0, cand.get(), uint32_t(size), &e);
    if (got.code() == Res::OldNodeVer) return got;  // as above
    if (!got.ok()) continue;
    if (!best_node || e > best) {
      best = e;
      best_node = &n;
      std::swap(buf, cand);
    }
  }
  auto own = store_.newest_stale(oid, 0, kWholeObject);
  if (own && (!best_node || *own >= best)) {
    SD_TRY(replica_.restore_stale(oid, m->epoch, *own));
    sd_warn("%016" PRIx64 ": no current copy anywhere; took our own stale copy of epoch %u", oid,
            *own);
    return {};
  }
  if (!best_node) return err(Res::NoObj);
  if (members_.membership()->epoch != m->epoch) return err(Res::OldNodeVer);
  SD_TRY(replica_.create(oid, m->epoch, buf.get(), uint32_t(size), 0));
  sd_warn("%016" PRIx64 ": no current copy anywhere; took the stale copy of epoch %u from %s", oid,
          best, node_addr_str(best_node->nid).c_str());
  return {};
}

Status ObjectRecovery::read_from_peer(const NodeId& nid, uint64_t oid, uint32_t tgt_epoch,
                                      void* buf, uint32_t size, uint32_t* copy_epoch, int piece) {
  auto peer = peers_.get(nid);
  if (!peer) return err(Res::NetworkError);
  ObjectLayout l = policy_.layout(oid);
  return peer::read_for_recovery(*peer, members_.membership()->epoch, oid, tgt_epoch, buf, size,
                                 copy_epoch, uint8_t(l.copies), piece, l.copy_policy());
}

Status ObjectRecovery::read_for_recovery(uint64_t oid, uint32_t tgt_epoch, void* buf,
                                         uint32_t len, uint32_t offset, uint32_t* copy_epoch,
                                         int piece) {
  uint32_t epoch = members_.membership()->epoch;  // current through at least this
  Status st = replica_.read(oid, buf, len, offset, piece);
  if (st.ok()) *copy_epoch = epoch;
  if (st.code() != Res::NoObj) return st;
  auto stale = store_.newest_stale(oid, tgt_epoch, piece);
  if (!stale) return err(Res::NoObj);
  SD_TRY(store_.read_stale(oid, *stale, buf, len, offset, piece));
  *copy_epoch = *stale;
  return {};
}

}  // namespace sd
