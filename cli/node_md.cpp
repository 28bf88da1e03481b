// dog node md {info|plug|unplug} and dog node vnodes set: the disks of a
// node and its share of the ring, with upstream's output and messages
// (docs/CLI.md, node md info; docs/PROTOCOL.md §2.2).
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "client/requests.h"
#include "dog.h"
#include "size.h"

namespace dog {

namespace {

// MD_INFO reply: 64 slots of {int32 idx, 4 pad, u64 free, u64 used,
// char path[4096]}, then int32 nr. Our sheep puts disks that failed in
// the slots after nr, idx -1, as "path\0what happened".
constexpr size_t kMdSlots = 64;
struct MdSlot {
  int32_t idx;
  uint32_t pad;
  uint64_t free;
  uint64_t used;
  char path[4096];
};
static_assert(sizeof(MdSlot) == 4120);
constexpr size_t kMdInfoSize = kMdSlots * sizeof(MdSlot) + 8;

// Failures of vnodes set exit 255 (upstream returns -1 from main).
constexpr int kExitMinusOne = 255;

// Prints one node's disks; false (after the message) when it failed.
bool print_md(Context& ctx, const sd::Endpoint& ep, const std::string& host) {
  std::vector<char> buf(kMdInfoSize);
  auto rsp = request(ep, sd::request::md_info(uint32_t(kMdInfoSize)), nullptr, buf.data());
  if (!rsp.ok()) return false;
  if (sd::Res(rsp->result) != sd::Res::Success) {
    err("failed to get multi-disk information: %s", sd::strerror(sd::Res(rsp->result)));
    return false;
  }
  int32_t nr;
  std::memcpy(&nr, buf.data() + kMdSlots * sizeof(MdSlot), sizeof(nr));
  if (nr < 0 || size_t(nr) > kMdSlots) nr = 0;
  for (int i = 0; i < nr; i++) {
    MdSlot d;
    std::memcpy(&d, buf.data() + size_t(i) * sizeof(MdSlot), sizeof(d));
    d.path[sizeof(d.path) - 1] = 0;
    uint64_t size = d.free + d.used;
    int pct = size ? int(double(d.used) / double(size) * 100) : 0;
    std::string s = sd::format_size(size, ctx.raw);
    std::string u = sd::format_size(d.used, ctx.raw);
    std::string f = sd::format_size(d.free, ctx.raw);
    if (ctx.raw)
      std::printf("%s %d %s %s %s %d%% %s\n", host.c_str(), d.idx, s.c_str(), u.c_str(), f.c_str(),
                  pct, d.path);
    else
      std::printf("%2d\t%s\t%s\t%s\t%3d%%\t%s\n", d.idx, s.c_str(), u.c_str(), f.c_str(), pct,
                  d.path);
  }
  // Ours: disks taken out after an error, and why.
  for (size_t i = size_t(nr); i < kMdSlots; i++) {
    MdSlot d;
    std::memcpy(&d, buf.data() + i * sizeof(MdSlot), sizeof(d));
    if (d.idx != -1 || !d.path[0]) break;
    d.path[sizeof(d.path) - 1] = 0;
    size_t plen = std::strlen(d.path);
    const char* why = plen + 1 < sizeof(d.path) ? d.path + plen + 1 : "";
    if (ctx.raw)
      std::printf("%s failed %s %s\n", host.c_str(), d.path, why);
    else
      std::printf(" -\tfailed\t%s\t%s\n", d.path, why);
  }
  return true;
}

int md_info(Context& ctx) {
  if (!ctx.raw) std::printf("Id\tSize\tUsed\tAvail\tUse%%\tPath\n");
  if (!node_all_option())
    return print_md(ctx, ctx.ep, ctx.ep.host + ":" + std::to_string(ctx.ep.port)) ? kExitSuccess : kExitFailure;
  for (size_t i = 0; i < ctx.nodes.size(); i++) {
    sd::Endpoint ep = node_endpoint(ctx.nodes[i]);
    if (!ctx.raw) std::printf("Node %d:\n", int(i));
    if (!print_md(ctx, ep, ep.host + ":" + std::to_string(ep.port))) return kExitFailure;
  }
  return kExitSuccess;
}

int md_change(Context& ctx, bool plug) {
  const std::string& paths = ctx.args[0];
  if (paths.empty()) {
    print_subcommand_usage(ctx);
    return kExitUsage;
  }
  if (!node_force_option())
    confirm(plug ? "    __\n   ()'`;\n   /\\|`\n  /  |   Caution! The directories to be plugged "
                   "will be purged.\n(/_)_|_  Are you sure you want to continue? [yes/no]: "
                 : "    __\n   ()'`;\n   /\\|`\n  /  |   Caution! Recovery will be triggered "
                   "after unplugging.\n(/_)_|_  Are you sure you want to continue? [yes/no]: ");
  auto rsp = request(ctx.ep, sd::request::md_plug(plug, uint32_t(paths.size() + 1)),
                     paths.c_str(), nullptr);
  if (!rsp.ok()) return kExitSysfail;
  if (sd::Res(rsp->result) != sd::Res::Success) {
    err("Failed to execute request, look for sheep.log for more information");
    return kExitFailure;
  }
  return kExitSuccess;
}

int md_plug(Context& ctx) { return md_change(ctx, true); }
int md_unplug(Context& ctx) { return md_change(ctx, false); }

int vnodes_set(Context& ctx) {
  const char* text = ctx.args[0].c_str();
  uint64_t n = 0;
  if (!sd::parse_u64(text, 65535, &n) || n < 1) {
    err("Invalid number of vnodes '%s': must be an integer between 1 and 65535", text);
    return kExitUsageQuiet;
  }
  uint64_t payload = n;  // little-endian: the int32 first
  auto rsp = request(ctx.ep, sd::request::set_vnodes(), &payload, nullptr);
  if (!rsp.ok() || sd::Res(rsp->result) != sd::Res::Success) {
    err("Failed to execute request");
    return kExitMinusOne;
  }
  return kExitSuccess;
}

}  // namespace

const Subcommand kNodeMdSubs[] = {
    {"info", nullptr, nullptr, "show multi-disk information", kNeedNodelist, md_info},
    {"plug", nullptr, nullptr, "plug more disk(s) into node", kNeedArg, md_plug},
    {"unplug", nullptr, nullptr, "unplug disk(s) from node", kNeedArg, md_unplug},
};
const size_t kNrNodeMdSubs = sizeof(kNodeMdSubs) / sizeof(kNodeMdSubs[0]);

const Subcommand kNodeVnodesSubs[] = {
    {"set", nullptr, nullptr, "set new vnodes", kNeedArg, vnodes_set},
};
const size_t kNrNodeVnodesSubs = sizeof(kNodeVnodesSubs) / sizeof(kNodeVnodesSubs[0]);

}  // namespace dog
