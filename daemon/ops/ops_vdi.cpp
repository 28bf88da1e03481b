// VDI request handlers: payload parsing and replies around VdiOps, and the
// raw VDI bitmaps.
#include <cstring>
#include <memory>

#include "cluster_key.h"
#include "erasure_code.h"
#include "oid.h"
#include "ops/ops.h"
#include "sheep.h"
#include "vdi/vdi_ops.h"

namespace sd::ops {

namespace {

// Name (and tag) from a 256- or 512-byte payload; false for other sizes.
bool parse_name_tag(const Request& r, VdiLookup* q) {
  if (!r.is_write() || (r.data_length() != kMaxVdiLen && r.data_length() != kMaxVdiLen * 2))
    return false;
  q->name.assign(r.data(), strnlen(r.data(), kMaxVdiLen));
  if (r.data_length() == kMaxVdiLen * 2)
    q->tag.assign(r.data() + kMaxVdiLen, strnlen(r.data() + kMaxVdiLen, kMaxVdiTagLen));
  q->snapid = r.hdr.vdi.snapid;
  return true;
}

void set_vdi_reply(Request& r, const VdiReply& v) {
  r.rsp.vdi.vdi_id = v.vid;
  r.rsp.vdi.copies = v.copies;
  r.rsp.vdi.block_size_shift = v.block_size_shift;
}

// VDI operations run on the master, one at a time cluster-wide. Another
// node forwards the request (as `opcode`) and relays the answer; after a
// change it waits until the master's broadcast has been applied locally, so
// the client's next request here sees the new state.
//
// The forwarded flag only stops a second forward: a node that is not the
// master answers a forwarded request with Again (the master changed on
// the way; the forwarder asks the new one) and never runs it itself. So a
// client that sets the flag gains nothing: on the master the request runs
// as any other, elsewhere it is refused.
bool forward_to_master(Sheep& s, Request& r, Res* result, bool changes_state,
                       uint8_t opcode = 0) {
  if (s.group.is_master()) return false;
  if (r.hdr.flags & kFlagFwd) {
    *result = Res::Again;
    return true;
  }
  *result = Res::NetworkError;
  for (int attempt = 0; attempt < 5; attempt++) {
    MembershipPtr seen = s.group.membership();
    SdNode master = s.group.master();
    if (same_node_id(master.nid, s.self.nid)) return false;  // we became the master
    auto peer = s.admin_peers.get(master.nid);
    if (!peer) {
      *result = Res::NetworkError;
      s.group.wait_for_change(seen.get(), std::chrono::milliseconds(200));
      continue;
    }
    SdReq req = r.hdr;
    req.flags |= kFlagFwd;
    if (opcode) req.opcode = opcode;
    auto st = peer->call(req, r.data(), nullptr, 0);
    if (!st.ok()) {
      s.admin_peers.forget(master.nid);
      *result = Res::NetworkError;
      s.group.wait_for_change(seen.get(), std::chrono::milliseconds(200));
      continue;
    }
    if (Res(st->result) == Res::Again) {  // that node is no longer the master
      *result = Res::Again;
      s.group.wait_for_change(seen.get(), std::chrono::milliseconds(200));
      continue;
    }
    r.rsp.vdi = st->vdi;
    *result = Res(st->result);
    if (*result == Res::Success && changes_state) {
      Res b = s.group.barrier();
      if (b != Res::Success) *result = b;
    }
    return true;
  }
  return true;
}

}  // namespace

Res new_vdi(Sheep& s, Request& r) {
  if (!r.is_write() || r.data_length() != kMaxVdiLen) return Res::InvalidParms;
  if (Res fr; forward_to_master(s, r, &fr, true)) return fr;
  NewVdiParams p;
  p.name.assign(r.data(), strnlen(r.data(), kMaxVdiLen));
  if (p.name.empty()) return Res::InvalidParms;
  p.size = r.hdr.vdi.vdi_size;
  p.base_vid = r.hdr.vdi.base_vdi_id;
  p.snapid = r.hdr.vdi.snapid;
  p.copies = r.hdr.vdi.copies;
  p.copy_policy = r.hdr.vdi.copy_policy;
  p.store_policy = r.hdr.vdi.store_policy;
  p.block_size_shift = r.hdr.vdi.block_size_shift;
  auto v = s.vdi_ops.create(p);
  if (!v.ok()) return v.code();
  set_vdi_reply(r, *v);
  return Res::Success;
}

Res del_vdi(Sheep& s, Request& r) {
  VdiLookup q;
  if (!parse_name_tag(r, &q)) return Res::InvalidParms;
  if (Res fr; forward_to_master(s, r, &fr, true)) return fr;
  auto v = s.vdi_ops.remove(q);
  if (!v.ok()) return v.code();
  set_vdi_reply(r, *v);
  return Res::Success;
}

Res get_vdi_info(Sheep& s, Request& r) {
  VdiLookup q;
  if (!parse_name_tag(r, &q)) return Res::InvalidParms;
  if (Res fr; forward_to_master(s, r, &fr, false)) return fr;
  auto v = s.vdi_ops.get_info(q);
  if (!v.ok()) return v.code();
  set_vdi_reply(r, *v);
  return Res::Success;
}

// LOCK_VDI: GET_VDI_INFO, and on a cluster formatted with locking (-l) a
// lock held by this client connection on this gateway (docs/PROTOCOL.md
// "VDI locks"). The lookup may run on the master (forwarded as
// GET_VDI_INFO); the lock is decided in the cluster's order, and if the
// working VDI became a snapshot in between, the name is looked up again.
// The reply carries the hold's token (lock_token); a request that carries
// one takes up that earlier hold instead of a new one.
Res lock_vdi(Sheep& s, Request& r) {
  VdiLookup q;
  if (!parse_name_tag(r, &q)) return Res::InvalidParms;
  bool working = q.tag.empty() && q.snapid == 0;
  bool shared = r.hdr.vdi.type == 1;
  uint64_t resume_token = r.hdr.vdi.lock_token;
  for (int attempt = 0; attempt < 5; attempt++) {
    Res res;
    if (!forward_to_master(s, r, &res, false, kOpGetVdiInfo)) {
      auto v = s.vdi_ops.get_info(q);
      res = v.ok() ? Res::Success : v.code();
      if (v.ok()) set_vdi_reply(r, *v);
    }
    if (res != Res::Success || !(s.group.settings().flags & kClusterUseLock)) return res;
    uint32_t vid = r.rsp.vdi.vdi_id;
    Group::LockRequest lq;
    lq.shared = shared;
    lq.resume = resume_token != 0;
    lq.token = lq.resume ? resume_token : random_token();
    lq.expect_working = working;
    res = s.group.lock_vdi(vid, LockHolder{s.self.nid, r.conn_id}, lq);
    if (res == Res::Again) continue;  // a snapshot was taken meanwhile
    if (res == Res::Success) r.rsp.vdi.lock_token = lq.token;
    if (res == Res::VdiLocked) {
      // Who holds it is in GET_VDI_COPIES; since when rides in the reply.
      auto l = s.locks.get(vid);
      r.rsp.vdi.vdi_id = vid;
      r.rsp.vdi.lock_since = l ? l->since : 0;
    }
    return res;
  }
  return Res::Again;  // the VDI kept changing under us: the client may ask again
}

// RELEASE_VDI: vdi.base_vdi_id names the VDI. Without locking a no-op.
Res release_vdi(Sheep& s, Request& r) {
  if (!(s.group.settings().flags & kClusterUseLock)) return Res::Success;
  return s.group.release_vdi(r.hdr.vdi.base_vdi_id, LockHolder{s.self.nid, r.conn_id},
                             r.hdr.vdi.own_only != 0);
}

Res get_vdi_attr(Sheep& s, Request& r) {
  if (!r.is_write() || r.data_length() != sizeof(VdiAttr)) return Res::InvalidParms;
  if (Res fr; forward_to_master(s, r, &fr, false)) return fr;
  auto attr = std::make_unique<VdiAttr>();
  std::memcpy(attr.get(), r.data(), sizeof(VdiAttr));
  auto v = s.vdi_ops.attr(*attr, r.hdr.vdi.snapid, r.hdr.flags);
  if (!v.ok()) return v.code();
  set_vdi_reply(r, *v);
  r.rsp.vdi.attr_id = v->attr_id;
  return Res::Success;
}

// NOTIFY_VDI_ADD (dog cluster snapshot load): the cluster learns of a VDI
// whose objects a client writes back under their old ids. Once its inode
// is readable, the inode says what the VDI is (snapshot, deleted, parent,
// copies, hyper); before that it is a plain working VDI of the request's
// copies and object size, so its objects are placed and sized right while
// they are written. A VDI the cluster knows is only ever described by its
// inode.
Res notify_vdi_add(Sheep& s, Request& r) {
  const auto& v = r.hdr.vdi_state;
  if (!s.group.formatted()) return Res::WaitForFormat;
  if (v.new_vid == 0 || v.new_vid >= kNrVdis || v.copies > kMaxCopies) return Res::InvalidParms;
  VdiInfo info;
  InodeHeader h;
  Status st = s.gateway.read(vid_to_vdi_oid(v.new_vid), &h, uint32_t(sizeof(h)), 0);
  if (st.ok() && h.vdi_id == v.new_vid && h.nr_copies && h.nr_copies <= kMaxCopies) {
    info = vdi_info_of(h);
  } else {
    if (s.vdis.get(v.new_vid)) return Res::Success;  // known already: only its inode changes it
    ClusterSettings cs = s.group.settings();
    info.copies = v.copies ? v.copies : cs.copies;
    info.copy_policy = v.copy_policy;
    info.block_size_shift = v.block_size_shift ? v.block_size_shift : cs.block_size_shift;
  }
  if (!info.block_size_shift) info.block_size_shift = s.group.settings().block_size_shift;
  if (info.block_size_shift < kMinBlockSizeShift || info.block_size_shift > kMaxBlockSizeShift)
    return Res::InvalidParms;
  // A VDI the cluster knows keeps its placement and size: its inode may
  // only say that it became a snapshot, was deleted, has a parent, or
  // (registered before its inode was there) is a hyper volume.
  if (auto cur = s.vdis.get(v.new_vid);
      cur && (cur->copies != info.copies || cur->copy_policy != info.copy_policy ||
              cur->block_size_shift != info.block_size_shift))
    return Res::VdiExist;
  if (info.copy_policy && !ec_shape_of(info.copy_policy)) return Res::InvalidParms;
  return s.group.vdi_registered(v.new_vid, info);
}

// One upstream vdi_state record (1,428 bytes) per known VDI.
Res get_vdi_copies(Sheep& s, Request& r) {
  constexpr size_t kRecord = 1428;
  auto all = s.vdis.all();
  auto locks = s.locks.all();
  size_t bytes = all.size() * kRecord;
  if (bytes > r.hdr.data_length) return Res::BufferSmall;
  char* buf = r.reply_buffer(uint32_t(bytes));
  std::memset(buf, 0, bytes);
  for (size_t i = 0; i < all.size(); i++) {
    char* p = buf + i * kRecord;
    const auto& [vid, v] = all[i];
    std::memcpy(p + 0, &vid, 4);
    p[4] = char(v.copies);
    p[5] = v.snapshot;
    p[6] = v.deleted;
    p[7] = char(v.copy_policy);
    p[8] = char(v.block_size_shift);
    std::memcpy(p + 12, &v.parent, 4);
    uint32_t lock_state = uint32_t(LockState::Unlocked);
    if (auto l = locks.find(vid); l != locks.end()) {
      lock_state = uint32_t(l->second.state);
      std::memcpy(p + 20, &l->second.owner.nid, sizeof(NodeId));
      uint32_t n = uint32_t(l->second.participants.size());
      std::memcpy(p + 60, &n, 4);
      for (uint32_t j = 0; j < n && j < kMaxLockParticipants; j++) {
        uint32_t st = uint32_t(l->second.participants[j].state);
        std::memcpy(p + 64 + 4 * j, &st, 4);
        std::memcpy(p + 188 + sizeof(NodeId) * j, &l->second.participants[j].who.nid,
                    sizeof(NodeId));
      }
    }
    std::memcpy(p + 16, &lock_state, 4);
  }
  return Res::Success;
}

Res read_vdis(Sheep& s, Request& r) {
  if (r.hdr.data_length != kVdiBitmapBytes) return Res::InvalidParms;
  s.vdis.copy_inuse(r.reply_buffer(kVdiBitmapBytes));
  return Res::Success;
}

Res read_del_vdis(Sheep& s, Request& r) {
  if (r.hdr.data_length != kVdiBitmapBytes) return Res::InvalidParms;
  s.vdis.copy_deleted(r.reply_buffer(kVdiBitmapBytes));
  return Res::Success;
}

// qemu's driver expects INVALID_PARMS here and then stops sending flushes:
// every write is already durable when acknowledged.
Res flush_vdi(Sheep&, Request&) { return Res::InvalidParms; }

}  // namespace sd::ops
