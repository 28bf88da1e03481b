// dog vdi snapshot / clone / rollback / resize: the commands that make a
// new inode from an existing one, or change an inode's size.
//
// snapshot writes the tag into the working inode and asks NEW_VDI with
// snapid 1 and the working vid as base: the server freezes the working
// inode as the snapshot and gives the name a new working vid
// (docs/PROTOCOL.md §11.3, §6.5). clone makes a new name whose base is a
// snapshot (snapid 0); -P / -n then copy every object so nothing is
// shared. rollback deletes the working VDI (releasing its objects like vdi
// delete) and creates a new working VDI of the same name on top of the
// snapshot, so the old working vid disappears and the name gets a new vid,
// as upstream's output shows.
// resize rewrites the inode's vdi_size (grow only).
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

#include "client/client_map_io.h"
#include "client/vdi.h"
#include "hyper_map.h"
#include "oid.h"
#include "proto/inode.h"
#include "size.h"
#include "vdi.h"
#include "vdi_inventory.h"

namespace dog {

namespace {

constexpr const char* kRollbackPrompt =
    "This operation discards any changes made since the previous\n"
    "snapshot was taken.  Continue? [yes/no]: ";

// True if any map entry of the working VDI names the VDI itself.
bool has_own_objects(sd::SheepClient& c, uint32_t vid, const sd::InodeHeader& h) {
  bool own = false;
  sd::Status st = for_each_allocated(c, vid, h, [&](uint64_t, uint32_t owner) {
    if (owner == vid) own = true;
  });
  return !st.ok() || own;  // when in doubt, take the snapshot
}

// -P / -n: give the clone its own copy of every object (-P also allocates
// the holes of a flat VDI), pointing its map at them. A hyper volume's
// blocks come from its B-tree and go into the clone's.
sd::Status copy_objects(sd::SheepClient& c, const FullInode& base, uint32_t base_vid,
                        uint32_t vid) {
  const uint64_t osz = vdi_object_size(base.hdr);
  const bool hyper = base.hdr.store_policy == 1;
  std::vector<std::pair<uint64_t, uint32_t>> blocks;  // (idx, owner)
  if (hyper) {
    SD_TRY(for_each_allocated(c, base_vid, base.hdr,
                              [&](uint64_t idx, uint32_t owner) { blocks.push_back({idx, owner}); }));
  } else {
    const uint64_t nr = std::min<uint64_t>(vdi_object_count(base.hdr), sd::kInodeDataIndex);
    for (uint64_t idx = 0; idx < nr; idx++)
      if (base.data_vdi_id[idx] || vdi_opts.prealloc) blocks.push_back({idx, base.data_vdi_id[idx]});
  }
  sd::ClientMapIo io(c, base.hdr.nr_copies);
  sd::HyperMap tree(io, vid);
  if (hyper) SD_TRY(tree.load());
  std::vector<char> buf(osz);
  for (const auto& [idx, owner] : blocks) {
    uint64_t oid = sd::vid_to_data_oid(vid, idx);
    sd::Status st;
    if (owner) {
      st = c.read_obj(sd::vid_to_data_oid(owner, idx), buf.data(), uint32_t(osz), 0);
      if (!st.ok()) {
        err("Failed to read object %016llx %s",
            static_cast<unsigned long long>(sd::vid_to_data_oid(owner, idx)),
            sd::strerror(shown_res(st.code())));
        return st;
      }
      st = c.create_and_write_obj(oid, buf.data(), uint32_t(osz), 0);
    } else {
      st = c.create_and_write_obj(oid, nullptr, 0, 0);
    }
    if (st.ok() && hyper) st = tree.set(uint32_t(idx), vid);
    else if (st.ok())
      st = c.write_obj(sd::vid_to_vdi_oid(vid), &vid, sizeof(vid),
                       uint32_t(sd::inode_map_offset(idx)));
    if (!st.ok()) {
      err("Failed to write object %016llx: %s", static_cast<unsigned long long>(oid),
          sd::strerror(shown_res(st.code())));
      return st;
    }
  }
  return {};
}

}  // namespace

// ---- vdi snapshot ---------------------------------------------------------

int vdi_snapshot(Context& ctx) {
  const std::string& name = ctx.args[0];
  if (vdi_opts.snapid) {
    err("Please specify a non-integer value for a snapshot tag name");
    return kExitUsage;
  }
  sd::SheepClient* c = client_for(ctx.ep);
  if (!c) {
    report_open_failure(name, sd::Res::Eio);
    return kExitFailure;
  }
  if (!vdi_opts.tag.empty()) {
    auto existing = sd::lookup_vdi(*c, name, vdi_opts.tag, 0);
    if (existing.ok()) {
      err("Failed to create snapshot for %s, maybe snapshot id (%d) or tag (%s) is existed",
          name.c_str(), 0, vdi_opts.tag.c_str());
      return kExitFailure;
    }
    if (existing.code() != sd::Res::NoTag) {
      report_open_failure(name, existing.code());
      return kExitFailure;
    }
  }
  auto vid = sd::lookup_vdi(*c, name);
  if (!vid.ok()) {
    report_open_failure(name, vid.code());
    return kExitFailure;
  }
  auto h = sd::read_inode_header(*c, *vid);
  if (!h.ok()) {
    err("Failed to create snapshot for %s: %s", name.c_str(), sd::strerror(shown_res(h.code())));
    return kExitFailure;
  }
  if (vdi_opts.reduce && !has_own_objects(*c, *vid, *h)) {
    if (ctx.verbose)
      err("VDI %s doesn't have its own objects, skipping creation of snapshot", name.c_str());
    return kExitSuccess;
  }

  char tag[sd::kMaxVdiTagLen] = {};
  std::memcpy(tag, vdi_opts.tag.c_str(), std::min(vdi_opts.tag.size(), sizeof(tag) - 1));
  sd::Status st = c->write_obj(sd::vid_to_vdi_oid(*vid), tag, sizeof(tag),
                               uint32_t(offsetof(sd::InodeHeader, tag)));
  uint32_t new_vid = 0;
  if (st.ok()) st = new_vdi(*c, name, *h, *vid, 1, &new_vid);
  if (!st.ok()) {
    err("Failed to create snapshot for %s: %s", name.c_str(), sd::strerror(shown_res(st.code())));
    return kExitFailure;
  }
  if (ctx.verbose)
    std::printf(
        ctx.raw ? "%x %x\n" : "new VID of original VDI: %x, VDI ID of newly created snapshot: %x\n",
        new_vid, *vid);
  return kExitSuccess;
}

// ---- vdi clone ------------------------------------------------------------

int vdi_clone(Context& ctx) {
  const std::string& src = ctx.args[0];
  if (!vdi_opts.snapid && vdi_opts.tag.empty()) {
    err("Only snapshot VDIs can be cloned");
    err("Please specify the '-s' option");
    return kExitUsage;
  }
  if (ctx.args.size() < 2) {
    err("Destination VDI name must be specified");
    return kExitUsage;
  }
  const std::string& dst = ctx.args[1];
  sd::SheepClient* c = client_for(ctx.ep);
  if (!c) {
    report_open_failure(src, sd::Res::Eio);
    return kExitFailure;
  }
  auto base_vid = sd::lookup_vdi(*c, src, vdi_opts.tag, vdi_opts.snapid);
  if (!base_vid.ok()) {
    report_open_failure(src, base_vid.code());
    return kExitFailure;
  }
  auto base = read_full_inode(*c, *base_vid);
  if (!base.ok()) {
    err("Failed to read an inode of %s: %s", src.c_str(), sd::strerror(shown_res(base.code())));
    return kExitFailure;
  }
  uint32_t vid = 0;
  // -n (--no-share): a VDI of its own, with no parent, holding a copy of
  // every object, as upstream's dog makes it (standalone: `vdi alter-copy`
  // accepts it).
  uint32_t parent = vdi_opts.no_share ? 0 : *base_vid;
  sd::Status st = new_vdi(*c, dst, (*base)->hdr, parent, 0, &vid);
  if (!st.ok()) {
    err("Failed to create VDI %s: %s", dst.c_str(), sd::strerror(shown_res(st.code())));
    return kExitFailure;
  }
  if ((vdi_opts.prealloc || vdi_opts.no_share) && !copy_objects(*c, **base, *base_vid, vid).ok())
    return kExitFailure;
  if (ctx.verbose) std::printf(ctx.raw ? "%x\n" : "VDI ID of newly created clone: %x\n", vid);
  return kExitSuccess;
}

// ---- vdi rollback ---------------------------------------------------------

int vdi_rollback(Context& ctx) {
  const std::string& name = ctx.args[0];
  if (!vdi_opts.snapid && vdi_opts.tag.empty()) {
    err("Please specify the '-s' option");
    return kExitUsage;
  }
  sd::SheepClient* c = client_for(ctx.ep);
  if (!c) {
    report_open_failure(name, sd::Res::Eio);
    return kExitFailure;
  }
  auto snap_vid = sd::lookup_vdi(*c, name, vdi_opts.tag, vdi_opts.snapid);
  if (!snap_vid.ok()) {
    report_open_failure(name, snap_vid.code());
    return kExitFailure;
  }
  auto snap = sd::read_inode_header(*c, *snap_vid);
  if (!snap.ok()) {
    err("Failed to read an inode of %s: %s", name.c_str(), sd::strerror(shown_res(snap.code())));
    return kExitFailure;
  }
  if (!vdi_opts.force) confirm(kRollbackPrompt);

  // The current state goes away; a VDI whose working copy is already
  // deleted simply gets a new one.
  auto cur = sd::lookup_vdi(*c, name);
  if (cur.ok()) {
    auto h = sd::read_inode_header(*c, *cur);
    if (!h.ok() || !delete_vdi(*c, name, "", 0, *cur, *h)) {
      err("Failed to delete the current state");
      return kExitFailure;
    }
  } else if (cur.code() != sd::Res::NoVdi) {
    report_open_failure(name, cur.code());
    return kExitFailure;
  }

  uint32_t vid = 0;
  sd::Status st = new_vdi(*c, name, *snap, *snap_vid, 0, &vid);
  if (!st.ok()) {
    err("Failed to create VDI %s: %s", name.c_str(), sd::strerror(shown_res(st.code())));
    return kExitFailure;
  }
  if (ctx.verbose) std::printf(ctx.raw ? "%x\n" : "New VDI ID of rollbacked VDI: %x\n", vid);
  return kExitSuccess;
}

// ---- vdi resize -----------------------------------------------------------

int vdi_resize(Context& ctx) {
  const std::string& name = ctx.args[0];
  if (ctx.args.size() < 2) {
    err("Please specify the new size for the VDI");
    return kExitUsage;
  }
  uint64_t size = 0;
  if (!sd::parse_size(ctx.args[1].c_str(), &size)) {
    report_invalid_size(ctx.args[1].c_str());
    return kExitUsage;
  }
  sd::SheepClient* c = client_for(ctx.ep);
  if (!c) {
    report_open_failure(name, sd::Res::Eio);
    return kExitFailure;
  }
  auto vid = sd::lookup_vdi(*c, name);
  if (!vid.ok()) {
    report_open_failure(name, vid.code());
    return kExitFailure;
  }
  auto h = sd::read_inode_header(*c, *vid);
  if (!h.ok()) {
    err("Failed to read an inode of %s: %s", name.c_str(), sd::strerror(shown_res(h.code())));
    return kExitFailure;
  }
  if (size < h->vdi_size) {
    err("Shrinking VDIs is not implemented");
    return kExitUsage;
  }
  const uint64_t osz = vdi_object_size(*h);
  if (h->store_policy == 1) {
    const uint64_t max = std::min<uint64_t>(osz * sd::kMaxDataObjs, sd::kMaxVdiSize);
    if (size > max) {
      err("New VDI size is too large This volume's max size is %llu",
          static_cast<unsigned long long>(max));
      return kExitUsage;
    }
  } else {
    const uint64_t max = osz * sd::kInodeDataIndex;
    if (size > max) {
      err("New VDI size is too large. This volume's max size is %llu",
          static_cast<unsigned long long>(max));
      return kExitUsage;
    }
  }
  sd::Status st = c->write_obj(sd::vid_to_vdi_oid(*vid), &size, sizeof(size),
                               uint32_t(offsetof(sd::InodeHeader, vdi_size)));
  if (!st.ok()) {
    err("Failed to update an inode header: %s", sd::strerror(shown_res(st.code())));
    return kExitFailure;
  }
  return kExitSuccess;
}

}  // namespace dog
