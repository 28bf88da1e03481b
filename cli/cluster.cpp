// dog cluster: info, format, shutdown, recover and check.
//
// cluster info prints the status line and the epoch history from
// STAT_CLUSTER (docs/PROTOCOL.md §8.4); cluster format checks every node's vnode
// strategy, asks before wiping a non-empty cluster and sends MAKE_FS
// (§8.6). Both run after the NEED_NODELIST bootstrap. shutdown sends
// SHUTDOWN, recover FORCE_RECOVER / ENABLE_RECOVER / DISABLE_RECOVER, and
// check runs vdi check (vdi_check.cpp) over every VDI, each with its own
// progress bar on a terminal, as upstream's.
#include <sys/time.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <set>
#include <string>
#include <vector>

#include "client/requests.h"
#include "dog.h"
#include "proto/inode.h"
#include "ring.h"
#include "vdi.h"
#include "vdi_inventory.h"

namespace dog {

namespace {

struct ClusterOptions {
  std::string store;  // -b
  uint8_t copies = 0;  // -c (0: the server's default, 3)
  uint8_t copy_policy = 0;
  uint8_t block_size_shift = 0;  // -z (0: the server's default, 22)
  bool use_lock = true;         // -l is the default here; -L turns it off
  bool strict = false;          // -t
  bool fixed_vnodes = false;    // -V
  bool recycle_vid = false;     // -R
  bool force = false;           // -f
  bool avoid_diskfull = false;  // -F
  bool show_diff = false;       // -d
} opts;

const OptionDesc kClusterOptions[] = {
    {'b', "store", true, "specify backend store"},
    {'c', "copies", true, "specify the default data redundancy (number of copies)"},
    {'l', "lock", false, "use locking for VDIs (the default)"},
    {'L', "nolock", false, "do not lock VDIs (for clients that cannot release their locks)"},
    {'t', "strict", false, "do not serve write requests if the number of nodes is not sufficient"},
    {'z', "block_size_shift", true, "specify the shift num of default data object size"},
    {'V', "fixedvnodes", false, "disable automatic vnodes calculation"},
    {'R', "recycle", false, "recycle the IDs of deleted VDIs"},
    {'f', "force", false, "do not prompt for confirmation"},
    {'F', "avoiddiskfull", false, "do not start a recovery that would fill up disks"},
    {'d', "diff", false, "show the membership difference between epochs"},
    {'m', "multithread", false, "use multi-thread for 'cluster snapshot save'"},
    {0, nullptr, false, nullptr},
};

int parse_cluster_option(int ch, const char* arg) {
  switch (ch) {
    case 'b':
      opts.store = arg;
      break;
    case 'c':
      if (!parse_copies(arg, &opts.copies, &opts.copy_policy)) return kExitFailure;
      break;
    case 'l':
      opts.use_lock = true;
      break;
    case 'L':
      opts.use_lock = false;
      break;
    case 'm':
      cluster_snapshot_use_threads();
      [[fallthrough]];  // as upstream's parser: -m turns on -t too (docs/CLI.md)
    case 't':
      opts.strict = true;
      break;
    case 'z':
      if (!parse_block_size_shift(arg, &opts.block_size_shift)) return kExitFailure;
      break;
    case 'V':
      opts.fixed_vnodes = true;
      break;
    case 'R':
      opts.recycle_vid = true;
      break;
    case 'f':
      opts.force = true;
      break;
    case 'F':
      opts.avoid_diskfull = true;
      break;
    case 'd':
      opts.show_diff = true;
      break;
  }
  return kExitSuccess;
}

// ---- cluster info ---------------------------------------------------------

struct EpochRecord {
  sd::EpochLogHeader hdr;
  std::vector<sd::SdNode> nodes;
};

std::string epoch_nodes_str(const EpochRecord& r) {
  std::string s;
  for (const auto& n : r.nodes) {
    if (!s.empty()) s += ", ";
    s += sd::node_addr_str(n.nid) + ":" + std::to_string(n.nr_vnodes);
  }
  return s;
}

bool has_node(const EpochRecord& r, const sd::SdNode& n) {
  for (const auto& m : r.nodes)
    if (sd::same_node(m, n)) return true;
  return false;
}

// -d: "+ip:port" for joins and "-ip:port" for leaves against the previous
// epoch; the oldest epoch in the reply says "formated" (sic, upstream).
std::string epoch_diff_str(const EpochRecord& r, const EpochRecord* older) {
  if (!older) return "formated";
  std::string s;
  for (const auto& n : r.nodes)
    if (!has_node(*older, n)) s += (s.empty() ? "+" : ", +") + sd::node_addr_str(n.nid);
  for (const auto& n : older->nodes)
    if (!has_node(r, n)) s += (s.empty() ? "-" : ", -") + sd::node_addr_str(n.nid);
  return s;
}

int cluster_info(Context& ctx) {
  uint32_t nodes_nr = uint32_t(ctx.nodes.size());
  std::vector<uint8_t> buf;
  sd::SdRsp rsp{};
  for (;;) {
    size_t stride = sizeof(sd::EpochLogHeader) + size_t(nodes_nr) * sizeof(sd::SdNode);
    size_t len = size_t(ctx.epoch) * stride;
    if (len > UINT32_MAX) len = UINT32_MAX / stride * stride;
    buf.assign(len, 0);
    sd::SdReq req = sd::request::stat_cluster(uint32_t(len), nodes_nr);
    auto r = request(ctx.ep, req, nullptr, buf.data());
    if (!r.ok()) return kExitSysfail;
    if (sd::Res(r->result) == sd::Res::BufferSmall && nodes_nr && nodes_nr < 2 * sd::kMaxNodes) {
      nodes_nr *= 2;
      continue;
    }
    rsp = *r;
    break;
  }

  const size_t stride = sizeof(sd::EpochLogHeader) + size_t(nodes_nr) * sizeof(sd::SdNode);
  std::vector<EpochRecord> logs;
  for (size_t off = 0; off + stride <= rsp.data_length; off += stride) {
    EpochRecord r;
    std::memcpy(&r.hdr, buf.data() + off, sizeof(r.hdr));
    uint32_t n = std::min(r.hdr.nr_nodes, nodes_nr);
    r.nodes.resize(n);
    if (n) std::memcpy(r.nodes.data(), buf.data() + off + sizeof(r.hdr), n * sizeof(sd::SdNode));
    logs.push_back(std::move(r));
  }

  sd::Res result = sd::Res(rsp.result);
  const sd::EpochLogHeader* first = logs.empty() ? nullptr : &logs[0].hdr;
  if (!ctx.raw) std::printf("Cluster status: ");
  if (result == sd::Res::Success)
    std::printf("running, auto-recovery %s\n",
                first && first->disable_recovery ? "disabled" : "enabled");
  else
    std::printf("%s\n", sd::strerror(result));

  if (ctx.verbose) {
    uint16_t flags = first ? first->flags : 0;
    if (!ctx.raw) std::printf("Cluster store: ");
    if (result == sd::Res::Success) {
      char store[sd::kStoreLen + 1] = {};
      if (first) std::memcpy(store, first->drv_name, sd::kStoreLen);
      std::string policy = first ? copies_str(first->nr_copies, first->copy_policy) : "0";
      std::printf("%s with %s redundancy policy\n", store, policy.c_str());
      if (!ctx.raw) std::printf("Cluster vnodes strategy: ");
      std::printf("%s\n", (flags & sd::kClusterAutoVnodes) ? "auto" : "fixed");
    } else {
      std::printf("%s\n", sd::strerror(result));
    }
    if (!ctx.raw) std::printf("Cluster vnode mode: ");
    std::printf("%s\n", (flags & sd::kClusterDiskmode) ? "disk" : "node");
  } else {
    std::printf("\n");
  }

  if (logs.empty()) return kExitSuccess;
  if (!ctx.raw) {
    time_t ct = time_t(logs[0].hdr.ctime >> 32);
    std::printf("Cluster created at %s\n", std::ctime(&ct));
    std::printf("Epoch Time           Version [Host:Port:V-Nodes,,,]\n");
  }
  for (size_t i = 0; i < logs.size(); i++) {
    const EpochRecord& r = logs[i];
    char when[64];
    time_t t = time_t(r.hdr.time);
    if (ctx.raw) {
      std::snprintf(when, sizeof(when), "%llu", static_cast<unsigned long long>(r.hdr.time));
    } else {
      struct tm tm;
      localtime_r(&t, &tm);
      std::strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
    }
    std::string nodes = opts.show_diff ? epoch_diff_str(r, i + 1 < logs.size() ? &logs[i + 1] : nullptr)
                                       : epoch_nodes_str(r);
    std::printf(ctx.raw ? "%s %d [%s]\n" : "%s %6d [%s]\n", when, int(r.hdr.epoch), nodes.c_str());
  }
  return kExitSuccess;
}

// ---- cluster format -------------------------------------------------------

constexpr const char* kFormatPrompt =
    "    __\n"
    "   ()'`;\n"
    "   /\\|`\n"
    "  /  |   Caution! The cluster is not empty.\n"
    "(/_)_|_  Are you sure you want to continue? [yes/no]: ";

// Every node must agree with -V about the vnode strategy.
int check_vnode_strategy(const Context& ctx) {
  auto cinfo = std::make_unique<sd::ClusterInfo>();
  for (const auto& n : ctx.nodes) {
    if (n.nr_vnodes == 0) continue;  // a gateway has no strategy of its own
    std::memset(cinfo.get(), 0, sizeof(sd::ClusterInfo));
    sd::SdReq req = sd::request::cluster_info();
    auto rsp = request(node_endpoint(n), req, nullptr, cinfo.get());
    if (!rsp.ok()) return kExitSysfail;
    if (sd::Res(rsp->result) != sd::Res::Success) {
      err("Failed to get cluster info: %s", sd::strerror(sd::Res(rsp->result)));
      return kExitFailure;
    }
    bool node_auto = cinfo->flags & sd::kClusterAutoVnodes;
    if (opts.fixed_vnodes && node_auto) {
      err("Can not apply the option of '-V', because there are vnode strategy of sheep is auto "
          "in the cluster");
      return kExitFailure;
    }
    if (!opts.fixed_vnodes && !node_auto) {
      err("Need to specify the option of '-V', because there are vnode strategy of sheep is "
          "fixed in the cluster");
      return kExitFailure;
    }
  }
  return kExitSuccess;
}

int list_stores(const Context& ctx) {
  char buf[512] = {};
  sd::SdReq req = sd::request::store_list(sizeof(buf) - 1);
  auto rsp = request(ctx.ep, req, nullptr, buf);
  if (!rsp.ok()) return kExitSysfail;
  if (sd::Res(rsp->result) != sd::Res::Success) {
    err("Restore failed: %s", sd::strerror(sd::Res(rsp->result)));
    return kExitFailure;
  }
  std::printf("Available stores:\n");
  std::printf("---------------------------------------\n");
  std::printf("%s\n", buf);
  return kExitSysfail;
}

int cluster_format(Context& ctx) {
  int rc = check_vnode_strategy(ctx);
  if (rc != kExitSuccess) return rc;

  auto inuse = read_vdi_bitmap(ctx.ep, sd::kOpReadVdis);
  if (!inuse.ok()) return kExitSysfail;
  if (inuse->any() && !opts.force) confirm(kFormatPrompt);

  // As upstream's dog: every distinct zone counts, gateways' too.
  std::set<uint32_t> zone_set;
  for (const auto& n : ctx.nodes) zone_set.insert(n.zone);
  int zones = int(zone_set.size());
  if (opts.copies > zones) {
    char text[256];
    std::snprintf(text, sizeof(text),
                  "Number of copies (%d) is larger than number of zones (%d).\n"
                  "Are you sure you want to continue? [yes/no]: ",
                  opts.copies, zones);
    confirm(text);
  }

  char store[sd::kStoreLen] = {};
  std::string name = opts.store.empty() ? "plain" : opts.store;
  std::memcpy(store, name.c_str(), std::min(name.size(), sizeof(store) - 1));

  struct timeval tv;
  gettimeofday(&tv, nullptr);
  sd::request::Format fmt;
  fmt.copies = opts.copies;
  fmt.copy_policy = opts.copy_policy;
  fmt.block_size_shift = opts.block_size_shift;
  fmt.ctime = (uint64_t(tv.tv_sec) << 32) | (uint64_t(tv.tv_usec) * 1000);
  uint16_t flags = 0;
  if (!opts.fixed_vnodes) flags |= sd::kClusterAutoVnodes;
  if (opts.strict) flags |= sd::kClusterStrict;
  if (opts.use_lock) flags |= sd::kClusterUseLock;
  if (opts.recycle_vid) flags |= sd::kClusterRecycleVid;
  if (opts.avoid_diskfull) flags |= sd::kClusterAvoidDiskfull;
  fmt.flags = flags;
  sd::SdReq req = sd::request::make_fs(fmt, uint32_t(std::strlen(store) + 1));

  std::printf("using backend %s store\n", store);
  auto rsp = request(ctx.ep, req, store, nullptr);
  if (!rsp.ok()) return kExitSysfail;
  sd::Res res = sd::Res(rsp->result);
  if (res != sd::Res::Success) {
    err("Format failed: %s", sd::strerror(res));
    if (res == sd::Res::NoStore) return list_stores(ctx);
    return kExitSysfail;
  }
  return kExitSuccess;
}

// ---- cluster shutdown -----------------------------------------------------

int cluster_shutdown(Context& ctx) {
  sd::SdReq req = sd::request::shutdown();
  if (!send_light(ctx.ep, req)) {
    err("failed to execute request");
    return kExitFailure;
  }
  return kExitSuccess;
}

// ---- cluster reweight -----------------------------------------------------

// Asks the cluster to measure every node's space again; a node whose space
// changed makes one new epoch (docs/PROTOCOL.md, REWEIGHT).
int cluster_reweight(Context& ctx) {
  if (!send_light(ctx.ep, sd::request::reweight())) return kExitFailure;
  return kExitSuccess;
}

// ---- cluster recover ------------------------------------------------------

constexpr const char* kForceRecoverPrompt =
    "Caution! Forcing recovery makes the cluster go on with only the nodes\n"
    "that are present now; objects held only by missing nodes may be lost.\n"
    "Are you sure you want to continue? [yes/no]: ";

int recover_force(Context& ctx) {
  if (!opts.force) confirm(kForceRecoverPrompt);
  std::vector<sd::SdNode> buf(sd::kMaxNodes);
  sd::SdReq req = sd::request::force_recover(uint32_t(buf.size() * sizeof(sd::SdNode)));
  auto rsp = request(ctx.ep, req, nullptr, buf.data());
  if (!rsp.ok()) return kExitFailure;
  if (sd::Res(rsp->result) != sd::Res::Success) {
    err("failed to execute request, %s", sd::strerror(sd::Res(rsp->result)));
    return kExitFailure;
  }
  return kExitSuccess;
}

int recover_switch(Context& ctx, bool enable, const char* what) {
  sd::SdReq req = sd::request::recovery(enable);
  if (!send_light(ctx.ep, req)) return kExitFailure;
  std::printf("Cluster recovery: %s\n", what);
  return kExitSuccess;
}

int recover_enable(Context& ctx) { return recover_switch(ctx, true, "enable"); }
int recover_disable(Context& ctx) { return recover_switch(ctx, false, "disable"); }

const Subcommand kRecoverSubs[] = {
    {"force", nullptr, nullptr, "force recover cluster immediately", 0, recover_force},
    {"enable", nullptr, nullptr, "enable automatic recovery and run once recover if necessary", 0,
     recover_enable},
    {"disable", nullptr, nullptr, "disable automatic recovery", 0, recover_disable},
};

// ---- cluster check --------------------------------------------------------

// vdi check over every VDI in VID order.
int cluster_check(Context& ctx) {
  struct Entry {
    uint32_t vid;
    std::string name, tag;
    uint32_t snap_id;
    bool snapshot;
  };
  std::vector<Entry> vdis;
  sd::Status st = for_each_vdi(ctx.ep, [&](uint32_t vid, const InodeHead& head) {
    char name[sd::kMaxVdiLen + 1] = {}, tag[sd::kMaxVdiTagLen + 1] = {};
    std::memcpy(name, head.hdr.name, sd::kMaxVdiLen);
    std::memcpy(tag, head.hdr.tag, sd::kMaxVdiTagLen);
    vdis.push_back({vid, name, tag, head.hdr.snap_id, sd::inode_is_snapshot(head.hdr)});
  });
  if (!st.ok()) return kExitSysfail;
  for (const auto& v : vdis) {
    if (v.snapshot)
      std::printf("fix snapshot %s (id: %d, tag: \"%s\")\n", v.name.c_str(), int(v.snap_id),
                  v.tag.c_str());
    else
      std::printf("fix vdi %s\n", v.name.c_str());
    check_vdi(ctx, v.name, v.vid, false);
  }
  return kExitSuccess;
}

// ---- cluster alter-copy ---------------------------------------------------

// The copies of VDIs created from now on (existing VDIs keep theirs: `vdi
// alter-copy` changes one).
int cluster_alter_copy(Context& ctx) {
  uint8_t copies = 0;
  if (int rc = alter_copy_count(ctx, opts.copies, opts.copy_policy, opts.force, "cluster", &copies);
      rc != kExitSuccess)
    return rc;
  auto rsp = request(ctx.ep, sd::request::cluster_default(), nullptr, nullptr);
  if (!rsp.ok()) return kExitSysfail;
  if (rsp->cluster_default.copy_policy) {
    err("The cluster's copy policy is erasure code, changing it is not supported yet.");
    return kExitFailure;
  }
  const uint8_t old = rsp->cluster_default.nr_copies;
  if (old == copies) {
    err("The cluster's redundancy level is already set to %d, nothing changed.", copies);
    return kExitFailure;
  }
  if (!opts.force)
    confirm_caution("Changing cluster's redundancy level will affect",
                    "all the VDIs to be created later.");
  rsp = request(ctx.ep, sd::request::alter_cluster_copy(copies, 0), nullptr, nullptr);
  if (!rsp.ok()) return kExitSysfail;
  if (sd::Res(rsp->result) != sd::Res::Success) {
    err("Failed to change the cluster's redundancy level: %s", sd::strerror(sd::Res(rsp->result)));
    return kExitFailure;
  }
  err("The cluster's redundancy level is set to %d, the old one was %d.", copies, old);
  return kExitSuccess;
}

const Subcommand kClusterSubs[] = {
    {"info", nullptr, "aprhvTd", "show cluster information", kNeedNodelist, cluster_info},
    {"format", nullptr, "bclLtaphzTVRfF", "create a Sheepdog store", kNeedNodelist, cluster_format},
    {"shutdown", nullptr, "aphT", "stop Sheepdog", 0, cluster_shutdown},
    {"snapshot", "<tag|idx> <path> [vdi1] [vdi2] ...", "aphTm", "snapshot/restore the cluster",
     kNeedArg, run_nested, kClusterSnapshotSubs, kNrClusterSnapshotSubs},
    {"recover", nullptr, "afphT", "See 'dog cluster recover' for more information", kNeedArg,
     run_nested, kRecoverSubs, sizeof(kRecoverSubs) / sizeof(kRecoverSubs[0])},
    {"reweight", nullptr, "aphT", "reweight the cluster", 0, cluster_reweight},
    {"check", nullptr, "aphT", "check and repair cluster", kNeedNodelist, cluster_check},
    {"alter-copy", nullptr, "aphTcf", "set the cluster's redundancy level", kNeedNodelist,
     cluster_alter_copy},
    {"scrub", "start [MiB/s]|stop|status", "aprhT",
     "check every copy against its checksums and repair bad ones", kNeedArg, run_nested,
     kClusterScrubSubs, kNrClusterScrubSubs},
};

}  // namespace

const Command kClusterCommand = {"cluster", kClusterSubs,
                                 sizeof(kClusterSubs) / sizeof(kClusterSubs[0]), kClusterOptions,
                                 parse_cluster_option};

}  // namespace dog
