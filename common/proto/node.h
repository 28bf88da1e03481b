// Node records and cluster metadata on the wire and on disk: node_id,
// sd_node (80 bytes), cluster_info (CLUSTER_INFO reply, 491,568 bytes),
// epoch_log (STAT_CLUSTER record header), the 40-byte config file, and the
// replies of STAT_RECOVERY (24 bytes) and STAT (the request counters, 120
// bytes).
//
// Layouts follow upstream exactly (docs/PROTOCOL.md §7.1, §8.4, §8.5, §9.2).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace sd {

inline constexpr size_t kMaxNodes = 6144;
inline constexpr size_t kStoreLen = 16;
inline constexpr uint16_t kFormatVersion = 0x0006;

struct NodeId {
  uint8_t addr[16];  // IPv6, or IPv4 as 12 zero bytes + 4 address bytes
  uint16_t port;     // host-endian
  uint8_t io_addr[16];
  uint16_t io_port;
  uint8_t pad[4];
};
static_assert(sizeof(NodeId) == 40);
static_assert(offsetof(NodeId, port) == 16 && offsetof(NodeId, io_addr) == 18);
static_assert(offsetof(NodeId, io_port) == 34);

struct SdNode {
  uint8_t rb[24];  // upstream's rb-tree pointers; always zero from us
  NodeId nid;
  uint16_t nr_vnodes;  // 0 = gateway only
  uint16_t pad;
  uint32_t zone;
  uint64_t space;
};
static_assert(sizeof(SdNode) == 80);
static_assert(offsetof(SdNode, nid) == 24 && offsetof(SdNode, nr_vnodes) == 64);
static_assert(offsetof(SdNode, zone) == 68 && offsetof(SdNode, space) == 72);

// Nodes are ordered by memcmp of the address, then by port (docs/PROTOCOL.md §7.2).
inline int compare_nodes(const SdNode& a, const SdNode& b) {
  int c = std::memcmp(a.nid.addr, b.nid.addr, 16);
  if (c) return c;
  return int(a.nid.port) - int(b.nid.port);
}
inline bool same_node(const SdNode& a, const SdNode& b) { return compare_nodes(a, b) == 0; }
inline bool same_node_id(const NodeId& a, const NodeId& b) {
  return a.port == b.port && std::memcmp(a.addr, b.addr, 16) == 0;
}

// "ip:port", IPv4 as a dotted quad when bytes 0..11 are zero.
std::string node_addr_str(const NodeId& nid);
std::string addr_str(const uint8_t addr[16]);
// Parses an IPv4/IPv6 literal into the 16-byte form; false if invalid.
bool parse_addr(const char* text, uint8_t out[16]);
// Default zone: the last four address bytes as a little-endian u32.
uint32_t default_zone(const uint8_t addr[16]);

enum class ClusterStatus : uint8_t { Ok = 1, Wait = 2, Shutdown = 3, Killed = 4 };

enum ClusterFlag : uint16_t {
  kClusterStrict = 0x0001,
  kClusterDiskmode = 0x0002,
  kClusterAutoVnodes = 0x0004,
  kClusterUseLock = 0x0008,
  kClusterRecycleVid = 0x0010,
  kClusterAvoidDiskfull = 0x0020,
};

struct ClusterInfo {
  uint8_t proto_ver;
  uint8_t disable_recovery;
  int16_t nr_nodes;
  uint32_t epoch;
  uint64_t ctime;
  uint16_t flags;
  uint8_t nr_copies;
  uint8_t copy_policy;
  uint8_t status;  // ClusterStatus
  uint8_t block_size_shift;
  uint8_t pad[3];
  uint8_t default_store[kStoreLen];
  uint8_t pad2[7];
  SdNode nodes[kMaxNodes];
};
static_assert(sizeof(ClusterInfo) == 491568);
static_assert(offsetof(ClusterInfo, epoch) == 4 && offsetof(ClusterInfo, ctime) == 8);
static_assert(offsetof(ClusterInfo, flags) == 16 && offsetof(ClusterInfo, nr_copies) == 18);
static_assert(offsetof(ClusterInfo, status) == 20);
static_assert(offsetof(ClusterInfo, block_size_shift) == 21);
static_assert(offsetof(ClusterInfo, default_store) == 25 && offsetof(ClusterInfo, nodes) == 48);

