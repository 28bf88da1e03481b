// dog node: list and info.
//
// Both need the node list from the bootstrap. node info asks every node for
// its store size and free space (STAT_SHEEP) and then sums the sizes of the
// working (non-snapshot) VDIs for "Total virtual image size".
#include <cstdio>

#include "dog.h"
#include "size.h"
#include "vdi_inventory.h"

namespace dog {

namespace {

// ---- node list ------------------------------------------------------------

int node_list(Context& ctx) {
  if (!ctx.raw) std::printf("  Id   Host:Port         V-Nodes       Zone\n");
  for (size_t i = 0; i < ctx.nodes.size(); i++) {
    const sd::SdNode& n = ctx.nodes[i];
    std::string host = sd::node_addr_str(n.nid);
    if (ctx.raw)
      std::printf("%d %s %d %u\n", int(i), host.c_str(), n.nr_vnodes, n.zone);
    else
      std::printf("%4d   %-20s\t%2d%11u\n", int(i), host.c_str(), n.nr_vnodes, n.zone);
  }
  return kExitSuccess;
}

// ---- node info ------------------------------------------------------------

int used_percent(uint64_t size, uint64_t free) {
  if (size == 0) return 0;
  return int(double(size - free) / double(size) * 100);
}

int node_info(Context& ctx) {
  if (!ctx.raw) std::printf("Id\tSize\tUsed\tAvail\tUse%%\n");
  uint64_t total_size = 0, total_free = 0;
  int answered = 0;
  for (size_t i = 0; i < ctx.nodes.size(); i++) {
    sd::SdReq req = sd::make_req(sd::kOpStatSheep);
    auto rsp = request(node_endpoint(ctx.nodes[i]), req, nullptr, nullptr);
    if (!rsp.ok()) continue;
    if (sd::Res(rsp->result) != sd::Res::Success) {
      err("Response's result: %s", sd::strerror(sd::Res(rsp->result)));
      continue;
    }
    uint64_t size = rsp->node.store_size, free = rsp->node.store_free;
    std::string s = sd::format_size(size, ctx.raw);
    std::string u = sd::format_size(size - free, ctx.raw);
    std::string f = sd::format_size(free, ctx.raw);
    std::printf(ctx.raw ? "%d %s %s %s %d%%\n" : "%2d\t%s\t%s\t%s\t%3d%%\n", int(i), s.c_str(),
                u.c_str(), f.c_str(), used_percent(size, free));
    answered++;
    total_size += size;
    total_free += free;
  }
  if (answered == 0) {
    err("Cannot get information from any nodes");
    return kExitSysfail;
  }

  uint64_t image_size = 0;
  sd::Status st = for_each_vdi(ctx.ep, [&](uint32_t, const InodeHead& head) {
    if (!sd::inode_is_snapshot(head.hdr)) image_size += head.hdr.vdi_size;
  });
  if (!st.ok()) return kExitSysfail;

  std::string s = sd::format_size(total_size, ctx.raw);
  std::string u = sd::format_size(total_size - total_free, ctx.raw);
  std::string f = sd::format_size(total_free, ctx.raw);
  std::string v = sd::format_size(image_size, ctx.raw);
  int pct = used_percent(total_size, total_free);
  if (ctx.raw)
    std::printf("Total %s %s %s %d%% %s\n", s.c_str(), u.c_str(), f.c_str(), pct, v.c_str());
  else
    std::printf("Total\t%s\t%s\t%s\t%3d%%\n\nTotal virtual image size\t%s\n", s.c_str(),
                u.c_str(), f.c_str(), pct, v.c_str());
  return kExitSuccess;
}

const Subcommand kNodeSubs[] = {
    {"list", nullptr, "aprhT", "list nodes", kNeedNodelist, node_list},
    {"info", nullptr, "aprhT", "show information about each node", kNeedNodelist, node_info},
};

}  // namespace

const Command kNodeCommand = {"node", kNodeSubs, sizeof(kNodeSubs) / sizeof(kNodeSubs[0]),
                              nullptr, nullptr};

}  // namespace dog
