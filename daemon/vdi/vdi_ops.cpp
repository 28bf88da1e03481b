// VDI lookup, creation, deletion and object release.
#include "vdi/vdi_ops.h"

#include <algorithm>
#include <cinttypes>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include "hash.h"
#include "hyper_map.h"
#include "base/log.h"
#include "erasure_code.h"
#include "oid.h"
#include "gateway/gateway.h"
#include "group/group.h"
#include "group/vdi_locks.h"
#include "group/vdi_table.h"
#include "peers/peer_calls.h"
#include "peers/peer_pool.h"
#include "vdi/hyper_tree.h"

namespace sd {

namespace {

bool name_equals(const char* field, const std::string& s) {
  return std::strncmp(field, s.c_str(), kMaxVdiLen) == 0;
}

uint64_t map_entries(const InodeHeader& h) {
  uint8_t shift = h.block_size_shift && valid_block_size_shift(h.block_size_shift)
                      ? h.block_size_shift
                      : kDefaultBlockSizeShift;
  uint64_t n = (h.vdi_size + (1ull << shift) - 1) >> shift;
  return n < kInodeDataIndex ? n : kInodeDataIndex;
}

// The whole map entries [first, first+count) covered by a write into an
// inode; count 0 when the write does not cover any.
void covered_entries(uint32_t offset, uint32_t len, uint32_t* first, uint32_t* count) {
  uint64_t lo = offset, hi = uint64_t(offset) + len;
  uint64_t map_lo = kInodeHeaderSize, map_hi = kInodeHeaderSize + kInodeMapSize;
  if (hi <= map_lo || lo >= map_hi) {
    *count = 0;
    return;
  }
  lo = std::max(lo, map_lo);
  hi = std::min(hi, map_hi);
  uint64_t a = (lo - map_lo + 3) / 4, b = (hi - map_lo) / 4;
  *first = uint32_t(a);
  *count = b > a ? uint32_t(b - a) : 0;
}


}  // namespace

VdiOps::Found VdiOps::lookup(const VdiLookup& q) {
  Found f;
  std::vector<uint32_t> order;
  if (group_.settings().flags & kClusterRecycleVid) {
    // Recycled VIDs (format -R): ids are handed out from 1 upwards, so a
    // name may be anywhere: every vid in use is a candidate, newest first.
    f.free_vid = vdis_.next_free(1);
    if (!f.free_vid) {
      f.res = Res::FullVdi;
      return f;
    }
    for (const auto& [vid, info] : vdis_.all()) order.push_back(vid);
    std::sort(order.rbegin(), order.rend());
  } else {
    uint32_t left = sd_hash_vdi(q.name);
    if (!left) left = 1;
    uint32_t right = vdis_.next_free(left);
    bool wrapped = false;
    if (right == 0) {
      right = vdis_.next_free(1);
      if (right == 0) {
        f.res = Res::FullVdi;
        return f;
      }
      wrapped = true;
    }
    f.free_vid = right;
    if (right == left) return f;  // never used: NoVdi
    // Candidates from the newest (right-1) down to left, wrapping if needed.
    if (!wrapped) {
      for (uint32_t v = right; v-- > left;) order.push_back(v);
    } else {
      for (uint32_t v = right; v-- > 1;) order.push_back(v);
      for (uint32_t v = kNrVdis; v-- > left;) order.push_back(v);
    }
  }
  bool want_snapshot = !q.tag.empty() || q.snapid != 0;
  bool saw_working = false;
  for (uint32_t vid : order) {
    if (!vdis_.in_use(vid) && !vdis_.deleted(vid)) continue;
    InodeHeader h;
    Status st = gateway_.read(vid_to_vdi_oid(vid), &h, kInodeLookupBytes, 0);
    if (!st.ok()) {
      sd_err("failed to read inode of vid %" PRIx32 ": %s", vid, strerror(st.code()));
      f.res = st.code() == Res::NoObj ? Res::NoVdi : st.code();
      continue;
    }
    if (!name_equals(h.name, q.name)) continue;
    bool snap = inode_is_snapshot(h);
    if (want_snapshot) {
      if (!snap) {
        saw_working = true;
        continue;
      }
      bool tag_match = h.tag[0] && std::strncmp(h.tag, q.tag.c_str(), kMaxVdiTagLen) == 0;
      if (tag_match || h.snap_id == q.snapid) {
        f.res = Res::Success;
        f.vid = vid;
        return f;
      }
      continue;
    }
    if (!snap) {
      f.res = Res::Success;
      f.vid = vid;
      f.next_snap_id = h.snap_id + 1;
      return f;
    }
    // The working VDI was deleted; a new one continues the snapshot ids.
    f.res = Res::NoVdi;
    f.vid = vid;
    f.next_snap_id = h.snap_id + 1;
    return f;
  }
  if (want_snapshot) f.res = saw_working ? Res::NoTag : Res::NoVdi;
  else if (f.res == Res::Success) f.res = Res::NoVdi;
  return f;
}

VdiReply VdiOps::reply_for(uint32_t vid, const InodeHeader& h) const {
  VdiReply r;
  r.vid = vid;
  r.copies = h.nr_copies;
  r.block_size_shift = h.block_size_shift;
  return r;
}

Result<VdiReply> VdiOps::get_info(const VdiLookup& q) {
  std::lock_guard<std::mutex> lk(mu_);
  Found f = lookup(q);
  if (f.res != Res::Success) return err(f.res);
  InodeHeader h;
  SD_TRY(gateway_.read(vid_to_vdi_oid(f.vid), &h, kInodeLookupBytes, 0));
  return reply_for(f.vid, h);
}

Result<VdiReply> VdiOps::create(const NewVdiParams& p) {
  std::lock_guard<std::mutex> lk(mu_);
  ClusterSettings cs = group_.settings();
  uint8_t copies = p.copies, policy = p.copy_policy;
  if (!copies) {
    copies = cs.copies;
    policy = cs.copy_policy;
  }
  if (policy) {
    auto shape = ec_shape_of(policy);
    if (!shape) return err(Res::InvalidParms);
    copies = uint8_t(shape->strips());
  }
  uint8_t shift = p.block_size_shift ? p.block_size_shift : cs.block_size_shift;
  if (shift < kMinBlockSizeShift || shift > kMaxBlockSizeShift) return err(Res::InvalidParms);
  if (p.store_policy > 1) return err(Res::InvalidParms);
  if (copies == 0 || copies > kMaxCopies) return err(Res::InvalidParms);

  Found f = lookup({p.name, "", 0});
  if (f.res != Res::Success && f.res != Res::NoVdi) return err(f.res);
  uint32_t snap_id = 1, old_vid = 0;
  uint32_t base = p.base_vid;
  bool recycle = cs.flags & kClusterRecycleVid;
  if (p.snapid == 0) {
    if (f.res == Res::Success) return err(Res::VdiExist);
    // With recycled VIDs a name stays taken while snapshots of it exist.
    if (f.vid && recycle) return err(Res::VdiExist);
    if (f.vid) snap_id = f.next_snap_id;
  } else {
    if (f.res != Res::Success) return err(f.res);
    old_vid = f.vid;  // the working VDI becomes a snapshot
    snap_id = f.next_snap_id;
    if (!base) base = f.vid;
  }

  // Only what is written is set (the header, the map entries carried
  // over, the B-tree root): the rest of the 4 MiB is never read, and the
  // object is created zero past what is written.
  std::unique_ptr<char[]> inode(new char[kInodeHeaderSize + kInodeMapSize]);
  std::memset(inode.get(), 0, kInodeHeaderSize);
  auto* h = reinterpret_cast<InodeHeader*>(inode.get());
  uint64_t nr_map = 0;
  uint8_t store_policy = p.store_policy;
  InodeHeader bh{};
  if (base) {
    SD_TRY(gateway_.read(vid_to_vdi_oid(base), &bh, sizeof(bh), 0));
    if (inode_is_deleted(bh) && bh.vdi_size == 0) return err(Res::NoBaseVdi);
    // The data area holds the base's kind of map: a copy is of that kind.
    store_policy = bh.store_policy == 1 ? 1 : 0;
    if (p.snapid) {  // the new working VDI inherits the base's layout
      copies = bh.nr_copies;
      policy = bh.copy_policy;
      shift = bh.block_size_shift;
      // Bytes of an object, checked as a request's would be (a damaged or
      // forged inode named a block size of 2^236).
      if (shift < kMinBlockSizeShift || shift > kMaxBlockSizeShift || copies == 0 ||
          copies > kMaxCopies || (policy && !ec_shape_of(policy))) {
        sd_err("vdi %" PRIx32 ": its inode names no valid layout (%u copies, policy %u, "
               "block shift %u)",
               base, copies, policy, shift);
        return err(Res::InvalidParms);
      }
    }
  }
  // Flat maps address 2^20 objects, B-trees 2^32 (16 PiB of 4 MiB ones).
  const uint64_t max_objects = store_policy == 1 ? kMaxDataObjs : kInodeDataIndex;
  if (p.size > (1ull << shift) * max_objects) return err(Res::InvalidParms);
  const uint64_t t = now_timestamp();
  if (old_vid) {
    // Freeze the working VDI before its map is copied: from here its data
    // objects and its map are read-only here; every node marks it a
    // snapshot with the VDI added.
    SD_TRY(gateway_.write(vid_to_vdi_oid(old_vid), &t, sizeof(t),
                                offsetof(InodeHeader, snap_ctime)));
    vdis_.freeze(old_vid);
  }
  // A failure from here on gives the working VDI back, unfrozen: a VDI
  // is never left a snapshot without a working VDI after it.
  auto thaw = [&](Res r) -> Res {
    if (!old_vid) return r;
    const uint64_t zero = 0;
    if (!gateway_.write(vid_to_vdi_oid(old_vid), &zero, sizeof(zero),
                        offsetof(InodeHeader, snap_ctime)).ok())
      sd_err("vdi %" PRIx32 " stays marked a snapshot after a failed snapshot", old_vid);
    vdis_.unfreeze(old_vid);
    return r;
  };
  // Vid `vid` is ours until VDI added is sent (the lock is held).
  uint32_t vid = f.free_vid;
  uint32_t root_len = 0, btree_counter = 0;
  if (store_policy == 1) {
    char* root = inode.get() + kInodeHeaderSize;
    if (base) {
      // Depth-2 leaves are duplicated for the new vid first: its inode
      // never names a leaf that is not written.
      auto used = hyper_.copy_for(base, vid, copies, root, &btree_counter);
      if (!used.ok()) {
        sd_err("cannot copy the B-tree of vid %" PRIx32 ": %s", base, strerror(used.code()));
        return err(thaw(used.code()));
      }
      root_len = *used;
    } else {
      HyperTree::empty_root(root);
      root_len = uint32_t(kBtreeHeaderSize);
    }
  } else if (base) {
    // Clone, snapshot or rollback: start from the base's map.
    nr_map = map_entries(bh);
    if (nr_map) {
      Status st = gateway_.read(vid_to_vdi_oid(base), inode.get() + kInodeHeaderSize,
                                uint32_t(nr_map * 4), uint32_t(inode_map_offset(0)));
      if (!st.ok()) return err(thaw(st.code()));
    }
  }
  std::memcpy(h->name, p.name.data(), std::min(p.name.size(), kMaxVdiLen - 1));
  h->create_time = t;
  h->vdi_size = p.size;
  h->copy_policy = policy;
  h->store_policy = store_policy;
  h->btree_counter = btree_counter;
  h->nr_copies = copies;
  h->block_size_shift = shift;
  h->snap_id = snap_id;
  h->vdi_id = vid;
  h->parent_vdi_id = base;
  uint64_t nr_new = store_policy == 1 ? 0 : map_entries(*h);
  if (nr_new < nr_map) {  // entries beyond the new size are not carried over
    std::memset(inode.get() + inode_map_offset(nr_new), 0, (nr_map - nr_new) * 4);
    nr_map = nr_new;
  }
  // As upstream, a failure to write the new inode (no space, no node to
  // store it) is reported as such.
  if (Status st = gateway_.create_and_write(vid_to_vdi_oid(vid), inode.get(),
                                                  uint32_t(kInodeHeaderSize + nr_map * 4 + root_len), 0,
                                                  copies);
      !st.ok()) {
    sd_err("cannot write the inode of %s: %s", p.name.c_str(), strerror(st.code()));
    return err(thaw(Res::VdiWrite));
  }
  VdiAddedMsg msg{vid, old_vid, base, copies, policy, shift, store_policy};
  Res r = group_.vdi_added(msg);
  if (r != Res::Success) return err(thaw(r));
  sd_info("created vdi %s vid %" PRIx32 " (base %" PRIx32 ", snapshot of %" PRIx32 ")",
          p.name.c_str(), vid, base, old_vid);
  return reply_for(vid, *h);
}

Result<VdiReply> VdiOps::remove(const VdiLookup& q) {
  std::lock_guard<std::mutex> lk(mu_);
  Found f = lookup(q);
  if (f.res != Res::Success) return err(f.res);
  uint64_t oid = vid_to_vdi_oid(f.vid);
  InodeHeader h;
  SD_TRY(gateway_.read(oid, &h, sizeof(h), 0));
  VdiReply reply = reply_for(f.vid, h);
  if (inode_is_deleted(h) && h.vdi_size == 0) return reply;
  // A served VDI stays: its writer would go on writing a deleted VDI (or,
  // with recycled vids, the next VDI to get this vid).
  if (locks_.get(f.vid)) return err(Res::VdiLocked);
  const bool hyper = h.store_policy == 1;
  uint64_t nr = hyper ? 0 : map_entries(h);
  std::vector<uint32_t> map(nr);
  if (nr) SD_TRY(gateway_.read(oid, map.data(), uint32_t(nr * 4), uint32_t(inode_map_offset(0))));
  for (uint32_t e : map) {
    if (e) {
      // As upstream: the client must release the data first; nothing done.
      sd_err("vdi %" PRIx32 " still has data objects; not deleted", f.vid);
      return reply;
    }
  }
  // Decided first, in the cluster's order (a lock taken meanwhile wins);
  // then the inode is emptied.
  Res r = group_.vdi_deleted(f.vid);
  if (r != Res::Success) return err(r);
  h.vdi_size = 0;
  std::memset(h.name, 0, sizeof(h.name));
  if (Status st = gateway_.write(oid, &h, sizeof(h), 0); !st.ok()) {
    sd_err("vdi %" PRIx32 " is deleted, but its inode could not be emptied: %s", f.vid,
           strerror(st.code()));
    return err(st.code());
  }
  sd_info("deleted vdi vid %" PRIx32, f.vid);
  // A hyper volume's objects are freed here (as upstream's sheep does),
  // after the deletion is decided: a failure leaks, never loses.
  if (hyper) free_hyper(f.vid, h.nr_copies);
  if (group_.settings().flags & kClusterRecycleVid) release_family(f.vid);
  return reply;
}

void VdiOps::free_hyper(uint32_t vid, uint8_t copies) {
  std::map<uint32_t, std::vector<uint32_t>> children;
  for (const auto& [v, info] : vdis_.all())
    if (info.parent) children[info.parent].push_back(v);
  // A descendant (a clone, or the working VDI of a deleted snapshot) may
  // still read a vid's blocks: those stay, with the vid's tree.
  auto live_descendants = [&](uint32_t of) {
    std::vector<std::pair<uint32_t, uint8_t>> readers;
    std::vector<uint32_t> queue{of};
    while (!queue.empty()) {
      uint32_t v = queue.back();
      queue.pop_back();
      for (uint32_t c : children[v]) {
        queue.push_back(c);
        auto info = vdis_.get(c);
        if (info && !info->deleted) readers.push_back({c, info->copies});
      }
    }
    return readers;
  };
  if (!hyper_.free_objects(vid, copies, live_descendants(vid))) return;
  // This vid was perhaps the last reader of blocks its deleted ancestors
  // kept: each ancestor deleted before it gets another pass.
  auto info = vdis_.get(vid);
  for (uint32_t a = info ? info->parent : 0; a;) {
    auto ai = vdis_.get(a);
    if (!ai || !ai->deleted || ai->store_policy != 1) break;
    if (!hyper_.free_objects(a, ai->copies, live_descendants(a))) break;
    a = ai->parent;
  }
}

void VdiOps::release_family(uint32_t vid) {
  // Once a whole family (a root and every VDI descended from it) is
  // deleted, nothing can name its inodes any more: they go, and their
  // vids are free for new VDIs.
  std::vector<uint32_t> family = vdis_.family(vid);
  for (uint32_t v : family) {
    auto info = vdis_.get(v);
    if (info && !info->deleted) return;
  }
  for (uint32_t v : family) {
    auto info = vdis_.get(v);
    Status st = gateway_.remove(vid_to_vdi_oid(v), info ? info->copies : 0);
    if (!st.ok() && st.code() != Res::NoObj) {
      sd_err("cannot remove the inode of vid %" PRIx32 ": %s", v, strerror(st.code()));
      return;  // the family stays as it is; a leak, never a loss
    }
  }
  Res r = group_.vdis_released(family);
  if (r != Res::Success) sd_err("cannot release the vids of a deleted family: %s", strerror(r));
  else sd_info("released %zu vids of a deleted family", family.size());
}

Result<VdiReply> VdiOps::attr(const VdiAttr& a, uint32_t snapid, uint16_t flags) {
  std::lock_guard<std::mutex> lk(mu_);
  VdiLookup q;
  q.name.assign(a.name, strnlen(a.name, kMaxVdiLen));
  q.tag.assign(a.tag, strnlen(a.tag, kMaxVdiTagLen));
  q.snapid = snapid;
  Found f = lookup(q);
  if (f.res != Res::Success) return err(f.res);
  // Attributes are keyed by the name's hash so they survive snapshots.
  uint32_t hash_vid = sd_hash_vdi(q.name);
  uint64_t h = fnv1a(a.name, kMaxVdiLen, kFnvBasis);
  h = fnv1a(a.tag, kMaxVdiTagLen, h);
  h = fnv1a(&a.snap_id, sizeof(a.snap_id), h);
  h = fnv1a(a.key, kMaxAttrKeyLen, h);
  uint32_t start = uint32_t(h);
  VdiReply reply;
  reply.vid = hash_vid;
  auto info = vdis_.get(f.vid);
  reply.copies = info ? info->copies : 0;
  // Linear probing; a deleted attribute (empty name) keeps its slot.
  for (uint32_t i = start;; i++) {
    uint64_t oid = vid_to_attr_oid(hash_vid, i);
    VdiAttr cur;
    Status st = gateway_.read(oid, &cur, offsetof(VdiAttr, value), 0, reply.copies);
    if (st.code() == Res::NoObj) {
      if (!(flags & kFlagCreat)) return err(Res::NoObj);
      SD_TRY(gateway_.create_and_write(oid, &a, sizeof(a), 0, reply.copies));
      reply.attr_id = i;
      return reply;
    }
    if (!st.ok()) return err(st.code());
    bool match = std::strncmp(cur.name, a.name, kMaxVdiLen) == 0 &&
                 std::strncmp(cur.tag, a.tag, kMaxVdiTagLen) == 0 &&
                 cur.snap_id == a.snap_id && std::strncmp(cur.key, a.key, kMaxAttrKeyLen) == 0;
    if (match) {
      reply.attr_id = i;
      if (flags & kFlagExcl) return err(Res::VdiExist);
      if (flags & kFlagDel) {
        char nul = 0;
        SD_TRY(gateway_.write(oid, &nul, 1, 0, reply.copies));
      } else if (flags & kFlagCreat) {
        SD_TRY(gateway_.write(oid, &a, sizeof(a), 0, reply.copies));
      }
      return reply;
    }
    if (i + 1 == start) return err(Res::FullVdi);  // probed every slot
  }
}

void VdiOps::release_objects(const std::vector<std::pair<uint32_t, uint32_t>>& objects) {
  std::lock_guard<std::mutex> lk(mu_);
  auto all = vdis_.all();
  std::map<uint32_t, std::vector<uint32_t>> children;
  std::map<uint32_t, VdiInfo> info;
  for (const auto& [vid, v] : all) {
    info[vid] = v;
    if (v.parent) children[v.parent].push_back(vid);
  }
  for (const auto& [owner, idx] : objects) {
    // (RELEASE_OBJECTS comes from peers: an index past a flat inode's map
    // names no entry to read, and no object this sheep could have made.)
    if (idx >= kInodeDataIndex) continue;
    // A hyper volume's blocks are freed when it is deleted (free_hyper).
    if (auto oi = vdis_.get(owner); oi && oi->store_policy == 1) continue;
    // The family of the owner: itself and every descendant.
    std::vector<uint32_t> family{owner}, queue{owner};
    while (!queue.empty()) {
      uint32_t v = queue.back();
      queue.pop_back();
      for (uint32_t c : children[v]) {
        family.push_back(c);
        queue.push_back(c);
      }
    }
    bool referenced = false;
    for (uint32_t v : family) {
      auto it = info.find(v);
      if (it == info.end() || it->second.deleted) continue;
      uint32_t entry = 0;
      Status st = gateway_.read(vid_to_vdi_oid(v), &entry, sizeof(entry),
                                      uint32_t(inode_map_offset(idx)));
      if (!st.ok() || entry == owner) {  // unreadable: keep, to be safe
        referenced = true;
        break;
      }
    }
    if (referenced) continue;
    uint64_t oid = vid_to_data_oid(owner, idx);
    auto oi = info.find(owner);
    Status st = gateway_.remove(oid, oi != info.end() ? oi->second.copies : 0);
    if (!st.ok() && st.code() != Res::NoObj)
      sd_err("failed to free %016" PRIx64 ": %s", oid, strerror(st.code()));
    else
      sd_debug("freed %016" PRIx64, oid);
  }
}

Status VdiOps::write_inode(uint64_t oid, const char* data, uint32_t len, uint32_t offset,
                          uint8_t copies) {
  uint32_t first = 0, count = 0;
  std::vector<uint32_t> old_entries;
  // A hyper volume's data area is a B-tree, not map entries.
  auto info = vdis_.get(oid_to_vid(oid));
  if (info && info->store_policy == 1) return gateway_.write(oid, data, len, offset, copies);
  covered_entries(offset, len, &first, &count);
  if (count) {
    old_entries.resize(count);
    Status st = gateway_.read(oid, old_entries.data(), count * 4,
                              uint32_t(inode_map_offset(first)), copies);
    if (!st.ok()) count = 0;
  }
  SD_TRY(gateway_.write(oid, data, len, offset, copies));
  if (!count) return {};
  // Entries that stopped naming an object release it.
  const char* p = data + (inode_map_offset(first) - offset);
  std::vector<std::pair<uint32_t, uint32_t>> released;
  for (uint32_t i = 0; i < count; i++) {
    uint32_t now;
    std::memcpy(&now, p + 4 * i, 4);
    if (old_entries[i] && old_entries[i] != now) released.push_back({old_entries[i], first + i});
  }
  if (!released.empty()) release_on_master(released);
  return {};
}

void VdiOps::release_on_master(const std::vector<std::pair<uint32_t, uint32_t>>& objects) {
  if (group_.is_master()) {
    release_objects(objects);
    return;
  }
  auto peer = admin_peers_.get(group_.master().nid);
  if (!peer) return;  // a leak at worst, never a loss
  Status st = peer::release_objects(*peer, objects);
  if (!st.ok()) sd_warn("releasing %zu objects failed: %s", objects.size(), strerror(st.code()));
}

}  // namespace sd
