// dog vdi object {location|map|dump-inode} and dog vdi track: where the
// objects of a VDI are, now and in every past epoch.
//
// location computes the placement itself with the vnode ring built from
// the bootstrap's node list and asks every node with EXIST whether it holds
// the object. track fetches each epoch's node list with GET_EPOCH and
// computes the placement of that epoch. map prints the inode's allocation
// map; dump-inode prints an inode object file from the local disk.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "client/vdi.h"
#include "oid.h"
#include "proto/inode.h"
#include "ring.h"
#include "client/requests.h"
#include "vdi.h"
#include "vdi_inventory.h"

namespace dog {

namespace {

using ull = unsigned long long;

// The VDI named by ctx.args[0] and -s, with its header; failures print
// upstream's two lines ("Failed to open VDI ..." then the FATAL line).
struct Target {
  uint32_t vid = 0;
  sd::InodeHeader hdr{};
};

bool open_target(const Context& ctx, const char* fatal_fmt, Target* t) {
  const std::string& name = ctx.args[0];
  sd::SheepClient* c = client_for(ctx.ep);
  sd::Res res = sd::Res::Eio;
  if (c) {
    auto vid = sd::lookup_vdi(*c, name, vdi_opts.tag, vdi_opts.snapid);
    if (vid.ok()) {
      auto h = sd::read_inode_header(*c, *vid);
      if (h.ok()) {
        t->vid = *vid;
        t->hdr = *h;
        return true;
      }
      res = h.code();
    } else {
      res = vid.code();
    }
  }
  report_open_failure(name, res);
  err(fatal_fmt, name.c_str());
  return false;
}

// The owner vid of block idx (0: unallocated).
sd::Result<uint32_t> map_entry(const Context& ctx, const Target& t, uint64_t idx) {
  sd::SheepClient* c = client_for(ctx.ep);
  if (!c) return sd::err(sd::Res::Eio);
  if (t.hdr.store_policy == 1) {
    uint32_t found = 0;
    SD_TRY(for_each_allocated(*c, t.vid, t.hdr, [&](uint64_t i, uint32_t owner) {
      if (i == idx) found = owner;
    }));
    return found;
  }
  if (idx >= sd::kInodeDataIndex) return 0u;
  uint32_t owner = 0;
  SD_TRY(c->read_obj(sd::vid_to_vdi_oid(t.vid), &owner, sizeof(owner),
                     uint32_t(sd::inode_map_offset(idx))));
  return owner;
}

std::string hosts_str(const std::vector<sd::SdNode>& nodes, const sd::Placement& p) {
  std::string s;
  for (int i = 0; i < p.count; i++) {
    if (i) s += " ";
    s += sd::node_addr_str(nodes[p.node[i]].nid);
  }
  return s;
}

// ---- vdi object location --------------------------------------------------

int object_location(Context& ctx) {
  if (vdi_opts.has_index && vdi_opts.index > UINT32_MAX) {
    std::printf("The offset is too large!\n");
    return kExitFailure;
  }
  Target t;
  if (!open_target(ctx, "FATAL: no inode objects", &t)) return kExitFailure;
  const int nr_nodes = int(ctx.nodes.size());
  const int copies = t.hdr.nr_copies;
  uint64_t oid = sd::vid_to_vdi_oid(t.vid);
  if (vdi_opts.has_index) {
    auto owner = map_entry(ctx, t, vdi_opts.index);
    if (!owner.ok()) {
      err("Failed to read the inode object 0x%x: %s", t.vid, sd::strerror(shown_res(owner.code())));
      return kExitFailure;
    }
    if (!*owner) {
      std::printf("The inode object 0x%x idx %llu is not allocated\n", t.vid, ull(vdi_opts.index));
      return kExitFailure;
    }
    oid = sd::vid_to_data_oid(*owner, vdi_opts.index);
    std::printf("Looking for the object %016llx (vid 0x%x idx %llu, %u copies) with %d nodes\n\n",
                ull(oid), t.vid, ull(vdi_opts.index), unsigned(copies), nr_nodes);
  } else {
    std::printf("Looking for the inode object 0x%x with %d nodes\n\n", t.vid, nr_nodes);
  }

  for (const auto& n : ctx.nodes) {
    sd::SdReq req = sd::request::exist(oid);
    auto rsp = request(node_endpoint(n), req, nullptr, nullptr);
    bool has = rsp.ok() && sd::Res(rsp->result) == sd::Res::Success;
    if (rsp.ok() && sd::Res(rsp->result) != sd::Res::Success &&
        sd::Res(rsp->result) != sd::Res::NoObj)
      err("Response's result: %s", sd::strerror(sd::Res(rsp->result)));
    std::printf(has ? "%s has the object\n" : "%s doesn't have the object\n",
                sd::node_addr_str(n.nid).c_str());
  }

  if (nr_nodes < copies) {
    std::printf(
        "\nBecause number of nodes (%d) is less than number of copies (%d), the object "
        "should be located at every nodes.\n",
        nr_nodes, copies);
  } else {
    sd::VnodeRing ring(ctx.nodes);
    std::printf("\nAccording to sheepdog algorithm, the object should be located at:\n%s\n",
                hosts_str(ctx.nodes, ring.place(oid, copies)).c_str());
  }
  return kExitSuccess;
}

// ---- vdi object map -------------------------------------------------------

int object_map(Context& ctx) {
  Target t;
  if (!open_target(ctx, "FATAL: %s not found", &t)) return kExitFailure;
  sd::SheepClient* c = client_for(ctx.ep);
  if (!c) return kExitFailure;
  std::printf("Index       VID\n");
  sd::Status st = for_each_allocated(*c, t.vid, t.hdr, [&](uint64_t idx, uint32_t owner) {
    if (!vdi_opts.has_index || idx == vdi_opts.index) std::printf("%08llu %8x\n", ull(idx), owner);
  });
  if (!st.ok()) {
    err("Failed to read the inode object 0x%x: %s", t.vid, sd::strerror(shown_res(st.code())));
    return kExitFailure;
  }
  return kExitSuccess;
}

// ---- vdi object dump-inode ------------------------------------------------

int object_dump_inode(Context& ctx) {
  const std::string& path = ctx.args[0];
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    err("failed to open inode object file: %s", std::strerror(errno));
    return kExitFailure;
  }
  auto inode = std::make_unique<FullInode>();
  std::memset(inode.get(), 0, sizeof(FullInode));
  size_t got = std::fread(inode.get(), 1, sizeof(FullInode), f);
  std::fclose(f);
  if (got < sizeof(sd::InodeHeader)) {
    err("failed to read inode object file: %s", path.c_str());
    return kExitFailure;
  }
  const sd::InodeHeader& h = inode->hdr;
  char name[sd::kMaxVdiLen + 1] = {}, tag[sd::kMaxVdiTagLen + 1] = {};
  std::memcpy(name, h.name, sd::kMaxVdiLen);
  std::memcpy(tag, h.tag, sd::kMaxVdiTagLen);
  std::printf(
      "name: %s\ntag: %s\ncreate_time: %llx\nsnap_ctime: %llx\nvm_clock_nsec: %llx\n"
      "vdi_size: %llu\nvm_state_size: %llu\ncopy_policy: %d\nstore_policy: %d\n"
      "nr_copies: %d\nblock_size_shift: %d\nsnap_id: %u\nvdi_id: %x\nparent_vdi_id: %x\n"
      "btree_counter: %u\n",
      name, tag, ull(h.create_time), ull(h.snap_ctime), ull(h.vm_clock_nsec), ull(h.vdi_size),
      ull(h.vm_state_size), h.copy_policy, h.store_policy, h.nr_copies, h.block_size_shift,
      h.snap_id, h.vdi_id, h.parent_vdi_id, h.btree_counter);
  std::printf("data_vdi_id:\n");
  for (uint64_t i = 0; i < sd::kInodeDataIndex; i++)
    if (inode->data_vdi_id[i]) std::printf("%d: %x\n", int(i), inode->data_vdi_id[i]);
  std::printf("gref:\n");
  for (uint64_t i = 0; i < sd::kInodeDataIndex; i++)
    if (inode->data_vdi_id[i])
      std::printf("%d: %x, %d, %d\n", int(i), inode->data_vdi_id[i], inode->gref[i].generation,
                  inode->gref[i].count);
  return kExitSuccess;
}

}  // namespace

