// dog node: kill, list, info, recovery, stat and log.
//
// list, info, kill and recovery need the node list from the bootstrap.
// node info asks every node for its store size and free space (STAT_SHEEP)
// and then sums the sizes of the working (non-snapshot) VDIs for "Total
// virtual image size". node recovery asks every node for its recovery
// state (STAT_RECOVERY) and reads or sets the -a/-p node's throttling
// (GET/SET_RECOVERY). node stat reads the request counters (STAT); node log
// level reads or sets the daemon's log level (GET/SET_LOGLEVEL). As
// upstream, get-throttle and log level get/list print their results on
// stderr, and their failures exit 255.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "client/requests.h"
#include "dog.h"
#include "proto/node.h"
#include "size.h"
#include "vdi_inventory.h"

namespace dog {

namespace {

struct NodeOptions {
  bool local = false;     // -l
  bool progress = false;  // -P
  bool watch = false;     // -w
  bool all = false;       // -A
  bool force = false;     // -f
} opts;

const OptionDesc kNodeOptions[] = {
    {'A', "all", false, "show md information of all the nodes"},
    {'f', "force", false, "ignore the confirmation"},
    {'l', "local", false, "kill the node given by -a and -p"},
    {'P', "progress", false, "show progress of recovery in the node"},
    {'w', "watch", false, "watch the stat every second"},
    {0, nullptr, false, nullptr},
};

int parse_node_option(int ch, const char*) {
  switch (ch) {
    case 'l':
      opts.local = true;
      break;
    case 'P':
      opts.progress = true;
      break;
    case 'w':
      opts.watch = true;
      break;
    case 'A':
      opts.all = true;
      break;
    case 'f':
      opts.force = true;
      break;
  }
  return kExitSuccess;
}

// Failures of these commands exit 255 (upstream returns -1 from main).
constexpr int kExitMinusOne = 255;

// ---- node kill ------------------------------------------------------------

int node_kill(Context& ctx) {
  sd::Endpoint target = ctx.ep;
  if (!opts.local) {
    if (ctx.args.empty()) return kExitUsage;
    const char* text = ctx.args[0].c_str();
    uint64_t id = 0;
    if (!sd::parse_u64(text, UINT32_MAX, &id)) {
      err("Invalid node id '%s', please specify a numeric value", text);
      return kExitUsage;
    }
    if (id >= ctx.nodes.size()) {
      err("Invalid node id '%d'", int(id));
      return kExitUsage;
    }
    target = node_endpoint(ctx.nodes[id]);
  }
  sd::SdReq req = sd::request::kill_node();
  if (!send_light(target, req)) {
    err("Failed to execute request");
    return kExitFailure;
  }
  return kExitSuccess;
}

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
    sd::SdReq req = sd::request::stat_sheep();
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

// ---- node recovery --------------------------------------------------------

// STAT_RECOVERY reply (24 bytes).
struct RecoveryState {
  uint8_t in_recovery;
  uint8_t pad[3];
  uint32_t state;  // kPrepareList, kRecoverObj, kNotifyCompletion
  uint64_t nr_finished;
  uint64_t nr_total;
};
static_assert(sizeof(RecoveryState) == 24);
enum : uint32_t { kPrepareList = 0, kRecoverObj = 1, kNotifyCompletion = 2 };

// GET_RECOVERY / SET_RECOVERY payload (24 bytes).
struct RecoveryThrottle {
  uint32_t max_exec_count;
  uint32_t pad;
  uint64_t queue_work_interval;  // ms
  uint8_t throttling;
  uint8_t pad2[7];
};
static_assert(sizeof(RecoveryThrottle) == 24);

bool stat_recovery(const sd::SdNode& n, RecoveryState* st) {
  *st = {};
  sd::SdReq req = sd::request::stat_recovery(sizeof(*st));
  auto rsp = request(node_endpoint(n), req, nullptr, st);
  if (!rsp.ok()) return false;
  if (sd::Res(rsp->result) != sd::Res::Success) {
    err("Response's result: %s", sd::strerror(sd::Res(rsp->result)));
    return false;
  }
  return true;
}

double percent(uint64_t done, uint64_t total) {
  return total ? 100.0 * double(done) / double(total) : 0.0;
}

// -P: follow the recovery until no node is recovering. The bar is drawn
// only on a tty; otherwise only the phase messages are printed.
int recovery_progress(Context& ctx) {
  bool tty = isatty(STDOUT_FILENO);
  for (;;) {
    uint64_t done = 0, total = 0;
    bool any = false, preparing = false, notifying = false;
    for (const auto& n : ctx.nodes) {
      RecoveryState st;
      if (!stat_recovery(n, &st) || !st.in_recovery) continue;
      any = true;
      if (st.state == kPrepareList) preparing = true;
      if (st.state == kNotifyCompletion) notifying = true;
      done += st.nr_finished;
      total += st.nr_total;
    }
    if (!any) break;
    if (preparing) {
      std::printf("\rpreparing a checked object list...");
    } else if (notifying) {
      std::printf("\rnotifying a completion of recovery...");
    } else if (tty) {
      int width = 50, filled = int(percent(done, total) / 100.0 * width);
      std::printf("\r[%s%s] %5.1f%%", std::string(size_t(filled), '=').c_str(),
                  std::string(size_t(width - filled), ' ').c_str(), percent(done, total));
    }
    std::fflush(stdout);
    sleep(1);
  }
  std::printf("\n");
  return kExitSuccess;
}

int recovery_info(Context& ctx) {
  if (opts.progress) return recovery_progress(ctx);
  if (!ctx.raw)
    std::printf("Nodes In Recovery:\n"
                "  Id   Host:Port         V-Nodes       Zone       Progress\n");
  for (size_t i = 0; i < ctx.nodes.size(); i++) {
    const sd::SdNode& n = ctx.nodes[i];
    RecoveryState st;
    if (!stat_recovery(n, &st) || !st.in_recovery) continue;
    std::string host = sd::node_addr_str(n.nid);
    if (ctx.raw)
      std::printf("%d %s %d %d %llu %llu\n", int(i), host.c_str(), n.nr_vnodes, int(n.zone),
                  static_cast<unsigned long long>(st.nr_finished),
                  static_cast<unsigned long long>(st.nr_total));
    else
      std::printf("%4d   %-20s%5d%11d%11.1f%%\n", int(i), host.c_str(), n.nr_vnodes, int(n.zone),
                  percent(st.nr_finished, st.nr_total));
  }
  return kExitSuccess;
}

int recovery_set_throttle(Context& ctx) {
  if (ctx.args.size() < 2) return kExitUsage;
  // As upstream: max is a u32, interval an int64 >= 0, checked in that
  // order; both zero or neither. A bad value is reported without the usage.
  uint64_t max = 0, interval = 0;
  if (!sd::parse_u64(ctx.args[0].c_str(), UINT32_MAX, &max)) {
    err("Invalid max (%s)", ctx.args[0].c_str());
    return kExitFailure;
  }
  if (!sd::parse_u64(ctx.args[1].c_str(), INT64_MAX, &interval)) {
    err("Invalid interval (%s)", ctx.args[1].c_str());
    return kExitFailure;
  }
  if ((max == 0) != (interval == 0)) {
    err("Invalid interval max (%u), interval (%llu)", unsigned(max),
        static_cast<unsigned long long>(interval));
    return kExitFailure;
  }
  RecoveryThrottle t{};
  t.max_exec_count = uint32_t(max);
  t.queue_work_interval = interval;
  t.throttling = max && interval;
  sd::SdReq req = sd::request::set_recovery(sizeof(t));
  auto rsp = request(ctx.ep, req, &t, nullptr);
  if (!rsp.ok()) return kExitMinusOne;
  if (sd::Res(rsp->result) != sd::Res::Success) {
    err("Response's result: %s", sd::strerror(sd::Res(rsp->result)));
    return kExitMinusOne;
  }
  return kExitSuccess;
}

int recovery_get_throttle(Context& ctx) {
  RecoveryThrottle t{};
  sd::SdReq req = sd::request::get_recovery(sizeof(t));
  auto rsp = request(ctx.ep, req, nullptr, &t);
  if (!rsp.ok()) return kExitMinusOne;
  if (sd::Res(rsp->result) != sd::Res::Success) {
    err("Response's result: %s", sd::strerror(sd::Res(rsp->result)));
    return kExitMinusOne;
  }
  err("max (%u), interval (%llu)", t.max_exec_count,
      static_cast<unsigned long long>(t.queue_work_interval));
  return kExitSuccess;
}

const Subcommand kRecoverySubs[] = {
    {"info", nullptr, nullptr, "show recovery information of nodes (default)", 0, recovery_info},
    {"set-throttle", nullptr, nullptr, "set new throttling", 0, recovery_set_throttle},
    {"get-throttle", nullptr, nullptr, "get current throttling", 0, recovery_get_throttle},
};

// With no subcommand, node recovery means node recovery info.
int node_recovery(Context& ctx) {
  if (ctx.args.empty()) return recovery_info(ctx);
  return run_nested(ctx);
}

// ---- node stat ------------------------------------------------------------

// The STAT reply (sd::SdStat): the sheep's request counters. The exit
// status when it cannot be had, else kExitSuccess.
int get_stat(const Context& ctx, sd::SdStat* st) {
  *st = {};
  sd::SdReq req = sd::request::node_stat(sizeof(*st));
  auto rsp = request(ctx.ep, req, nullptr, st);
  if (!rsp.ok()) return kExitSysfail;
  if (sd::Res(rsp->result) != sd::Res::Success) {
    err("failed to get stat information: %s", sd::strerror(sd::Res(rsp->result)));
    return kExitFailure;
  }
  return kExitSuccess;
}

using ull = unsigned long long;

// Without -w the Write column holds the read count and Read the write
// count: upstream's quirk, kept because scripts read these columns. Raw
// output drops the header and the row names (the columns stay
// tab-separated) and prints sizes in bytes.
void print_stat(const Context& ctx, const sd::SdStat& s) {
  const char* fmt = "%llu\t%llu\t%llu\t%llu\t%llu\t%llu\t%s\t%s\n";
  if (!ctx.raw)
    std::printf("Request\tActive\tTotal\tWrite\tRead\tRemove\tFlush\tAll WR\tAll RD\nClient\t");
  std::printf(fmt, ull(s.gway_active), ull(s.gway_total), ull(s.gway_read), ull(s.gway_write),
              ull(s.gway_remove), ull(s.gway_flush), sd::format_size(s.gway_rx, ctx.raw).c_str(),
              sd::format_size(s.gway_tx, ctx.raw).c_str());
  if (!ctx.raw) std::printf("Peer\t");
  std::printf(fmt, ull(s.peer_active), ull(s.peer_total), ull(s.peer_read), ull(s.peer_write),
              ull(s.peer_remove), 0ull, sd::format_size(s.peer_rx, ctx.raw).c_str(),
              sd::format_size(s.peer_tx, ctx.raw).c_str());
}

// How much a counter grew since the block before; 0 when it went down
// (the sheep restarted meanwhile, its counters from 0 again) rather than
// a wrapped-around difference.
uint64_t growth(uint64_t now, uint64_t last) { return now >= last ? now - last : 0; }

// -w, every second: the counters as they are (Write and Read in their
// right columns), then the bytes received and sent (WRBW, RDBW) and the
// requests (RPS) since the block before; the first block's are zero.
void print_stat_watch(const Context& ctx, const sd::SdStat& now, const sd::SdStat& last) {
  const char* fmt = "%llu\t%llu\t%llu\t%llu\t%llu\t%llu\t%s\t%s\t%s\t%s\t%llu\n";
  if (!ctx.raw)
    std::printf("Request\tActive\tTotal\tWrite\tRead\tRemove\tFlush\tAll WR\tAll RD\tWRBW\tRDBW"
                "\tRPS\nClient\t");
  std::printf(fmt, ull(now.gway_active), ull(now.gway_total), ull(now.gway_write),
              ull(now.gway_read), ull(now.gway_remove), ull(now.gway_flush),
              sd::format_size(now.gway_rx, ctx.raw).c_str(),
              sd::format_size(now.gway_tx, ctx.raw).c_str(),
              sd::format_size(growth(now.gway_rx, last.gway_rx), ctx.raw).c_str(),
              sd::format_size(growth(now.gway_tx, last.gway_tx), ctx.raw).c_str(),
              ull(growth(now.gway_total, last.gway_total)));
  if (!ctx.raw) std::printf("Peer\t");
  std::printf(fmt, ull(now.peer_active), ull(now.peer_total), ull(now.peer_write),
              ull(now.peer_read), ull(now.peer_remove), 0ull,
              sd::format_size(now.peer_rx, ctx.raw).c_str(),
              sd::format_size(now.peer_tx, ctx.raw).c_str(),
              sd::format_size(growth(now.peer_rx, last.peer_rx), ctx.raw).c_str(),
              sd::format_size(growth(now.peer_tx, last.peer_tx), ctx.raw).c_str(),
              ull(growth(now.peer_total, last.peer_total)));
}

int node_stat(Context& ctx) {
  sd::SdStat now;
  if (int rc = get_stat(ctx, &now); rc != kExitSuccess) return rc;
  if (!opts.watch) {
    print_stat(ctx, now);
    return kExitSuccess;
  }
  sd::SdStat last = now;
  for (;;) {
    print_stat_watch(ctx, now, last);
    std::fflush(stdout);  // each block as it comes (upstream's waits in its buffer)
    last = now;
    sleep(1);
    if (int rc = get_stat(ctx, &now); rc != kExitSuccess) return rc;
  }
}

// ---- node log level -------------------------------------------------------

const char* const kLogLevels[] = {"emerg", "alert", "crit", "err",
                                  "warning", "notice", "info", "debug"};
constexpr int kNrLogLevels = 8;

int loglevel_list(Context&) {
  for (int i = 0; i < kNrLogLevels; i++) err("%s\t(%d)", kLogLevels[i], i);
  return kExitSuccess;
}

int loglevel_get(Context& ctx) {
  int32_t level = -1;
  sd::SdReq req = sd::request::get_loglevel();
  auto rsp = request(ctx.ep, req, nullptr, &level);
  if (!rsp.ok()) return kExitMinusOne;
  if (sd::Res(rsp->result) != sd::Res::Success) {
    err("Failed to execute request: %s", sd::strerror(sd::Res(rsp->result)));
    return kExitMinusOne;
  }
  if (level < 0 || level >= kNrLogLevels) {
    err("Invalid log level: %d", int(level));
    return kExitMinusOne;
  }
  err("%s (%d)", kLogLevels[level], int(level));
  return kExitSuccess;
}

int loglevel_set(Context& ctx) {
  if (ctx.args.empty()) return kExitUsage;
  int32_t level = -1;
  for (int i = 0; i < kNrLogLevels; i++)
    if (ctx.args[0] == kLogLevels[i]) level = i;
  if (level < 0) {
    err("invalid loglevel: %s", ctx.args[0].c_str());
    err("available loglevels:");
    loglevel_list(ctx);
    return kExitMinusOne;
  }
  sd::SdReq req = sd::request::set_loglevel();
  auto rsp = request(ctx.ep, req, &level, nullptr);
  if (!rsp.ok()) return kExitMinusOne;
  if (sd::Res(rsp->result) != sd::Res::Success) {
    err("Failed to execute request: %s", sd::strerror(sd::Res(rsp->result)));
    return kExitMinusOne;
  }
  return kExitSuccess;
}

const Subcommand kLogLevelSubs[] = {
    {"set", nullptr, nullptr, "set new log level", 0, loglevel_set},
    {"get", nullptr, nullptr, "get current log level", 0, loglevel_get},
    {"list", nullptr, nullptr, "list available log levels", 0, loglevel_list},
};

// "node log level {set|get|list}": a second level of nesting below "log".
int node_log_level(Context& ctx) {
  if (!ctx.args.empty())
    for (const auto& s : kLogLevelSubs)
      if (ctx.args[0] == s.name) {
        ctx.args.erase(ctx.args.begin());
        return s.run(ctx);
      }
  print_subcommand_usage(ctx);
  return kExitFailure;
}

const Subcommand kLogSubs[] = {
    {"level", nullptr, nullptr, "set/get log level", 0, node_log_level},
};

const Subcommand kNodeSubs[] = {
    {"kill", "<node id>", "aprhlT", "kill node", kNeedNodelist, node_kill},
    {"list", nullptr, "aprhT", "list nodes", kNeedNodelist, node_list},
    {"info", nullptr, "aprhT", "show information about each node", kNeedNodelist, node_info},
    {"recovery", nullptr, "aphPrT",
     "show recovery information or set/get recovery speed throttling of nodes", kNeedNodelist,
     node_recovery, kRecoverySubs, sizeof(kRecoverySubs) / sizeof(kRecoverySubs[0])},
    {"md", "[disks]", "aprAfhT", "See 'dog node md' for more information", kNeedArg, run_nested,
     kNodeMdSubs, kNrNodeMdSubs},
    {"stat", nullptr, "aprwhT", "show stat information about the node", 0, node_stat},
    {"log", nullptr, "aphT", "show or set log level of the node", kNeedArg, run_nested, kLogSubs,
     1},
    {"vnodes", "<num of vnodes>", "aph", "set new vnodes", kNeedArg, run_nested, kNodeVnodesSubs,
     kNrNodeVnodesSubs},
};

}  // namespace

bool node_all_option() { return opts.all; }
bool node_force_option() { return opts.force; }

const Command kNodeCommand = {"node", kNodeSubs, sizeof(kNodeSubs) / sizeof(kNodeSubs[0]),
                              kNodeOptions, parse_node_option};

}  // namespace dog
