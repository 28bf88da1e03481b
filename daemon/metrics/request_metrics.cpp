// Request counters: the opcode and result tables, the counting, the STAT
// reply and the request families of the metrics page.
#include "metrics/request_metrics.h"

#include <iterator>

namespace sd::metrics {

namespace {

using S = Side;
using A = StatAs;

constexpr OpLabel kOps[] = {
    {kOpCreateAndWriteObj, "create_and_write_obj", S::Client, A::Write},
    {kOpReadObj, "read_obj", S::Client, A::Read},
    {kOpWriteObj, "write_obj", S::Client, A::Write},
    {kOpRemoveObj, "remove_obj", S::Client, A::Remove},
    {kOpFlushVdi, "flush_vdi", S::Client, A::Flush},
    {kOpCreateAndWritePeer, "create_and_write_peer", S::Peer, A::Write},
    {kOpReadPeer, "read_peer", S::Peer, A::Read},
    {kOpWritePeer, "write_peer", S::Peer, A::Write},
    {kOpRemovePeer, "remove_peer", S::Peer, A::Remove},
    {kOpDirectWrite, "direct_write", S::Client, A::Write},
    {kOpNewVdi, "new_vdi", S::Client, A::None},
    {kOpLockVdi, "lock_vdi", S::Client, A::None},
    {kOpReleaseVdi, "release_vdi", S::Client, A::None},
    {kOpGetVdiInfo, "get_vdi_info", S::Client, A::None},
    {kOpReadVdis, "read_vdis", S::Client, A::None},
    {kOpDelVdi, "del_vdi", S::Client, A::None},
    {kOpGetClusterDefault, "get_cluster_default", S::Client, A::None},
    {kOpGetNodeList, "get_node_list", S::Client, A::None},
    {kOpMakeFs, "make_fs", S::Client, A::None},
    {kOpShutdown, "shutdown", S::Client, A::None},
    {kOpStatSheep, "stat_sheep", S::Client, A::None},
    {kOpStatCluster, "stat_cluster", S::Client, A::None},
    {kOpGetStoreList, "get_store_list", S::Client, A::None},
    {kOpStatRecovery, "stat_recovery", S::Client, A::None},
    {kOpFlushDelCache, "flush_del_cache", S::Client, A::None},
    {kOpKillNode, "kill_node", S::Client, A::None},
    {kOpGetObjList, "get_obj_list", S::Client, A::None},
    {kOpGetEpoch, "get_epoch", S::Client, A::None},
    {kOpEnableRecover, "enable_recover", S::Client, A::None},
    {kOpDisableRecover, "disable_recover", S::Client, A::None},
    {kOpDeleteCache, "delete_cache", S::Client, A::None},
    {kOpStat, "stat", S::Client, A::None},
    {kOpGetLoglevel, "get_loglevel", S::Client, A::None},
    {kOpSetLoglevel, "set_loglevel", S::Client, A::None},
    {kOpExist, "exist", S::Client, A::None},
    {kOpClusterInfo, "cluster_info", S::Client, A::None},
    {kOpReadDelVdis, "read_del_vdis", S::Client, A::None},
    {kOpGetVdiAttr, "get_vdi_attr", S::Client, A::None},
    {kOpGetVdiCopies, "get_vdi_copies", S::Client, A::None},
    {kOpGetHash, "get_hash", S::Client, A::None},
    {kOpRepairReplica, "repair_replica", S::Client, A::None},
    {kOpScrub, "scrub", S::Client, A::None},
    {kOpOidsExist, "oids_exist", S::Client, A::None},
    {kOpReleaseObjects, "release_objects", S::Client, A::None},
    {kOpGetStaleList, "get_stale_list", S::Client, A::None},
    {kOpGetRecovery, "get_recovery", S::Client, A::None},
    {kOpAlterClusterCopy, "alter_cluster_copy", S::Client, A::None},
    {kOpAlterVdiCopy, "alter_vdi_copy", S::Client, A::None},
    {kOpSetRecovery, "set_recovery", S::Client, A::None},
    {kOpMdInfo, "md_info", S::Client, A::None},
    {kOpMdPlug, "md_plug_disks", S::Client, A::None},
    {kOpMdUnplug, "md_unplug_disks", S::Client, A::None},
    {kOpReweight, "reweight", S::Client, A::None},
    {kOpSetVnodes, "set_vnodes", S::Client, A::None},
    {kOpGetVnodes, "get_vnodes", S::Client, A::None},
    {kOpNotifyVdiAdd, "notify_vdi_add", S::Client, A::None},
};
static_assert(std::size(kOps) < RequestMetrics::kOpSlots);

struct ResultLabel {
  Res code;
  const char* label;
};

constexpr ResultLabel kResults[] = {
    {Res::Success, "success"},
    {Res::Unknown, "unknown"},
    {Res::NoObj, "no_obj"},
    {Res::Eio, "eio"},
    {Res::VdiExist, "vdi_exist"},
    {Res::InvalidParms, "invalid_parms"},
    {Res::SystemError, "system_error"},
    {Res::VdiLocked, "vdi_locked"},
    {Res::NoVdi, "no_vdi"},
    {Res::NoBaseVdi, "no_base_vdi"},
    {Res::VdiRead, "vdi_read"},
    {Res::VdiWrite, "vdi_write"},
    {Res::BaseVdiRead, "base_vdi_read"},
    {Res::BaseVdiWrite, "base_vdi_write"},
    {Res::NoTag, "no_tag"},
    {Res::Startup, "startup"},
    {Res::VdiNotLocked, "vdi_not_locked"},
    {Res::Shutdown, "shutdown"},
    {Res::NoMem, "no_mem"},
    {Res::FullVdi, "full_vdi"},
    {Res::VerMismatch, "ver_mismatch"},
    {Res::NoSpace, "no_space"},
    {Res::WaitForFormat, "wait_for_format"},
    {Res::WaitForJoin, "wait_for_join"},
    {Res::JoinFailed, "join_failed"},
    {Res::Halt, "halt"},
    {Res::Readonly, "readonly"},
    {Res::InodeInvalidated, "inode_invalidated"},
    {Res::OldNodeVer, "old_node_ver"},
    {Res::NewNodeVer, "new_node_ver"},
    {Res::NotFormatted, "not_formatted"},
    {Res::InvalidCtime, "invalid_ctime"},
    {Res::InvalidEpoch, "invalid_epoch"},
    {Res::NetworkError, "network_error"},
    {Res::NoCache, "no_cache"},
    {Res::BufferSmall, "buffer_small"},
    {Res::ForceRecover, "force_recover"},
    {Res::NoStore, "no_store"},
    {Res::NoSupport, "no_support"},
    {Res::NodeInRecovery, "node_in_recovery"},
    {Res::Killed, "killed"},
    {Res::OidExist, "oid_exist"},
    {Res::Again, "again"},
    {Res::StaleObj, "stale_obj"},
    {Res::ClusterError, "cluster_error"},
    {Res::VdiNotEmpty, "vdi_not_empty"},
    {Res::NotFound, "not_found"},
    {Res::Incomplete, "incomplete"},
    {Res::CollectingCinfo, "collecting_cinfo"},
    {Res::GatewayMode, "gateway_mode"},
    {Res::InvalidVnodesStrategy, "invalid_vnodes_strategy"},
    {Res::NoCheckpointEntry, "no_checkpoint_entry"},
    {Res::AuthRequired, "auth_required"},
    {Res::AuthFailed, "auth_failed"},
};
static_assert(std::size(kResults) < RequestMetrics::kResultSlots);

// opcode -> op slot (0: other), opcode -> I/O slot (-1: none), result code
// (below 256) -> result slot (0: other); built at compile time.
struct Slots {
  std::array<uint8_t, 256> op{};
  std::array<int8_t, 256> io{};
  std::array<uint8_t, 256> result{};
};

constexpr Slots build_slots() {
  Slots s;
  for (auto& v : s.io) v = -1;
  int next_io = 0;
  for (size_t i = 0; i < std::size(kOps); i++) {
    s.op[kOps[i].opcode] = uint8_t(i + 1);
    if (kOps[i].stat != A::None) s.io[kOps[i].opcode] = int8_t(next_io++);
  }
  for (size_t i = 0; i < std::size(kResults); i++)
    s.result[uint32_t(kResults[i].code)] = uint8_t(i + 1);
  return s;
}
constexpr Slots kSlots = build_slots();

constexpr size_t count_io() {
  size_t n = 0;
  for (const auto& op : kOps) n += op.stat != A::None;
  return n;
}
static_assert(count_io() == RequestMetrics::kIoSlots);

size_t result_slot(uint32_t code) { return code < 256 ? kSlots.result[code] : 0; }

const char* kSideNames[] = {"client", "peer"};

}  // namespace

std::span<const OpLabel> op_labels() { return kOps; }

const OpLabel* op_label(uint8_t opcode) {
  size_t slot = kSlots.op[opcode];
  return slot ? &kOps[slot - 1] : nullptr;
}

const char* result_label(uint32_t code) {
  size_t slot = result_slot(code);
  return slot ? kResults[slot - 1].label : "other";
}

size_t RequestMetrics::op_slot(uint8_t opcode) { return kSlots.op[opcode]; }
int RequestMetrics::io_slot(uint8_t opcode) { return kSlots.io[opcode]; }

RequestMetrics::RequestMetrics()
    : requests_(new std::atomic<uint64_t>[kOpSlots * kResultSlots]) {
  for (size_t i = 0; i < kOpSlots * kResultSlots; i++)
    requests_[i].store(0, std::memory_order_relaxed);
}

void RequestMetrics::begin(const SdReq& h) {
  const OpLabel* op = op_label(h.opcode);
  if (!op || op->stat == A::None) return;
  PerSide& side = sides_[size_t(op->side)];
  side.received.fetch_add(1, std::memory_order_relaxed);
  side.in_flight.fetch_add(1, std::memory_order_relaxed);
  auto& bytes = (h.flags & kFlagWrite) ? side.write_bytes : side.read_bytes;
  bytes.fetch_add(h.data_length, std::memory_order_relaxed);
}

void RequestMetrics::finish(const SdReq& h, Res r, uint64_t ns) {
  size_t slot = op_slot(h.opcode);
  cell(slot, result_slot(uint32_t(r))).fetch_add(1, std::memory_order_relaxed);
  int io = io_slot(h.opcode);
  if (io < 0) return;
  sides_[size_t(kOps[slot - 1].side)].in_flight.fetch_sub(1, std::memory_order_relaxed);
  latency_[size_t(io)].observe(ns);
}

uint64_t RequestMetrics::answered(uint8_t opcode, Res r) const {
  return cell(op_slot(opcode), result_slot(uint32_t(r))).load(std::memory_order_relaxed);
}

uint64_t RequestMetrics::answered_io(Side side, StatAs as) const {
  uint64_t n = 0;
  for (size_t i = 0; i < std::size(kOps); i++) {
    const OpLabel& op = kOps[i];
    if (op.side != side || op.stat == A::None || (as != A::None && op.stat != as)) continue;
    for (size_t r = 0; r < kResultSlots; r++) n += cell(i + 1, r).load(std::memory_order_relaxed);
  }
  return n;
}

SdStat RequestMetrics::stat() const {
  SdStat s{};
  const PerSide& c = sides_[size_t(Side::Client)];
  const PerSide& p = sides_[size_t(Side::Peer)];
  s.gway_active = c.in_flight.load(std::memory_order_relaxed);
  s.peer_active = p.in_flight.load(std::memory_order_relaxed);
  // Received: answered, and being served; counted once, when begun.
  s.gway_total = c.received.load(std::memory_order_relaxed);
  s.peer_total = p.received.load(std::memory_order_relaxed);
  s.gway_rx = c.write_bytes.load(std::memory_order_relaxed);
  s.gway_tx = c.read_bytes.load(std::memory_order_relaxed);
  s.peer_rx = p.write_bytes.load(std::memory_order_relaxed);
  s.peer_tx = p.read_bytes.load(std::memory_order_relaxed);
  s.gway_remove = answered_io(Side::Client, A::Remove);
  s.gway_read = answered_io(Side::Client, A::Read);
  s.gway_write = answered_io(Side::Client, A::Write);
  s.gway_flush = answered_io(Side::Client, A::Flush);
  s.peer_remove = answered_io(Side::Peer, A::Remove);
  s.peer_read = answered_io(Side::Peer, A::Read);
  s.peer_write = answered_io(Side::Peer, A::Write);
  return s;
}

void RequestMetrics::render(TextExposition& page) const {
  for (Side side : {Side::Client, Side::Peer}) {
    std::string base = std::string("sheepdog_") + kSideNames[size_t(side)];
    std::string name = base + "_requests_total";
    page.family(name, Kind::Counter,
                side == Side::Client
                    ? "Requests answered, by opcode and result (every request but peer I/O)."
                    : "Peer I/O requests (object copies from other sheep) answered, by opcode "
                      "and result.");
    for (size_t slot = 0; slot <= std::size(kOps); slot++) {
      const char* op = slot ? kOps[slot - 1].label : "other";
      Side op_side = slot ? kOps[slot - 1].side : Side::Client;
      if (op_side != side) continue;
      for (size_t r = 0; r < kResultSlots; r++) {
        uint64_t n = cell(slot, r).load(std::memory_order_relaxed);
        if (!n) continue;
        const char* result = r ? kResults[r - 1].label : "other";
        page.sample(name, {{"op", op}, {"result", result}}, n);
      }
    }
    const PerSide& ps = sides_[size_t(side)];
    name = base + "_io_in_flight";
    page.family(name, Kind::Gauge, "I/O requests being served now.");
    page.sample(name, {}, ps.in_flight.load(std::memory_order_relaxed));
    name = base + "_write_bytes_total";
    page.family(name, Kind::Counter, "Data bytes received with I/O requests that carry data (writes).");
    page.sample(name, {}, ps.write_bytes.load(std::memory_order_relaxed));
    name = base + "_read_bytes_total";
    page.family(name, Kind::Counter, "Data bytes asked for by I/O requests that carry none (reads).");
    page.sample(name, {}, ps.read_bytes.load(std::memory_order_relaxed));
    name = base + "_io_duration_seconds";
    page.family(name, Kind::Histogram,
                "Time from reading an I/O request to its reply being ready, by opcode.");
    for (const OpLabel& op : kOps) {
      if (op.side != side || op.stat == A::None) continue;
      page.histogram(name, {{"op", op.label}}, latency_[size_t(io_slot(op.opcode))].snapshot());
    }
  }
}

}  // namespace sd::metrics
