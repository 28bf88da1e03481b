// Object request handlers: the client-facing gateway ops, the peer ops that
// act on the local store, and object existence/listing.
#include <algorithm>
#include <cinttypes>
#include <cstddef>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "base/log.h"
#include "sha1.h"
#include "oid.h"
#include "ops/ops.h"
#include "proto/scrub.h"
#include "sheep.h"
#include "vdi/vdi_ops.h"

namespace sd::ops {

namespace {

// Writes to a frozen (snapshot) VDI's data objects are refused.
// Writes a snapshot (or a VDI being made one) refuses: its data objects,
// and for a hyper volume its block map too (B-tree nodes, the root in the
// inode's data area, btree_counter), which the snapshot's copy was taken
// from (docs/PROTOCOL.md §5.4).
bool is_readonly(Sheep& s, uint64_t oid, uint64_t offset, uint64_t len) {
  const bool inode = is_vdi_obj(oid);
  if (!is_data_obj(oid) && !is_vdi_btree_obj(oid) && !inode) return false;
  auto info = s.vdis.get(oid_to_vid(oid));
  if (!info || !(info->snapshot || info->frozen)) return false;
  if (!inode) return true;
  if (info->store_policy != 1) return false;
  const uint64_t end = offset + len;
  const uint64_t counter = offsetof(InodeHeader, btree_counter);
  return (offset < counter + 4 && end > counter) ||
         (offset < kInodeHeaderSize + kInodeMapSize && end > kInodeHeaderSize);
}

// The inode fields administrators may write on a served VDI: its tag
// (dog vdi snapshot names the snapshot) and its size (dog vdi resize).
bool admin_field(uint64_t lo, uint64_t hi) {
  auto within = [&](size_t off, size_t len) { return lo >= off && hi <= off + len; };
  return within(offsetof(InodeHeader, tag), sizeof(InodeHeader::tag)) ||
         within(offsetof(InodeHeader, vdi_size), sizeof(InodeHeader::vdi_size));
}

// True when a write of the inode header's bytes [lo, hi) changes nothing
// but admin fields (upstream's dog rewrites the whole header to resize).
bool changes_only_admin_fields(Sheep& s, uint64_t oid, const char* data, uint64_t lo,
                               uint64_t hi) {
  if (hi > kInodeHeaderSize) return false;
  std::vector<char> cur(hi - lo);
  if (!s.gateway.read(oid, cur.data(), uint32_t(cur.size()), lo).ok()) return false;
  for (uint64_t i = lo; i < hi; i++)
    if (cur[i - lo] != data[i - lo] && !admin_field(i, i + 1)) return false;
  return true;
}

// A client may change a VDI's data or its inode only when no other client
// holds the VDI's lock (docs/PROTOCOL.md "VDI locks"), whatever the client
// itself checked: one writer per VDI is the sheep's rule. Two inode fields
// stay open to administrators (admin_field); creating or removing an
// object (whole_object) never is. A deleted VDI takes no more writes. (A
// connection whose lock was broken runs nothing at all: ops.cpp.)
Res lock_guard(Sheep& s, const Request& r, uint64_t oid, bool whole_object = false) {
  uint64_t lo = r.hdr.obj.offset, hi = lo + r.data_length();
  if (is_vdi_obj(oid)) {
    if (!whole_object && admin_field(lo, hi)) return Res::Success;
  } else if (!is_data_obj(oid)) {
    return Res::Success;
  }
  uint32_t vid = oid_to_vid(oid);
  if (auto info = s.vdis.get(vid); info && info->deleted) return Res::NoVdi;
  if (s.locks.may_write(vid, LockHolder{s.self.nid, r.conn_id})) return Res::Success;
  if (is_vdi_obj(oid) && !whole_object && r.data() &&
      changes_only_admin_fields(s, oid, r.data(), lo, hi))
    return Res::Success;
  return Res::VdiLocked;
}

// The sender placed the object with the copy count this node's VDI table
// gives (both sides have applied the same ALTER_VDI_COPY), and coded it
// the same way (obj.copy_policy: 0 for a whole copy; both sides know the
// VDI); else it tries again, like a sender of another epoch. Requests
// without a count (dog's own, upstream's) are not checked.
Res copies_check(Sheep& s, const Request& r) {
  if (!r.hdr.obj.copies) return Res::Success;
  ObjectLayout l = s.policy.layout(r.hdr.obj.oid);
  if (l.vdi_copies && *l.vdi_copies != r.hdr.obj.copies) return Res::OldNodeVer;
  if (l.copy_policy() != r.hdr.obj.copy_policy) return Res::OldNodeVer;
  return Res::Success;
}

Res epoch_check(Sheep& s, const Request& r) {
  uint32_t mine = s.group.epoch();
  if (r.hdr.epoch < mine) return Res::OldNodeVer;
  if (r.hdr.epoch > mine) return Res::NewNodeVer;
  return Res::Success;
}

}  // namespace

Res create_and_write_obj(Sheep& s, Request& r) {
  if (!r.is_write()) return Res::InvalidParms;
  if (is_readonly(s, r.hdr.obj.oid, r.hdr.obj.offset, r.data_length())) return Res::Readonly;
  if (Res g = lock_guard(s, r, r.hdr.obj.oid, true); g != Res::Success) return g;
  uint64_t cow = (r.hdr.flags & kFlagCow) ? r.hdr.obj.cow_oid : 0;
  return s.gateway
      .create_and_write(r.hdr.obj.oid, r.data(), r.data_length(), r.hdr.obj.offset,
                        r.hdr.obj.copies, cow)
      .code();
}

Res read_obj(Sheep& s, Request& r) {
  char* buf = r.reply_buffer(r.hdr.data_length);
  Status st = s.gateway.read(r.hdr.obj.oid, buf, r.hdr.data_length, r.hdr.obj.offset,
                             r.hdr.obj.copies);
  if (!st.ok()) {
    r.reply.reset();
    r.rsp.data_length = 0;
  }
  return st.code();
}

bool read_obj_cached(Sheep& s, Request& r) {
  char* buf = r.reply_buffer(r.hdr.data_length);
  return s.gateway.read_local_cached(r.hdr.obj.oid, buf, r.hdr.data_length, r.hdr.obj.offset,
                                     r.hdr.obj.copies);
}

bool read_peer_cached(Sheep& s, Request& r) {
  if ((r.hdr.flags & kFlagRecovery) || epoch_check(s, r) != Res::Success) return false;
  // The sender must code and count the object as we do (a strip of ours
  // is never sent as a whole copy, nor the reverse).
  if (copies_check(s, r) != Res::Success) return false;
  char* buf = r.reply_buffer(r.hdr.data_length);
  return s.replica.read_cached(r.hdr.obj.oid, buf, r.hdr.data_length, r.hdr.obj.offset,
                               request_piece(s, r.hdr));
}

Res write_obj(Sheep& s, Request& r) {
  if (!r.is_write()) return Res::InvalidParms;
  uint64_t oid = r.hdr.obj.oid;
  if (is_readonly(s, oid, r.hdr.obj.offset, r.data_length())) return Res::Readonly;
  if (Res g = lock_guard(s, r, oid); g != Res::Success) return g;
  // A write into an inode's map may drop references: VdiOps frees what
  // nothing names any more.
  if (is_vdi_obj(oid))
    return s.vdi_ops
        .write_inode(oid, r.data(), r.data_length(), uint32_t(r.hdr.obj.offset), r.hdr.obj.copies)
        .code();
  return s.gateway.write(oid, r.data(), r.data_length(), r.hdr.obj.offset, r.hdr.obj.copies).code();
}

// WRITE_OBJ from a writer that sent it to the object's first owner
// instead of its gateway (docs/PROTOCOL.md §7.8): the lock is proven by
// the token of the VDI's current hold (owner or participant; an unlocked
// VDI proves nothing), not by the connection. This node then decides
// alone and writes every copy as a gateway does, so the copies never
// disagree on whether the write was allowed. Data objects of replicated
// VDIs only.
Res direct_write(Sheep& s, Request& r) {
  const SdReq& h = r.hdr;
  uint64_t oid = h.obj.oid;
  if (!r.is_write() || !is_data_obj(oid) || h.obj.copy_policy || h.obj.ec_index)
    return Res::InvalidParms;
  auto info = s.vdis.get(oid_to_vid(oid));
  if (!info || info->deleted) return Res::NoVdi;
  if (s.policy.layout(oid).shape) return Res::InvalidParms;  // strips: through a gateway
  if (is_readonly(s, oid, h.obj.offset, r.data_length())) return Res::Readonly;
  if (!s.locks.holds_token(oid_to_vid(oid), h.obj.lock_token)) return Res::VdiLocked;
  return s.gateway.write(oid, r.data(), r.data_length(), h.obj.offset, h.obj.copies).code();
}

Res release_objects(Sheep& s, Request& r) {
  if (!r.is_write() || r.data_length() % 8) return Res::InvalidParms;
  std::vector<std::pair<uint32_t, uint32_t>> objects(r.data_length() / 8);
  for (size_t i = 0; i < objects.size(); i++) {
    std::memcpy(&objects[i].first, r.data() + 8 * i, 4);
    std::memcpy(&objects[i].second, r.data() + 8 * i + 4, 4);
  }
  s.vdi_ops.release_objects(objects);
  return Res::Success;
}

Res remove_obj(Sheep& s, Request& r) {
  if (Res g = lock_guard(s, r, r.hdr.obj.oid, true); g != Res::Success) return g;
  return s.gateway.remove(r.hdr.obj.oid, r.hdr.obj.copies).code();
}

// A write that began under epoch E and ends under a later one reports
// OldNodeVer: it landed, but the owners of the new epoch may have copied
// the object before it did, so the gateway writes again under the new ring.
static Res after_write(Sheep& s, const Request& r, Res res) {
  if (res == Res::Success && s.group.epoch() != r.hdr.epoch) {
    s.audit.settle(r.hdr.obj.oid, r.hdr.epoch);
    return Res::OldNodeVer;
  }
  return res;
}

Res create_and_write_peer(Sheep& s, Request& r) {
  if (Res e = epoch_check(s, r); e != Res::Success) return e;
  if (Res e = copies_check(s, r); e != Res::Success) return e;
  if (!r.is_write()) return Res::InvalidParms;
  Res res = s.replica
                .create(r.hdr.obj.oid, r.hdr.epoch, r.data(), r.data_length(), r.hdr.obj.offset,
                        request_piece(s, r.hdr))
                .code();
  return after_write(s, r, res);
}

Res read_peer(Sheep& s, Request& r) {
  bool recovery = r.hdr.flags & kFlagRecovery;
  char* buf;
  Status st;
  if (recovery) {
    // Recovery reads come from nodes of any epoch and never chain further.
    // One from a newer epoch waits until we are there too: from then on no
    // write of an older epoch can land here unnoticed (see after_write).
    // Epochs come one membership change at a time: one far ahead is no
    // peer's (it would hold a worker for nothing) and is answered at once.
    constexpr uint32_t kMaxEpochLead = 16;
    uint32_t ours = s.group.epoch();
    if (r.hdr.epoch > ours &&
        (r.hdr.epoch - ours > kMaxEpochLead ||
         !s.group.wait_for_epoch(r.hdr.epoch, std::chrono::milliseconds(s.opts.peer_epoch_wait_ms))))
      return Res::NewNodeVer;
    // Nor is a copy sent while the two sides place it differently: a
    // write placed the old way could still land here after it.
    if (Res e = copies_check(s, r); e != Res::Success) return e;
    buf = r.reply_buffer(r.hdr.data_length);
    uint32_t copy_epoch = 0;
    st = s.recovery.read_for_recovery(r.hdr.obj.oid, r.hdr.obj.tgt_epoch, buf, r.hdr.data_length,
                                      r.hdr.obj.offset, &copy_epoch, request_piece(s, r.hdr));
    r.rsp.obj.copy_epoch = copy_epoch;
  } else {
    if (Res e = epoch_check(s, r); e != Res::Success) return e;
    if (Res e = copies_check(s, r); e != Res::Success) return e;
    buf = r.reply_buffer(r.hdr.data_length);
    st = s.gateway.local_read(r.hdr.obj.oid, buf, r.hdr.data_length, r.hdr.obj.offset,
                              request_piece(s, r.hdr));
  }
  if (!st.ok()) {
    r.reply.reset();
    r.rsp.data_length = 0;
  }
  return st.code();
}

Res write_peer(Sheep& s, Request& r) {
  if (Res e = epoch_check(s, r); e != Res::Success) return e;
  if (Res e = copies_check(s, r); e != Res::Success) return e;
  if (!r.is_write()) return Res::InvalidParms;
  Res res = s.gateway
                .local_write(r.hdr.obj.oid, r.data(), r.data_length(), r.hdr.obj.offset,
                             request_piece(s, r.hdr))
                .code();
  return after_write(s, r, res);
}

// Removes the live copy and any stale one. With kFlagRecovery (sent to
// nodes that are not owners after a removal), whatever copy is here goes,
// whatever our epoch.
Res remove_peer(Sheep& s, Request& r) {
  bool any_copy = r.hdr.flags & kFlagRecovery;
  if (!any_copy) {
    if (Res e = epoch_check(s, r); e != Res::Success) return e;
    if (Res e = copies_check(s, r); e != Res::Success) return e;
  }
  Res res = s.replica.remove(r.hdr.obj.oid).code();
  if (any_copy && res == Res::NoObj) return Res::Success;
  return res;
}

// Whether a current live copy is here.
static bool holds_current(Sheep& s, uint64_t oid) {
  return s.audit.has_current(oid, *s.group.membership());
}

Res exist(Sheep& s, Request& r) {
  return holds_current(s, r.hdr.obj.oid) ? Res::Success : Res::NoObj;
}

// SHA-1 of this node's copy, read 1 MiB at a time: an object may be 2 GiB
// (block_size_shift 31), and every request must cost a bounded amount.
// The hash of the bytes on disk, as upstream: `dog vdi check` finds a copy
// that went bad by its other hash. With RECOVERY (ours: the scrubber) the
// copy is read checked against its block checksums, and a bad one is EIO.
Res get_hash(Sheep& s, Request& r) {
  constexpr uint32_t kChunk = 1u << 20;
  const bool checked = r.hdr.flags & kFlagRecovery;
  uint64_t oid = r.hdr.obj.oid;
  uint64_t size = s.policy.object_size_of(oid);
  std::unique_ptr<char[]> buf(new char[kChunk]);
  // The current copy, or (for an earlier tgt_epoch) the one kept for it.
  MembershipPtr m = s.group.membership();
  std::optional<uint32_t> stale;  // the epoch of the stale copy read instead
  if (!s.audit.check(oid, *m) || !s.store.exists(oid)) {
    uint32_t tgt = r.hdr.obj.tgt_epoch;
    if (tgt && tgt < m->epoch) stale = s.store.newest_stale(oid, tgt, kWholeObject);
    if (!stale) return Res::NoObj;
  }
  if (checked && !stale)
    if (Status st = s.store.verify(oid); !st.ok()) return st.code();
  Sha1 h;
  for (uint64_t off = 0; off < size; off += kChunk) {
    uint32_t n = uint32_t(std::min<uint64_t>(kChunk, size - off));
    Status st = stale ? s.store.read_stale(oid, *stale, buf.get(), n, off)
                      : s.store.read_unchecked(oid, buf.get(), n, off);
    if (!st.ok()) return st.code();
    h.update(buf.get(), n);
  }
  h.final(r.rsp.hash.digest);
  return Res::Success;
}

// Pulls a good copy of oid from forw.addr:forw.port (dog vdi check). Of
// an erasure-coded object, this node's strip is rebuilt from the others
// instead (any node will do as the source). With a RepairCondition as
// payload (the scrubber's), only when the copy read hashes to cond.good
// and ours still to cond.current: else AGAIN, nothing changed.
Res repair_replica(Sheep& s, Request& r) {
  uint64_t oid = r.hdr.obj.oid;
  const bool conditional = r.is_write() && r.data_length();
  if (conditional && r.data_length() != sizeof(RepairCondition)) return Res::InvalidParms;
  if (s.policy.ec_shape(oid)) {
    if (conditional) return Res::InvalidParms;
    return s.recovery.rebuild_strip(oid).code();
  }
  // A conditional repair replaces a copy held here: none, nothing to ask.
  if (conditional && !s.store.exists(oid)) return Res::NoObj;
  NodeId nid{};
  std::memcpy(nid.addr, r.hdr.forw.addr, 16);
  nid.port = r.hdr.forw.port;
  uint64_t size = s.policy.object_size_of(oid);
  std::unique_ptr<char[]> buf(new char[size]);
  uint32_t epoch = s.group.epoch();
  if (Status st = s.recovery.read_from_peer(nid, oid, epoch, buf.get(), uint32_t(size)); !st.ok())
    return st.code();
  if (!conditional) return s.replica.create(oid, epoch, buf.get(), uint32_t(size), 0).code();
  RepairCondition cond;
  std::memcpy(&cond, r.data(), sizeof(cond));
  Sha1 h;
  h.update(buf.get(), size);
  uint8_t got[20];
  h.final(got);
  if (std::memcmp(got, cond.good, sizeof(got)) != 0) return Res::Again;  // written since
  return s.replica.replace_unless_changed(oid, epoch, buf.get(), cond.current).code();
}

// The oids of the payload this node lacks come back with NO_OBJ.
Res oids_exist(Sheep& s, Request& r) {
  if (!r.is_write() || r.data_length() % 8) return Res::InvalidParms;
  size_t n = r.data_length() / 8;
  std::vector<uint64_t> missing;
  for (size_t i = 0; i < n; i++) {
    uint64_t oid;
    std::memcpy(&oid, r.data() + 8 * i, 8);
    if (!holds_current(s, oid)) missing.push_back(oid);
  }
  if (missing.empty()) return Res::Success;
  char* buf = r.reply_buffer(uint32_t(missing.size() * 8));
  std::memcpy(buf, missing.data(), r.rsp.data_length);
  return Res::NoObj;
}

Res get_stale_list(Sheep& s, Request& r) {
  std::vector<uint64_t> out;
  for (const auto& c : s.store.stale_list()) {
    out.push_back(c.oid);
    out.push_back(c.epoch);
  }
  size_t bytes = out.size() * 8;
  if (bytes > r.hdr.data_length) return Res::BufferSmall;
  char* buf = r.reply_buffer(uint32_t(bytes));
  if (bytes) std::memcpy(buf, out.data(), bytes);
  return Res::Success;
}

Res get_obj_list(Sheep& s, Request& r) {
  std::vector<uint64_t> oids = s.store.list();
  size_t bytes = oids.size() * 8;
  if (bytes > r.hdr.data_length) return Res::BufferSmall;
  char* buf = r.reply_buffer(uint32_t(bytes));
  if (bytes) std::memcpy(buf, oids.data(), bytes);
  return Res::Success;
}

}  // namespace sd::ops