const Subcommand kVdiObjectSubs[] = {
    {"location", nullptr, nullptr, "show object location information", kNeedNodelist | kNeedArg,
     object_location},
    {"map", nullptr, nullptr, "show object map information", kNeedArg, object_map},
    {"dump-inode", nullptr, nullptr, "dump inode information", kNeedArg, object_dump_inode},
};
const size_t kNrVdiObjectSubs = sizeof(kVdiObjectSubs) / sizeof(kVdiObjectSubs[0]);

// ---- vdi track ------------------------------------------------------------

namespace {

// The node list of one epoch (GET_EPOCH), in node order.
sd::Result<std::vector<sd::SdNode>> epoch_nodes(const Context& ctx, uint32_t epoch) {
  std::vector<uint8_t> buf(sd::kMaxNodes * sizeof(sd::SdNode) + sizeof(uint64_t));
  sd::SdReq req = sd::request::epoch_file(epoch, uint32_t(buf.size()));
  auto rsp = request(ctx.ep, req, nullptr, buf.data());
  if (!rsp.ok()) return sd::err(rsp.code());
  if (sd::Res(rsp->result) != sd::Res::Success) return sd::err(sd::Res(rsp->result));
  size_t nr = rsp->data_length >= sizeof(uint64_t)
                  ? (rsp->data_length - sizeof(uint64_t)) / sizeof(sd::SdNode)
                  : 0;
  std::vector<sd::SdNode> nodes(nr);
  if (nr) std::memcpy(nodes.data(), buf.data(), nr * sizeof(sd::SdNode));
  for (auto& n : nodes) std::memset(n.rb, 0, sizeof(n.rb));
  return nodes;
}

}  // namespace