struct EpochLogHeader {
  uint64_t ctime;
  uint64_t time;
  uint32_t epoch;
  uint32_t nr_nodes;
  uint8_t disable_recovery;
  uint8_t nr_copies;
  uint8_t copy_policy;
  uint8_t pad[3];
  uint16_t flags;
  char drv_name[kStoreLen];
};
static_assert(sizeof(EpochLogHeader) == 48);
static_assert(offsetof(EpochLogHeader, epoch) == 16);
static_assert(offsetof(EpochLogHeader, nr_nodes) == 20);
static_assert(offsetof(EpochLogHeader, disable_recovery) == 24);
static_assert(offsetof(EpochLogHeader, flags) == 30);
static_assert(offsetof(EpochLogHeader, drv_name) == 32);

// DIR/config (40 bytes).
struct SheepConfig {
  uint64_t ctime;
  uint16_t flags;
  uint8_t copies;
  uint8_t default_store[kStoreLen];
  uint8_t shutdown;
  uint8_t copy_policy;
  uint8_t block_size_shift;
  uint16_t version;
  uint64_t space;
};
static_assert(sizeof(SheepConfig) == 40);
static_assert(offsetof(SheepConfig, copies) == 10);
static_assert(offsetof(SheepConfig, default_store) == 11);
static_assert(offsetof(SheepConfig, shutdown) == 27);
static_assert(offsetof(SheepConfig, copy_policy) == 28);
static_assert(offsetof(SheepConfig, block_size_shift) == 29);
static_assert(offsetof(SheepConfig, version) == 30 && offsetof(SheepConfig, space) == 32);

// STAT_RECOVERY reply and recovery throttling (GET/SET_RECOVERY).
struct RecoveryState {
  uint8_t in_recovery;
  uint8_t pad[3];
  uint32_t state;
  uint64_t nr_finished;
  uint64_t nr_total;
};
static_assert(sizeof(RecoveryState) == 24);

struct RecoveryThrottling {
  uint32_t max_exec_count;
  uint32_t pad;
  uint64_t queue_work_interval;
  uint8_t throttling;
  uint8_t pad2[7];
};
static_assert(sizeof(RecoveryThrottling) == 24);

// STAT reply: one sheep's request counters since it started
// (docs/PROTOCOL.md §3.7). "Gateway" is the client side: the object
// requests clients send (READ_OBJ, WRITE_OBJ, CREATE_AND_WRITE_OBJ,
// REMOVE_OBJ) and FLUSH_VDI; "peer" is the copies other sheep send here
// (READ_PEER, WRITE_PEER, CREATE_AND_WRITE_PEER, REMOVE_PEER). rx counts
// the data bytes of requests that carry data (writes), tx the data bytes
// asked for by the others (reads). The field order is upstream's.
struct SdStat {
  uint64_t gway_active;  // being served now
  uint64_t peer_active;
  uint64_t gway_total;   // received, including those being served
  uint64_t peer_total;
  uint64_t gway_rx;
  uint64_t gway_tx;
  uint64_t peer_rx;
  uint64_t peer_tx;
  uint64_t gway_remove;
  uint64_t gway_read;
  uint64_t gway_write;   // WRITE_OBJ and CREATE_AND_WRITE_OBJ
  uint64_t gway_flush;
  uint64_t peer_remove;
  uint64_t peer_read;
  uint64_t peer_write;   // WRITE_PEER and CREATE_AND_WRITE_PEER
};
static_assert(sizeof(SdStat) == 120);
static_assert(offsetof(SdStat, gway_total) == 16 && offsetof(SdStat, gway_rx) == 32);
static_assert(offsetof(SdStat, peer_rx) == 48 && offsetof(SdStat, gway_remove) == 64);
static_assert(offsetof(SdStat, gway_flush) == 88 && offsetof(SdStat, peer_remove) == 96);
static_assert(offsetof(SdStat, peer_write) == 112);

}  // namespace sd
