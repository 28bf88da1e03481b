// The client wire protocol: 48-byte request/response headers, opcodes and
// flags, byte-compatible with upstream Sheepdog 0.9/1.0 on x86-64.
//
// All integers are little-endian and structs use natural alignment with no
// packing, exactly as upstream copies them to the socket. Every size and
// offset is checked at compile time below; this header is the only place
// that describes the header layout.
#pragma once
#include <cstddef>
#include <cstdint>

namespace sd {

inline constexpr uint8_t kProtoVer = 0x02;        // client protocol
inline constexpr uint8_t kSheepProtoVer = 0x0a;   // internal ops (>= 0x80)
inline constexpr uint16_t kListenPort = 7000;
inline constexpr size_t kHeaderSize = 48;

// Opcodes (docs/PROTOCOL.md §3).
enum Op : uint8_t {
  kOpCreateAndWriteObj = 0x01,
  kOpReadObj = 0x02,
  kOpWriteObj = 0x03,
  kOpRemoveObj = 0x04,
  kOpDiscardObj = 0x05,
  kOpNewVdi = 0x11,
  kOpLockVdi = 0x12,
  kOpReleaseVdi = 0x13,
  kOpGetVdiInfo = 0x14,
  kOpReadVdis = 0x15,
  kOpFlushVdi = 0x16,
  kOpDelVdi = 0x17,
  kOpGetClusterDefault = 0x18,
  // internal (proto_ver 0x0a)
  kOpGetNodeList = 0x82,
  kOpMakeFs = 0x84,
  kOpShutdown = 0x85,
  kOpStatSheep = 0x86,
  kOpStatCluster = 0x87,
  kOpGetVdiAttr = 0x89,
  kOpForceRecover = 0x8a,
  kOpGetStoreList = 0x90,
  kOpCleanup = 0x94,
  kOpStatRecovery = 0x97,
  kOpFlushDelCache = 0x98,
  kOpNotifyVdiDel = 0x99,
  kOpKillNode = 0x9a,
  kOpGetObjList = 0xa1,
  kOpGetEpoch = 0xa2,
  kOpCreateAndWritePeer = 0xa3,
  kOpReadPeer = 0xa4,
  kOpWritePeer = 0xa5,
  kOpRemovePeer = 0xa6,
  kOpEnableRecover = 0xa8,
  kOpDisableRecover = 0xa9,
  kOpGetVdiCopies = 0xab,
  kOpCompleteRecovery = 0xac,
  kOpNotifyVdiAdd = 0xaf,
  kOpDeleteCache = 0xb0,
  kOpMdInfo = 0xb1,
  kOpMdPlug = 0xb2,
  kOpMdUnplug = 0xb3,
  kOpGetHash = 0xb4,
  kOpReweight = 0xb5,
  kOpStat = 0xb8,
  kOpGetLoglevel = 0xb9,
  kOpSetLoglevel = 0xba,
  kOpExist = 0xbd,
  kOpClusterInfo = 0xbe,
  kOpAlterClusterCopy = 0xbf,
  kOpAlterVdiCopy = 0xc0,
  kOpDecrefObj = 0xc1,
  kOpDecrefPeer = 0xc2,
  kOpRepairReplica = 0xc5,
  kOpOidsExist = 0xc6,
  kOpReadDelVdis = 0xc9,
  kOpGetRecovery = 0xca,
  kOpSetRecovery = 0xcb,
  kOpSetVnodes = 0xcc,
  kOpGetVnodes = 0xcd,
  // Private to this implementation (sheep to sheep only): "these data
  // objects lost a reference; free each one nothing references any more".
  // Payload: pairs of u32 (owner vid, block index). Runs on the master.
  kOpReleaseObjects = 0xe0,
  kOpGetStaleList = 0xe1,  // ours: (oid, epoch) of every stale copy, 16 bytes each
  kOpAuthChallenge = 0xe2,  // ours: cluster-key handshake, see cluster_key.h
  kOpAuthResponse = 0xe3,
  // Ours, from a writer to the first owner of a data object (docs/
  // PROTOCOL.md §7.8): WRITE_OBJ whose VDI lock is proven by the token in
  // obj.lock_token instead of by the connection. Replicated VDIs only.
  kOpDirectWrite = 0xe5,
  kOpScrub = 0xe6,  // ours: a sheep's scrubber (proto/scrub.h)
};

// Request flags (hdr.flags).
enum Flag : uint16_t {
  kFlagWrite = 0x0001,
  kFlagCow = 0x0002,
  kFlagCache = 0x0004,
  kFlagDirect = 0x0008,
  kFlagPiggyback = 0x0010,
  kFlagTgt = 0x0020,
  kFlagFwd = 0x0040,
  kFlagRecovery = 0x0080,
  kFlagWildcard = 0x0100,  // same bit as kFlagCreat
  kFlagCreat = 0x0100,
  kFlagExcl = 0x0200,
  kFlagDel = 0x0400,
};

struct ReqObj {
  uint64_t oid;
  union {
    uint64_t cow_oid;
    uint64_t lock_token;  // DIRECT_WRITE: the token of the writer's VDI lock
  };
  uint8_t copies;
  uint8_t copy_policy;
  uint8_t ec_index;
  uint8_t reserved;
  uint32_t tgt_epoch;
  uint32_t offset;  // 32-bit on the wire
  uint32_t pad;
};

struct ReqVdi {
  uint64_t vdi_size;
  uint32_t base_vdi_id;
  uint8_t copies;
  uint8_t copy_policy;
  uint8_t store_policy;
  uint8_t block_size_shift;
  uint32_t snapid;
  uint32_t type;
  union {
    struct {
      uint32_t own_only;  // ours, RELEASE_VDI: only a lock this connection holds (0: any, as upstream)
      uint32_t unused;
    };
    // Ours, LOCK_VDI: 0 for a new lock (as upstream), or the token of a lock
    // this client held on a connection that was lost, to take it up again
    // (granted only if nobody broke it or took the VDI meanwhile).
    uint64_t lock_token;
  };
};

struct ReqCluster {
  uint64_t oid;
  uint64_t ctime;
  uint8_t copies;
  uint8_t copy_policy;
  uint16_t flags;
  uint32_t tag;
  uint32_t nodes_nr;
  uint8_t block_size_shift;
  uint8_t reserved[3];
};

struct ReqVdiState {
  uint32_t old_vid;
  uint32_t new_vid;
  uint8_t copies;
  uint8_t set_bitmap;
  uint8_t copy_policy;
  uint8_t block_size_shift;
  uint32_t unused[5];
};

struct ReqRef {
  uint64_t oid;
  uint32_t generation;
  uint32_t count;
  uint32_t unused[4];
};

struct ReqForw {
  uint64_t oid;
  uint8_t addr[16];
  uint16_t port;
  uint8_t pad[6];
};

struct SdReq {
  uint8_t proto_ver;
  uint8_t opcode;
  uint16_t flags;
  uint32_t epoch;
  uint32_t id;
  uint32_t data_length;
  union {
    ReqObj obj;
    ReqVdi vdi;
    ReqCluster cluster;
    ReqVdiState vdi_state;
    ReqRef ref;
    ReqForw forw;
    uint32_t raw[8];
  };
};

struct RspObj {
  uint32_t result_;
  uint8_t copies;
  uint8_t reserved[3];
  uint64_t offset;
  // Ours, between sheep only (upstream leaves it 0): in the reply to a
  // READ_PEER with kFlagRecovery, the epoch through which the copy sent is
  // known current.
  uint32_t copy_epoch;
  uint32_t unused;
};

struct RspVdi {
  uint32_t result_;
  uint32_t rsvd;
  uint32_t vdi_id;
  uint32_t attr_id;
  uint8_t copies;
  uint8_t block_size_shift;
  uint8_t reserved[2];
  uint32_t unused;
  union {
    uint64_t lock_since;  // ours: LOCK_VDI answered VDI_LOCKED: unix time it was taken
    uint64_t lock_token;  // ours: LOCK_VDI succeeded: the token to take it up again with
  };
};

struct RspNode {
  uint32_t result_;
  uint32_t nr_nodes;
  uint32_t reserved[2];
  uint64_t store_size;
  uint64_t store_free;
};

struct RspHash {
  uint32_t result_;
  uint32_t pad;
  uint8_t digest[20];
  uint32_t unused;
};

struct RspClusterDefault {
  uint32_t result_;
  uint8_t nr_copies;
  uint8_t copy_policy;
  uint8_t block_size_shift;
  uint8_t pad;
  uint32_t unused[6];
};

struct SdRsp {
  uint8_t proto_ver;
  uint8_t opcode;
  uint16_t flags;
  uint32_t epoch;
  uint32_t id;
  uint32_t data_length;
  union {
    uint32_t result;
    RspObj obj;
    RspVdi vdi;
    RspNode node;
    RspHash hash;
    RspClusterDefault cluster_default;
    uint32_t raw[8];
  };
};

static_assert(sizeof(SdReq) == kHeaderSize);
static_assert(sizeof(SdRsp) == kHeaderSize);
static_assert(offsetof(SdReq, opcode) == 1 && offsetof(SdReq, flags) == 2);
static_assert(offsetof(SdReq, epoch) == 4 && offsetof(SdReq, id) == 8);
static_assert(offsetof(SdReq, data_length) == 12);
static_assert(offsetof(SdReq, obj.oid) == 16 && offsetof(SdReq, obj.cow_oid) == 24);
static_assert(offsetof(SdReq, obj.copies) == 32 && offsetof(SdReq, obj.copy_policy) == 33);
static_assert(offsetof(SdReq, obj.ec_index) == 34 && offsetof(SdReq, obj.tgt_epoch) == 36);
static_assert(offsetof(SdReq, obj.offset) == 40 && offsetof(SdReq, obj.pad) == 44);
static_assert(offsetof(SdReq, vdi.vdi_size) == 16 && offsetof(SdReq, vdi.base_vdi_id) == 24);
static_assert(offsetof(SdReq, vdi.copies) == 28 && offsetof(SdReq, vdi.copy_policy) == 29);
static_assert(offsetof(SdReq, vdi.store_policy) == 30);
static_assert(offsetof(SdReq, vdi.block_size_shift) == 31);
static_assert(offsetof(SdReq, vdi.snapid) == 32 && offsetof(SdReq, vdi.type) == 36);
static_assert(offsetof(SdReq, vdi.own_only) == 40 && offsetof(SdReq, vdi.lock_token) == 40);
static_assert(offsetof(SdReq, cluster.ctime) == 24 && offsetof(SdReq, cluster.copies) == 32);
static_assert(offsetof(SdReq, cluster.copy_policy) == 33);
static_assert(offsetof(SdReq, cluster.flags) == 34 && offsetof(SdReq, cluster.tag) == 36);
static_assert(offsetof(SdReq, cluster.nodes_nr) == 40);
static_assert(offsetof(SdReq, cluster.block_size_shift) == 44);
static_assert(offsetof(SdReq, vdi_state.old_vid) == 16 && offsetof(SdReq, vdi_state.new_vid) == 20);
static_assert(offsetof(SdReq, vdi_state.copies) == 24);
static_assert(offsetof(SdReq, vdi_state.set_bitmap) == 25);
static_assert(offsetof(SdReq, vdi_state.copy_policy) == 26);
static_assert(offsetof(SdReq, vdi_state.block_size_shift) == 27);
static_assert(offsetof(SdReq, ref.generation) == 24 && offsetof(SdReq, ref.count) == 28);
static_assert(offsetof(SdReq, forw.addr) == 24 && offsetof(SdReq, forw.port) == 40);
static_assert(offsetof(SdRsp, result) == 16);
static_assert(offsetof(SdRsp, obj.copies) == 20 && offsetof(SdRsp, obj.offset) == 24);
static_assert(offsetof(SdRsp, vdi.vdi_id) == 24 && offsetof(SdRsp, vdi.attr_id) == 28);
static_assert(offsetof(SdRsp, vdi.copies) == 32 && offsetof(SdRsp, vdi.block_size_shift) == 33);
static_assert(offsetof(SdRsp, vdi.lock_since) == 40 && offsetof(SdRsp, vdi.lock_token) == 40);
static_assert(offsetof(SdRsp, node.nr_nodes) == 20 && offsetof(SdRsp, node.store_size) == 32);
static_assert(offsetof(SdRsp, node.store_free) == 40);
static_assert(offsetof(SdRsp, hash.digest) == 24);
static_assert(offsetof(SdRsp, cluster_default.nr_copies) == 20);
static_assert(offsetof(SdRsp, cluster_default.copy_policy) == 21);
static_assert(offsetof(SdRsp, cluster_default.block_size_shift) == 22);

// A zeroed request with the proto_ver dog would send for this opcode.
inline SdReq make_req(uint8_t opcode, uint16_t flags = 0, uint32_t data_length = 0) {
  SdReq r{};
  r.proto_ver = opcode >= 0x80 ? kSheepProtoVer : kProtoVer;
  r.opcode = opcode;
  r.flags = flags;
  r.data_length = data_length;
  return r;
}

}  // namespace sd
