// dog vdi: the option table and subcommand table of the group, and the
// create, list and delete subcommands (the others are in the vdi_*.cpp
// files listed in vdi.h).
#include "client/requests.h"
#include "vdi.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <vector>

#include "client/vdi.h"
#include "client/vdi_locks.h"
#include "oid.h"
#include "proto/inode.h"
#include "size.h"
#include "vdi_inventory.h"

namespace dog {

VdiOptions vdi_opts;

void report_open_failure(const std::string& name, sd::Res res) {
  err("Failed to open VDI %s (snapshot id: %d snapshot tag: %s): %s", name.c_str(),
      int(vdi_opts.snapid), vdi_opts.tag.c_str(), sd::strerror(shown_res(res)));
}

sd::Result<std::unique_ptr<FullInode>> read_full_inode(sd::SheepClient& c, uint32_t vid) {
  auto inode = std::make_unique<FullInode>();
  SD_TRY(c.read_obj(sd::vid_to_vdi_oid(vid), inode.get(), sizeof(FullInode), 0));
  return inode;
}

sd::Result<uint32_t> open_vdi_id(sd::SheepClient& c, const std::string& name,
                                 const std::string& tag, uint32_t snapid) {
  auto vid = sd::lookup_vdi(c, name, tag, snapid);
  if (!vid.ok()) {
    err("Failed to open VDI %s (snapshot id: %d snapshot tag: %s): %s", name.c_str(), int(snapid),
        tag.c_str(), sd::strerror(shown_res(vid.code())));
  }
  return vid;
}

namespace {

const OptionDesc kVdiOptions[] = {
    {'P', "prealloc", false, "preallocate all the data objects"},
    {'y', "hyper", false, "create a hyper volume"},
    {'c', "copies", true, "specify the data redundancy level"},
    {'z', "block_size_shift", true, "specify the bit shift num for data object size"},
    {'s', "snapshot", true, "specify a snapshot id or tag name"},
    {'o', "oid", true, "specify the object id of the tracking object"},
    {'B', "nr-batched-reclamation", true, "specify a number of inode entries released per write"},
    {'I', "reclamation-interval", true, "specify an interval in seconds between batches"},
    {'m', "max-reclamation", true, "specify the maximum number of objects to release"},
    {'w', "writeback", false, "use writeback mode"},
    {'i', "index", true, "specify the index of data objects"},
    {'n', "no-share", false, "share nothing with its parent"},
    {'x', "exclusive", false, "write in an exclusive mode"},
    {'d', "delete", false, "delete a key"},
    {'F', "from", true, "create a differential backup from the snapshot"},
    {'f', "force", false, "do operation forcibly"},
    {'e', "exist", false,
     "only check objects exist or not,\n"
     "                          neither comparing nor repairing"},
    {'R', "reduce-identical-snapshots", false,
     "do not create snapshot if working VDI doesn't have its own objects"},
    {0, nullptr, false, nullptr},
};

bool parse_positive(const char* text, uint64_t* out) {
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(text, &end, 10);
  if (end == text || *end || errno || v <= 0) return false;
  *out = uint64_t(v);
  return true;
}

int parse_vdi_option(int ch, const char* arg) {
  uint64_t v = 0;
  switch (ch) {
    case 'P':
      vdi_opts.prealloc = true;
      break;
    case 'y':
      if (vdi_opts.block_size_shift) {
        err("Don't specify both -y and -z options, please");
        return kExitFailure;
      }
      vdi_opts.hyper = true;
      break;
    case 'c':
      if (!parse_copies(arg, &vdi_opts.copies, &vdi_opts.copy_policy)) return kExitFailure;
      break;
    case 'z':
      if (vdi_opts.hyper) {
        err("Don't specify both -y and -z options, please");
        return kExitFailure;
      }
      if (!parse_block_size_shift(arg, &vdi_opts.block_size_shift)) return kExitFailure;
      break;
    case 's':
      if (!parse_snapshot(arg, &vdi_opts.snapid, &vdi_opts.tag)) return kExitFailure;
      break;
    case 'o': {
      char* end = nullptr;
      errno = 0;
      vdi_opts.oid = std::strtoull(arg, &end, 16);
      if (end == arg || *end || errno) {
        err("object id must be a hex integer");
        return kExitFailure;
      }
      vdi_opts.has_oid = true;
      break;
    }
    case 'B':
      if (!parse_positive(arg, &v) || v > UINT32_MAX) {
        err("The number of batched reclamation is invalid: %s", arg);
        return kExitFailure;
      }
      vdi_opts.batch = uint32_t(v);
      break;
    case 'I':
      if (!parse_positive(arg, &v) || v > UINT32_MAX) {
        err("The interval of batched reclamation is invalid: %s", arg);
        return kExitFailure;
      }
      vdi_opts.interval = uint32_t(v);
      break;
    case 'm':
      if (!parse_positive(arg, &v)) {
        err("The max number of reclamation is invalid: %s", arg);
        return kExitFailure;
      }
      vdi_opts.max_reclaim = v;
      break;
    case 'w':
      vdi_opts.writeback = true;
      break;
    case 'i': {
      char* end = nullptr;
      errno = 0;
      bool hex = arg[0] == '0' && (arg[1] == 'x' || arg[1] == 'X');
      unsigned long long idx = std::strtoull(hex ? arg + 2 : arg, &end, hex ? 16 : 10);
      if (end == (hex ? arg + 2 : arg) || *end || errno || arg[0] == '-') {
        err("The index must be a decimal integer or a hexadecimal integer started with 0x");
        return kExitFailure;
      }
      vdi_opts.index = idx;
      vdi_opts.has_index = true;
      break;
    }
    case 'n':
      vdi_opts.no_share = true;
      break;
    case 'x':
      vdi_opts.exclusive = true;
      break;
    case 'd':
      vdi_opts.del = true;
      break;
    case 'F':
      if (!parse_snapshot(arg, &vdi_opts.from_snapid, &vdi_opts.from_tag)) return kExitFailure;
      vdi_opts.has_from = true;
      break;
    case 'f':
      vdi_opts.force = true;
      break;
    case 'e':
      vdi_opts.exist_only = true;
      break;
    case 'R':
      vdi_opts.reduce = true;
      break;
  }
  return kExitSuccess;
}

// The connection to the -a/-p sheep, or Eio (already reported).
sd::Result<sd::SheepClient*> main_client(const Context& ctx) {
  sd::SheepClient* c = client_for(ctx.ep);
  if (!c) return sd::err(sd::Res::Eio);
  return c;
}

// ---- vdi create -----------------------------------------------------------

// Allocates every data object of a new flat VDI and points its inode at
// them, as -P asks.
sd::Status preallocate(sd::SheepClient& c, uint32_t vid, uint64_t size, uint8_t shift) {
  const uint64_t osz = 1ull << shift;
  const uint64_t nr = std::min<uint64_t>((size + osz - 1) / osz, sd::kInodeDataIndex);
  for (uint64_t idx = 0; idx < nr; idx++) {
    uint64_t oid = sd::vid_to_data_oid(vid, idx);
    sd::Status st = c.create_and_write_obj(oid, nullptr, 0, 0);
    if (st.ok())
      st = sd::set_map_entry(c, vid, idx, vid);
    if (!st.ok()) {
      err("Failed to write object %016llx: %s", static_cast<unsigned long long>(oid),
          sd::strerror(shown_res(st.code())));
      return st;
    }
  }
  return {};
}

int vdi_create(Context& ctx) {
  const std::string& name = ctx.args[0];
  if (ctx.args.size() < 2) {
    err("Please specify the VDI size");
    return kExitUsage;
  }
  uint64_t size = 0;
  if (!sd::parse_size(ctx.args[1].c_str(), &size)) {
    report_invalid_size(ctx.args[1].c_str());
    return kExitUsage;
  }

  uint8_t shift = vdi_opts.block_size_shift;
  if (!shift && !vdi_opts.hyper) {
    auto cinfo = std::make_unique<sd::ClusterInfo>();
    sd::SdReq req = sd::request::cluster_info();
    auto rsp = request(ctx.ep, req, nullptr, cinfo.get());
    if (!rsp.ok()) return kExitSysfail;
    if (sd::Res(rsp->result) != sd::Res::Success) {
      err("Failed to create VDI %s: %s", name.c_str(), sd::strerror(sd::Res(rsp->result)));
      return kExitFailure;
    }
    if (cinfo->ctime == 0) {
      err("Failed to create VDI %s: %s", name.c_str(), sd::strerror(sd::Res::WaitForFormat));
      return kExitFailure;
    }
    shift = cinfo->block_size_shift;
  }
  if (!shift) shift = sd::kDefaultBlockSizeShift;

  const uint64_t max_flat = (1ull << shift) * sd::kInodeDataIndex;
  if (!vdi_opts.hyper && size > max_flat) {
    err("VDI size is larger than %s bytes, please use '-y' to create a hyper volume with size "
        "up to %s bytes or use '-z' to create larger object size volume",
        sd::format_size(max_flat).c_str(), sd::format_size(sd::kMaxVdiSize).c_str());
    return kExitUsage;
  }
  if (size > sd::kMaxVdiSize) {
    err("VDI size is too large");
    return kExitUsage;
  }

  auto c = main_client(ctx);
  if (!c.ok()) return kExitSysfail;
  char buf[sd::kMaxVdiLen] = {};
  std::memcpy(buf, name.c_str(), std::min(name.size(), sizeof(buf) - 1));
  sd::request::NewVdi nv;
  nv.size = size;
  nv.copies = vdi_opts.copies;
  nv.copy_policy = vdi_opts.copy_policy;
  nv.store_policy = vdi_opts.hyper ? 1 : 0;
  nv.block_size_shift = shift;
  sd::SdReq req = sd::request::new_vdi(nv);
  sd::SdRsp rsp{};
  sd::Status st = (*c)->exec(req, buf, nullptr, &rsp);
  if (!st.ok()) {
    err("Failed to create VDI %s: %s", name.c_str(), sd::strerror(shown_res(st.code())));
    return kExitFailure;
  }
  uint32_t vid = rsp.vdi.vdi_id;

  if (vdi_opts.prealloc) {
    if (vdi_opts.hyper) {
      err("Failed to create VDI %s: %s", name.c_str(), sd::strerror(sd::Res::NoSupport));
      return kExitFailure;
    }
    if (!preallocate(**c, vid, size, shift).ok()) return kExitFailure;
  }
  if (ctx.verbose) std::printf(ctx.raw ? "%x\n" : "VDI ID of newly created VDI: %x\n", vid);
  return kExitSuccess;
}

// ---- vdi list -------------------------------------------------------------

// Raw names escape whitespace and backslashes with a backslash.
std::string escape_raw(const char* s) {
  std::string out;
  for (; *s; s++) {
    if (std::isspace(static_cast<unsigned char>(*s)) || *s == '\\') out += '\\';
    out += *s;
  }
  return out;
}

void print_vdi_row(const Context& ctx, uint32_t vid, const sd::InodeHeader& h, uint64_t used,
                   uint64_t shared) {
  bool snapshot = sd::inode_is_snapshot(h);
  char type = ctx.raw ? '=' : ' ';
  if (snapshot)
    type = 's';
  else if (h.snap_id == 1 && h.parent_vdi_id != 0)
    type = 'c';
  char name[sd::kMaxVdiLen + 1] = {}, tag[sd::kMaxVdiTagLen + 1] = {};
  std::memcpy(name, h.name, sd::kMaxVdiLen);
  std::memcpy(tag, h.tag, sd::kMaxVdiTagLen);
  int snapid = snapshot ? int(h.snap_id) : 0;
  std::string copies = copies_str(h.nr_copies, h.copy_policy);
  std::string sz = sd::format_size(h.vdi_size, ctx.raw);
  std::string us = sd::format_size(used, ctx.raw);
  std::string sh = sd::format_size(shared, ctx.raw);
  time_t ct = time_t(h.create_time >> 32);
  char when[64];
  if (ctx.raw) {
    std::snprintf(when, sizeof(when), "%llu", static_cast<unsigned long long>(ct));
    std::printf("%c %s %d %s %s %s %s %x %s %s %u\n", type, escape_raw(name).c_str(), snapid,
                sz.c_str(), us.c_str(), sh.c_str(), when, vid, copies.c_str(), tag,
                unsigned(h.block_size_shift));
  } else {
    struct tm tm;
    localtime_r(&ct, &tm);
    std::strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
    std::printf("%c %-8s %5d %7s %7s %7s %s  %7x %6s %13s %3u\n", type, name, snapid, sz.c_str(),
                us.c_str(), sh.c_str(), when, vid, copies.c_str(), tag,
                unsigned(h.block_size_shift));
  }
}

int vdi_list(Context& ctx) {
  const char* filter = ctx.args.empty() ? nullptr : ctx.args[0].c_str();
  if (!ctx.raw)
    std::printf(
        "  Name        Id    Size    Used  Shared    Creation time   VDI id  Copies  Tag   "
        "Block Size Shift\n");
  sd::Status st = for_each_vdi(ctx.ep, [&](uint32_t vid, const InodeHead& head) {
    const sd::InodeHeader& h = head.hdr;
    if (filter && std::strncmp(h.name, filter, sd::kMaxVdiLen) != 0) return;
    sd::SheepClient* c = client_for(ctx.ep);
    if (!c) return;
    const uint64_t osz = vdi_object_size(h);
    const uint32_t oid_vid = sd::oid_to_vid(vdi_opts.oid);
    const uint64_t oid_idx = sd::data_oid_to_idx(vdi_opts.oid);
    uint64_t used = 0, shared = 0;
    bool owns_oid = false;
    sd::Status ast = for_each_allocated(*c, vid, h, [&](uint64_t idx, uint32_t owner) {
      if (owner == vid)
        used += osz;
      else
        shared += osz;
      if (idx == oid_idx && owner == oid_vid) owns_oid = true;
    });
    if (!ast.ok()) {
      err("Failed to read object %016llx %s",
          static_cast<unsigned long long>(sd::vid_to_vdi_oid(vid)),
          sd::strerror(shown_res(ast.code())));
      return;
    }
    if (vdi_opts.has_oid && !owns_oid) return;
    print_vdi_row(ctx, vid, h, used, shared);
  });
  return st.ok() ? kExitSuccess : kExitSysfail;
}

// ---- vdi delete -----------------------------------------------------------

// Zeroes the VDI's allocated inode entries so the server releases the data
// objects, batch by batch: each write covers the span from one non-zero
// entry to the last of up to `batch` non-zero entries. Returns false if the
// inode must be left in place (-m reached or a write failed).
bool release_data_objects(sd::SheepClient& c, const std::string& name, uint32_t vid,
                          const sd::InodeHeader& h) {
  if (h.store_policy != 0) return true;  // hyper volumes: the server drops the tree
  const uint64_t nr = std::min<uint64_t>(vdi_object_count(h), sd::kInodeDataIndex);
  if (nr == 0) return true;
  std::vector<uint32_t> map(nr);
  sd::Status st = c.read_obj(sd::vid_to_vdi_oid(vid), map.data(), uint32_t(nr * 4),
                             uint32_t(sd::inode_map_offset(0)));
  if (!st.ok()) {
    err("Failed to delete %s: %s", name.c_str(), sd::strerror(shown_res(st.code())));
    return false;
  }
  uint64_t released = 0;
  std::vector<uint32_t> zeros;
  uint64_t idx = 0;
  bool first_batch = true;
  while (idx < nr) {
    while (idx < nr && !map[idx]) idx++;
    if (idx >= nr) break;
    uint64_t start = idx, last = idx, count = 0;
    while (idx < nr && count < vdi_opts.batch) {
      if (vdi_opts.max_reclaim && released + count >= vdi_opts.max_reclaim) break;
      if (map[idx]) {
        last = idx;
        count++;
      }
      idx++;
    }
    if (count == 0) return false;  // -m reached
    if (!first_batch && vdi_opts.interval) sleep(vdi_opts.interval);
    first_batch = false;
    uint64_t n = last - start + 1;
    zeros.assign(n, 0);
    st = c.write_obj(sd::vid_to_vdi_oid(vid), zeros.data(), uint32_t(n * 4),
                     uint32_t(sd::inode_map_offset(start)));
    if (!st.ok()) {
      err("Failed to delete %s: %s", name.c_str(), sd::strerror(shown_res(st.code())));
      return false;
    }
    released += count;
    idx = last + 1;
    if (vdi_opts.max_reclaim && released >= vdi_opts.max_reclaim) {
      for (uint64_t i = idx; i < nr; i++)
        if (map[i]) return false;  // objects remain: keep the inode
      return true;
    }
  }
  return true;
}

int vdi_delete(Context& ctx) {
  const std::string& name = ctx.args[0];
  auto c = main_client(ctx);
  if (!c.ok()) {
    report_open_failure(name, sd::Res::Eio);
    return kExitSuccess;
  }
  auto vid = sd::lookup_vdi(**c, name, vdi_opts.tag, vdi_opts.snapid);
  if (!vid.ok()) {
    report_open_failure(name, vid.code());
    return kExitSuccess;
  }
  auto h = sd::read_inode_header(**c, *vid);
  if (!h.ok()) {
    err("Failed to delete %s: %s", name.c_str(), sd::strerror(shown_res(h.code())));
    return kExitSuccess;
  }
  delete_vdi(**c, name, vdi_opts.tag, vdi_opts.snapid, *vid, *h);
  return kExitSuccess;
}

const Subcommand kVdiSubs[] = {
    {"check", "<vdiname>", "seaphT", "check and repair image's consistency",
     kNeedNodelist | kNeedArg, vdi_check},
    {"create", "<vdiname> <size>", "PycaphrvzT", "create an image", kNeedNodelist | kNeedArg,
     vdi_create},
    {"snapshot", "<vdiname>", "saphrvTR", "create a snapshot", kNeedArg, vdi_snapshot},
    {"clone", "<src vdi> <dst vdi>", "sPnaphrvT", "clone an image", kNeedArg, vdi_clone},
    {"delete", "<vdiname>", "saphTBIm", "delete an image", kNeedArg, vdi_delete},
    {"rollback", "<vdiname>", "saphfrvTBI", "rollback to a snapshot", kNeedArg, vdi_rollback},
    {"list", "[vdiname]", "aprhoT", "list images", 0, vdi_list},
    {"tree", nullptr, "aphT", "show images in tree view format", 0, vdi_tree},
    {"graph", nullptr, "aphT", "show images in Graphviz dot format", 0, vdi_graph},
    {"object", "<vdiname>", "isaphT", "show object information in the image", kNeedArg, run_nested,
     kVdiObjectSubs, kNrVdiObjectSubs},
    {"track", "<vdiname>", "isaphoT", "show the object epoch trace in the image",
     kNeedNodelist | kNeedArg, vdi_track},
    {"setattr", "<vdiname> <key> [value]", "dxaphT", "set a VDI attribute", kNeedArg, vdi_setattr},
    {"getattr", "<vdiname> <key>", "aphT", "get a VDI attribute", kNeedArg, vdi_getattr},
    {"resize", "<vdiname> <new size>", "aphT", "resize an image", kNeedArg, vdi_resize},
    {"read", "<vdiname> [<offset> [<len>]]", "saphT", "read data from an image", kNeedArg,
     vdi_read},
    {"write", "<vdiname> [<offset> [<len>]]", "apwhT", "write data to an image", kNeedArg,
     vdi_write},
    {"backup", "<vdiname> <backup>", "sFaphT",
     "create an incremental backup between two snapshots and outputs to STDOUT", kNeedArg,
     vdi_backup},
    {"restore", "<vdiname> <backup>", "saphTBI",
     "restore snapshot images from a backup provided in STDIN", kNeedArg, vdi_restore},
    {"alter-copy", "<vdiname>", "caphTf", "set the vdi's redundancy level",
     kNeedNodelist | kNeedArg, vdi_alter_copy},
    {"lock", nullptr, "saphT", "See 'dog vdi lock' for more information", kNeedArg, run_nested,
     kVdiLockSubs, kNrVdiLockSubs},
};

}  // namespace

bool delete_vdi(sd::SheepClient& c, const std::string& name, const std::string& tag,
                uint32_t snapid, uint32_t vid, const sd::InodeHeader& h) {
  // A VDI a client holds the lock of is served: the sheep refuses to
  // delete it (and its data) until the lock is broken. Say who holds it.
  if (auto states = sd::get_vdi_states(c); states.ok()) {
    for (const auto& s : *states) {
      if (s.vid != vid || s.lock_state == sd::kVdiUnlocked) continue;
      err("Failed to delete %s: %s", name.c_str(), sd::strerror(sd::Res::VdiLocked));
      err("VDI %s is locked by %s: it is being served. Stop that writer, or break its lock "
          "first with: dog vdi lock unlock %s",
          name.c_str(), sd::lock_holder_str(c, vid).c_str(), name.c_str());
      return false;
    }
  }
  if (!release_data_objects(c, name, vid, h)) return false;
  char buf[sd::kMaxVdiLen + sd::kMaxVdiTagLen] = {};
  std::memcpy(buf, name.c_str(), std::min(name.size(), sd::kMaxVdiLen - 1));
  std::memcpy(buf + sd::kMaxVdiLen, tag.c_str(), std::min(tag.size(), sd::kMaxVdiTagLen - 1));
  sd::SdReq req = sd::request::del_vdi(snapid, sizeof(buf));
  sd::Status st = c.exec(req, buf, nullptr);
  if (!st.ok()) {
    err("Failed to delete %s: %s", name.c_str(), sd::strerror(shown_res(st.code())));
    return false;
  }
  return true;
}

const Command kVdiCommand = {"vdi", kVdiSubs, sizeof(kVdiSubs) / sizeof(kVdiSubs[0]), kVdiOptions,
                             parse_vdi_option};

sd::Status new_vdi(sd::SheepClient& c, const std::string& name, const sd::InodeHeader& h,
                   uint32_t base, uint32_t snapid, uint32_t* new_vid) {
  char buf[sd::kMaxVdiLen] = {};
  std::memcpy(buf, name.c_str(), std::min(name.size(), sizeof(buf) - 1));
  sd::request::NewVdi nv;
  nv.size = h.vdi_size;
  nv.base_vid = base;
  nv.copies = h.nr_copies;
  nv.copy_policy = h.copy_policy;
  nv.store_policy = h.store_policy;
  nv.block_size_shift = h.block_size_shift;
  nv.snapid = snapid;
  sd::SdReq req = sd::request::new_vdi(nv);
  sd::SdRsp rsp{};
  SD_TRY(c.exec(req, buf, nullptr, &rsp));
  *new_vid = rsp.vdi.vdi_id;
  return {};
}

}  // namespace dog
