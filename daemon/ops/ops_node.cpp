// Node handlers: the disks of this node (MD_INFO, MD_PLUG, MD_UNPLUG),
// its share of the ring (REWEIGHT, SET_VNODES, GET_VNODES) and its request
// counters (STAT). Formats and results follow upstream (docs/PROTOCOL.md
// §2.2, §3.7, §9.6).
#include <algorithm>
#include <cinttypes>
#include <cstring>

#include "base/log.h"
#include "ops/ops.h"
#include "peers/peer_calls.h"
#include "proto/scrub.h"
#include "sheep.h"

namespace sd::ops {

namespace {

// sd_md_info: 64 slots of {int32 idx, 4 pad, u64 free, u64 used,
// char path[4096]}, then int32 nr.
constexpr size_t kMdSlots = 64;
constexpr size_t kMdPathLen = 4096;
struct MdSlot {
  int32_t idx;
  uint32_t pad;
  uint64_t free;
  uint64_t used;
  char path[kMdPathLen];
};
static_assert(sizeof(MdSlot) == 4120);
constexpr size_t kMdInfoSize = kMdSlots * sizeof(MdSlot) + 8;  // 263,688

// Capacity changes under 1% are not worth an epoch (upstream's rule).
bool changed_enough(uint64_t old_space, uint64_t new_space) {
  if (!old_space) return new_space != 0;
  uint64_t diff = old_space > new_space ? old_space - new_space : new_space - old_space;
  return diff * 100 >= old_space;
}

}  // namespace

// The disks in use, by path; disks that failed follow in the slots after
// nr with idx -1 and "path\0what happened" (upstream readers stop at nr).
Res md_info(Sheep& s, Request& r) {
  if (r.hdr.data_length < kMdInfoSize) return Res::InvalidParms;
  char* buf = r.reply_buffer(uint32_t(kMdInfoSize));
  std::memset(buf, 0, kMdInfoSize);
  auto disks = s.store.disk_info();
  std::sort(disks.begin(), disks.end(),
            [](const auto& a, const auto& b) { return std::strcmp(a.path.c_str(), b.path.c_str()) < 0; });
  size_t nr = std::min(disks.size(), kMdSlots);
  for (size_t i = 0; i < nr; i++) {
    MdSlot slot{};
    slot.idx = int32_t(i);
    slot.free = disks[i].free;
    slot.used = disks[i].used;
    std::snprintf(slot.path, sizeof(slot.path), "%s", disks[i].path.c_str());
    std::memcpy(buf + i * sizeof(MdSlot), &slot, sizeof(slot));
  }
  size_t next = nr;
  for (const auto& f : s.store.failed_disks()) {
    if (next >= kMdSlots) break;
    MdSlot slot{};
    slot.idx = -1;
    size_t n = std::min(f.path.size(), kMdPathLen - 2);
    std::memcpy(slot.path, f.path.data(), n);
    std::snprintf(slot.path + n + 1, kMdPathLen - n - 1, "%s", f.why.c_str());
    std::memcpy(buf + next * sizeof(MdSlot), &slot, sizeof(slot));
    next++;
  }
  int32_t n32 = int32_t(nr);
  std::memcpy(buf + kMdSlots * sizeof(MdSlot), &n32, 4);
  return Res::Success;
}

static Res md_change(Sheep& s, Request& r, bool plug) {
  if (!r.is_write() || r.data_length() == 0) return Res::InvalidParms;
  // It names directories of this host, which are purged and filled: only
  // from this host, or from a connection that proved the cluster key.
  if (!r.host_admin) {
    sd_err("md %s refused from %s: only from this host, or with the cluster key",
           plug ? "plug" : "unplug", r.peer.c_str());
    return Res::Unknown;
  }
  std::string paths(r.data(), strnlen(r.data(), r.data_length()));
  if (paths.empty()) return Res::InvalidParms;
  // Unknown, as upstream, when no disk was added or removed.
  Res res = plug ? s.store.plug(paths) : s.store.unplug(paths);
  return res == Res::Success ? res : Res::Unknown;
}

Res md_plug(Sheep& s, Request& r) { return md_change(s, r, true); }
Res md_unplug(Sheep& s, Request& r) { return md_change(s, r, false); }

// Every node's space measured again (free plus used, as STAT_SHEEP has
// it); each node whose space moved by 1% or more gets its own epoch.
Res reweight(Sheep& s, Request&) {
  if (!s.group.running()) return Res::WaitForFormat;
  std::vector<Group::NodeUpdate> updates;
  for (const SdNode& n : s.group.members()) {
    if (n.nr_vnodes == 0) continue;  // a gateway holds nothing
    uint64_t size = 0, free = 0;
    if (same_node_id(n.nid, s.self.nid)) {
      size = s.store.fs_free() + s.store.used_bytes();
    } else {
      auto peer = s.admin_peers.get(n.nid);
      if (!peer || !peer::stat_sheep(*peer, &size, &free).ok()) {
        sd_warn("reweight: cannot measure %s", node_addr_str(n.nid).c_str());
        continue;
      }
    }
    // Nothing measured (a failed statvfs, a peer with no disk left) is no
    // reason to take a node's share away.
    if (!size || !changed_enough(n.space, size)) continue;
    sd_info("reweight: %s has %" PRIu64 " bytes (was %" PRIu64 ")", node_addr_str(n.nid).c_str(),
            size, n.space);
    Group::NodeUpdate u{};
    u.nid = n.nid;
    u.space = size;
    u.nr_vnodes = n.nr_vnodes;
    updates.push_back(u);
  }
  return s.group.update_nodes(updates);
}

Res set_vnodes(Sheep& s, Request& r) {
  if (!r.is_write() || r.data_length() < sizeof(int32_t)) return Res::InvalidParms;
  int32_t n;
  std::memcpy(&n, r.data(), sizeof(n));
  if (s.opts.gateway) {
    sd_err("failed to set vnodes, cause operating in gateway mode.");
    return Res::GatewayMode;
  }
  if (s.group.settings().flags & kClusterAutoVnodes) {
    sd_err("failed to set vnodes, cause operating in auto vnodes strategy.");
    return Res::InvalidVnodesStrategy;
  }
  if (n < 1 || n > 65535) {
    sd_err("invalid vnodes: %d", n);
    return Res::InvalidParms;
  }
  Group::NodeUpdate u{};
  u.nid = s.self.nid;
  u.space = s.group.space();
  u.nr_vnodes = uint16_t(n);
  return s.group.update_nodes({u});
}

Res get_vnodes(Sheep& s, Request& r) {
  if (r.hdr.data_length < sizeof(int32_t)) return Res::InvalidParms;
  int32_t n = 0;
  MembershipPtr m = s.group.membership();
  if (m->self_index >= 0) n = m->nodes[size_t(m->self_index)].nr_vnodes;
  char* buf = r.reply_buffer(sizeof(n));
  std::memcpy(buf, &n, sizeof(n));
  return Res::Success;
}

Res scrub(Sheep& s, Request& r) {
  if (r.hdr.data_length < sizeof(ScrubStatus)) return Res::BufferSmall;
  switch (ScrubCommand(r.hdr.raw[0])) {
    case ScrubCommand::Status: break;
    case ScrubCommand::Start: s.scrubber.start(r.hdr.raw[1]); break;
    case ScrubCommand::Stop: s.scrubber.stop(); break;
    default: return Res::InvalidParms;
  }
  ScrubStatus st = s.scrubber.status();
  std::memcpy(r.reply_buffer(sizeof(st)), &st, sizeof(st));
  return Res::Success;
}

// The request counters (SdStat), cut to the client's buffer (dog asks for
// exactly its 120 bytes).
Res stat_requests(Sheep& s, Request& r) {
  SdStat st = s.metrics.stat();
  uint32_t n = std::min<uint32_t>(r.hdr.data_length, sizeof(st));
  std::memcpy(r.reply_buffer(n), &st, n);
  return Res::Success;
}

}  // namespace sd::ops
