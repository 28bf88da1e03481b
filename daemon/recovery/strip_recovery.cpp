// Rebuilding this node's strip of an erasure-coded object from the
// strips other nodes (or our own stale copies) still hold.
#include <cinttypes>
#include <memory>
#include <vector>

#include "base/log.h"
#include "erasure_code.h"
#include "group/epoch_rings.h"
#include "group/object_policy.h"
#include "recovery/local_replica.h"
#include "recovery/object_recovery.h"
#include "store/object_store.h"

namespace sd {

Status ObjectRecovery::try_fetch_strip(uint64_t oid, const MembershipPtr& m, int want) {
  if (m->self_index < 0) return err(Res::NoObj);
  const ObjectLayout layout = policy_.layout(oid);
  const std::optional<EcShape>& shape = layout.shape;
  if (!shape) return err(Res::NoObj);
  const NodeId& self = m->nodes[size_t(m->self_index)].nid;
  const int strips = shape->strips();
  const int copies = layout.copies;
  const uint32_t strip_len = uint32_t(layout.piece_size(want));
  std::vector<std::unique_ptr<uint8_t[]>> got(static_cast<size_t>(strips));
  int have = 0;
  // Puts the strip in place from got[want], or decodes it from any D.
  auto finish = [&](const char* how) -> Status {
    if (!got[size_t(want)]) {
      std::vector<const uint8_t*> in(size_t(strips), nullptr);
      for (int k = 0; k < strips; k++) in[size_t(k)] = got[size_t(k)].get();
      std::vector<uint8_t*> out(size_t(strips), nullptr);
      got[size_t(want)].reset(new uint8_t[strip_len]);
      out[size_t(want)] = got[size_t(want)].get();
      if (!ErasureCode::of(*shape).reconstruct(in.data(), out.data(), strip_len))
        return err(Res::NoObj);
    }
    SD_TRY(replica_.create(oid, m->epoch, got[size_t(want)].get(), strip_len, 0, want));
    sd_info("recovered strip %d of %016" PRIx64 " %s", want, oid, how);
    return {};
  };
  // Newest epoch first; in each, the strip we want, then the data strips
  // (no decoding when all are there), then the parity.
  std::vector<int> order{want};
  for (int k = 0; k < strips; k++)
    if (k != want) order.push_back(k);
  for (uint32_t e = m->epoch; e >= 1; e--) {
    std::shared_ptr<const VnodeRing> ring =
        e == m->epoch ? std::shared_ptr<const VnodeRing>(m, &m->ring) : rings_.ring(e);
    if (!ring) continue;
    Placement p = ring->place(oid, copies);
    for (int k : order) {
      if (k >= p.count || got[size_t(k)]) continue;
      const SdNode& n = ring->nodes()[p.node[k]];
      std::unique_ptr<uint8_t[]> buf;
      if (same_node_id(n.nid, self)) {
        if (e == m->epoch) continue;
        auto stale = store_.newest_stale(oid, e, k);
        if (!stale) continue;
        if (k == want) {
          if (!replica_.restore_stale(oid, m->epoch, *stale, want).ok()) continue;
          sd_info("recovered strip %d of %016" PRIx64 " from our own copy of epoch %u", want,
                  oid, *stale);
          return {};
        }
        buf.reset(new uint8_t[strip_len]);
        if (!store_.read_stale(oid, *stale, buf.get(), strip_len, 0, k).ok()) continue;
      } else {
        if (!m->has(n.nid)) continue;  // gone: nothing to ask
        buf.reset(new uint8_t[strip_len]);
        Status st = read_from_peer(n.nid, oid, e, buf.get(), strip_len, nullptr, k);
        if (st.code() == Res::OldNodeVer) return st;  // see try_fetch
        if (!st.ok()) continue;
      }
      got[size_t(k)] = std::move(buf);
      have++;
      if (k == want) return finish("as it was");
      if (have >= shape->data) return finish("by decoding");
    }
  }
  return err(Res::NoObj);
}

}  // namespace sd