int vdi_track(Context& ctx) {
  if (vdi_opts.has_index && vdi_opts.has_oid) {
    err("Please specify only one of -i and -o");
    return kExitUsage;
  }
  Target t;
  if (!open_target(ctx, "FATAL: no inode objects", &t)) return kExitFailure;
  const int nr_nodes = int(ctx.nodes.size());
  const int copies = t.hdr.nr_copies;
  uint64_t oid = sd::vid_to_vdi_oid(t.vid);
  if (vdi_opts.has_index) {
    if (vdi_opts.index > UINT32_MAX) {
      std::printf("The offset is too large!\n");
      return kExitFailure;
    }
    auto owner = map_entry(ctx, t, vdi_opts.index);
    if (!owner.ok()) {
      err("Failed to read the inode object 0x%x: %s", t.vid, sd::strerror(shown_res(owner.code())));
      return kExitFailure;
    }
    if (!*owner) {
      std::printf("The inode object 0x%x idx %llu is not allocated\n", t.vid, ull(vdi_opts.index));
      return kExitFailure;
    }
    oid = sd::vid_to_data_oid(*owner, vdi_opts.index);
    std::printf("Tracking the object %016llx (the inode vid 0x%x idx %u) with %d nodes\n", ull(oid),
                t.vid, unsigned(vdi_opts.index), nr_nodes);
  } else if (vdi_opts.has_oid) {
    oid = vdi_opts.oid;
    std::printf("Tracking the object %016llx (the inode vid 0x%x) with %d nodes\n", ull(oid), t.vid,
                nr_nodes);
  } else {
    std::printf("Tracking the inode object 0x%x with %d nodes\n", t.vid, nr_nodes);
  }

  // Newest epoch first. Upstream forgets to advance to the next epoch after
  // one with fewer nodes than copies and prints that epoch's block again
  // for every remaining iteration; here every epoch is printed once.
  for (uint32_t e = ctx.epoch; e >= 1; e--) {
    auto nodes = epoch_nodes(ctx, e);
    if (!nodes.ok()) {
      if (nodes.code() != sd::Res::Eio)
        err("Failed to get the node list of epoch %u: %s", e, sd::strerror(nodes.code()));
      continue;
    }
    std::printf(
        "\nobj %016llx locations at epoch %d, copies = %d\n"
        "---------------------------------------------------\n",
        ull(oid), int(e), copies);
    if (int(nodes->size()) < copies) {
      for (const auto& n : *nodes) std::printf("%s\n", sd::node_addr_str(n.nid).c_str());
      continue;
    }
    sd::VnodeRing ring(*nodes);
    sd::Placement p = ring.place(oid, copies);
    for (int i = 0; i < p.count; i++)
      std::printf("%s\n", sd::node_addr_str((*nodes)[p.node[i]].nid).c_str());
  }
  return kExitSuccess;
}

}  // namespace dog
