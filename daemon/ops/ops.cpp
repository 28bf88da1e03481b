// Opcode table and the checks every request goes through; every request
// answered here is counted (metrics/request_metrics.h).
#include "ops/ops.h"

#include <chrono>

#include "base/log.h"
#include "sheep.h"

namespace sd {

namespace {

using K = OpKind;
using R = OpRange;

const OpInfo kOps[] = {
    {kOpCreateAndWriteObj, "CREATE_AND_WRITE_OBJ", K::Gateway, false, ops::create_and_write_obj, R::InObject},
    {kOpReadObj, "READ_OBJ", K::Gateway, false, ops::read_obj, R::InObject},
    {kOpWriteObj, "WRITE_OBJ", K::Gateway, false, ops::write_obj, R::InObject},
    {kOpRemoveObj, "REMOVE_OBJ", K::Gateway, false, ops::remove_obj},
    {kOpNewVdi, "NEW_VDI", K::Cluster, false, ops::new_vdi},
    {kOpLockVdi, "LOCK_VDI", K::Cluster, false, ops::lock_vdi},
    {kOpReleaseVdi, "RELEASE_VDI", K::Cluster, false, ops::release_vdi},
    {kOpGetVdiInfo, "GET_VDI_INFO", K::Cluster, false, ops::get_vdi_info},
    {kOpReadVdis, "READ_VDIS", K::Local, true, ops::read_vdis},
    {kOpFlushVdi, "FLUSH_VDI", K::Local, false, ops::flush_vdi},
    {kOpDelVdi, "DEL_VDI", K::Cluster, false, ops::del_vdi},
    {kOpGetClusterDefault, "GET_CLUSTER_DEFAULT", K::Local, true, ops::get_cluster_default},
    {kOpGetNodeList, "GET_NODE_LIST", K::Local, true, ops::get_node_list},
    {kOpMakeFs, "MAKE_FS", K::Cluster, true, ops::make_fs},
    {kOpShutdown, "SHUTDOWN", K::Cluster, true, ops::shutdown},
    {kOpStatSheep, "STAT_SHEEP", K::Local, false, ops::stat_sheep},
    {kOpStatCluster, "STAT_CLUSTER", K::Local, true, ops::stat_cluster},
    {kOpGetStoreList, "GET_STORE_LIST", K::Local, true, ops::get_store_list},
    {kOpStatRecovery, "STAT_RECOVERY", K::Local, false, ops::stat_recovery},
    {kOpStat, "STAT", K::Local, false, ops::stat_requests},
    {kOpFlushDelCache, "FLUSH_DEL_CACHE", K::Local, false, ops::nop},
    {kOpKillNode, "KILL_NODE", K::Local, true, ops::kill_node},
    {kOpGetObjList, "GET_OBJ_LIST", K::Local, false, ops::get_obj_list},
    {kOpGetEpoch, "GET_EPOCH", K::Local, false, ops::get_epoch},
    {kOpCreateAndWritePeer, "CREATE_AND_WRITE_PEER", K::Peer, false, ops::create_and_write_peer, R::InPiece},
    {kOpReadPeer, "READ_PEER", K::Peer, false, ops::read_peer, R::InPiece},
    {kOpWritePeer, "WRITE_PEER", K::Peer, false, ops::write_peer, R::InPiece},
    {kOpRemovePeer, "REMOVE_PEER", K::Peer, false, ops::remove_peer},
    {kOpDirectWrite, "DIRECT_WRITE", K::Gateway, false, ops::direct_write, R::InObject},
    {kOpEnableRecover, "ENABLE_RECOVER", K::Cluster, false, ops::enable_recover},
    {kOpDisableRecover, "DISABLE_RECOVER", K::Cluster, false, ops::disable_recover},
    {kOpDeleteCache, "DELETE_CACHE", K::Local, false, ops::nop},
    {kOpGetLoglevel, "GET_LOGLEVEL", K::Local, true, ops::get_loglevel},
    {kOpSetLoglevel, "SET_LOGLEVEL", K::Local, true, ops::set_loglevel},
    {kOpExist, "EXIST", K::Local, true, ops::exist},
    {kOpClusterInfo, "CLUSTER_INFO", K::Local, true, ops::cluster_info},
    {kOpReadDelVdis, "READ_DEL_VDIS", K::Local, true, ops::read_del_vdis},
    {kOpGetVdiAttr, "GET_VDI_ATTR", K::Cluster, false, ops::get_vdi_attr},
    {kOpGetVdiCopies, "GET_VDI_COPIES", K::Local, true, ops::get_vdi_copies},
    {kOpGetHash, "GET_HASH", K::Local, false, ops::get_hash},
    {kOpRepairReplica, "REPAIR_REPLICA", K::Gateway, false, ops::repair_replica},
    {kOpScrub, "SCRUB", K::Local, false, ops::scrub},
    {kOpOidsExist, "OIDS_EXIST", K::Local, true, ops::oids_exist},
    {kOpReleaseObjects, "RELEASE_OBJECTS", K::Cluster, false, ops::release_objects},
    {kOpGetStaleList, "GET_STALE_LIST", K::Local, false, ops::get_stale_list},
    {kOpGetRecovery, "GET_RECOVERY", K::Local, true, ops::get_recovery},
    {kOpAlterClusterCopy, "ALTER_CLUSTER_COPY", K::Cluster, false, ops::alter_cluster_copy},
    {kOpAlterVdiCopy, "ALTER_VDI_COPY", K::Cluster, false, ops::alter_vdi_copy},
    {kOpSetRecovery, "SET_RECOVERY", K::Local, true, ops::set_recovery},
    {kOpMdInfo, "MD_INFO", K::Local, false, ops::md_info},
    {kOpMdPlug, "MD_PLUG_DISKS", K::Local, false, ops::md_plug},
    {kOpMdUnplug, "MD_UNPLUG_DISKS", K::Local, false, ops::md_unplug},
    {kOpReweight, "REWEIGHT", K::Cluster, false, ops::reweight},
    {kOpSetVnodes, "SET_VNODES", K::Local, false, ops::set_vnodes},
    {kOpGetVnodes, "GET_VNODES", K::Local, false, ops::get_vnodes},
    {kOpNotifyVdiAdd, "NOTIFY_VDI_ADD", K::Cluster, false, ops::notify_vdi_add},
};

const OpInfo* g_table[256];

struct TableInit {
  TableInit() {
    for (const auto& op : kOps) g_table[op.opcode] = &op;
  }
} g_table_init;

// What is checked once, where a request is parsed: the byte range it
// addresses lies within its object (OpRange), and the copies it names
// (obj.copies sizes placements) are no more than a VDI may have.
bool well_formed(Sheep& sheep, const OpInfo& op, const Request& req) {
  const SdReq& h = req.hdr;
  if (op.range == OpRange::None && h.opcode != kOpRemoveObj) return true;
  if (h.obj.copies > kMaxCopies) return false;
  if (op.range == OpRange::None) return true;
  ObjectLayout l = sheep.policy.layout(h.obj.oid);
  int piece = kWholeObject;
  if (op.range == OpRange::InPiece && l.shape) {
    piece = h.obj.ec_index;
    if (!l.has_piece(piece)) return false;
  }
  return uint64_t(h.obj.offset) + h.data_length <= l.piece_size(piece);
}

}  // namespace

int request_piece(Sheep& s, const SdReq& h) {
  return s.policy.ec_shape(h.obj.oid) ? int(h.obj.ec_index) : kWholeObject;
}

namespace {

bool version_ok(const SdReq& h) {
  return h.opcode < 0x80 ? h.proto_ver <= kProtoVer : h.proto_ver == kSheepProtoVer;
}

void fill_reply_header(Sheep& sheep, Request& req, Res r) {
  if (r != Res::Success && !req.reply) req.rsp.data_length = 0;
  req.rsp.proto_ver = 0;
  req.rsp.flags = 0;
  req.rsp.opcode = req.hdr.opcode;
  req.rsp.id = req.hdr.id;
  req.rsp.epoch = sheep.group.epoch();
  req.rsp.result = uint32_t(r);
}

Res check_and_run(Sheep& sheep, Request& req) {
  const SdReq& h = req.hdr;
  if (!version_ok(h)) return Res::VerMismatch;
  const OpInfo* op = find_op(h.opcode);
  if (!op) return Res::InvalidParms;
  // Its VDI lock was broken: nothing more it sent runs (it is being closed).
  if (sheep.fenced.contains(req.conn_id)) return Res::VdiLocked;
  if (sheep.group.suspended() && !op->force) return Res::Halt;
  switch (sheep.group.status()) {
    case ClusterStatus::Shutdown: return Res::Shutdown;
    case ClusterStatus::Killed: return Res::Killed;
    case ClusterStatus::Wait:
      if (!op->force) return sheep.group.formatted() ? Res::WaitForJoin : Res::WaitForFormat;
      break;
    case ClusterStatus::Ok: break;
  }
  // A node whose store failed is leaving: its peers and clients go
  // elsewhere (NetworkError is retried under the next epoch).
  bool object_op = op->kind == OpKind::Peer || op->kind == OpKind::Gateway;
  if (object_op && sheep.store.failed()) return Res::NetworkError;
  if (!well_formed(sheep, *op, req)) return Res::InvalidParms;
  Res r = op->handler(sheep, req);
  if (object_op && r != Res::Success && sheep.store.failed()) return Res::NetworkError;
  return r;
}

}  // namespace

const OpInfo* find_op(uint8_t opcode) { return g_table[opcode]; }

namespace {

using Clock = std::chrono::steady_clock;

// Nanoseconds since the loop read the request (0 when it was not stamped).
uint64_t since_received(const Request& req) {
  if (req.received_at == Clock::time_point{}) return 0;
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - req.received_at);
  return uint64_t(ns.count());
}

}  // namespace

void execute(Sheep& sheep, Request& req) {
  req.rsp = SdRsp{};
  // (Requests that did not come through the loop are timed from here.)
  if (req.received_at == Clock::time_point{}) req.received_at = Clock::now();
  sheep.metrics.begin(req.hdr);
  Res r = check_and_run(sheep, req);
  fill_reply_header(sheep, req, r);
  sheep.metrics.finish(req.hdr, r, since_received(req));
  if (r != Res::Success && r != Res::NoObj)
    sd_debug("op %02x failed: %s", req.hdr.opcode, strerror(r));
}

RequestRunner::Queue OpRunner::queue_of(const Request& req) const {
  const OpInfo* op = find_op(req.hdr.opcode);
  if (!op) return Queue::Immediate;
  return op->kind == OpKind::Peer || op->kind == OpKind::Local ? Queue::Io : Queue::Gateway;
}

uint32_t OpRunner::reply_epoch() const { return sheep_.group.epoch(); }

void OpRunner::connection_closed(uint64_t conn_id) {
  sheep_.fenced.remove(conn_id);  // none of its requests runs any more
  LockHolder who{sheep_.self.nid, conn_id};
  if (!sheep_.locks.holds_any(who)) return;
  Res r = sheep_.group.release_locks(who);
  if (r != Res::Success)
    sd_err("cannot release the VDI locks of a closed connection: %s", strerror(r));
}

bool execute_inline(Sheep& sheep, Request& req) {
  const SdReq& h = req.hdr;
  if (h.opcode != kOpReadObj && h.opcode != kOpReadPeer) return false;
  if (!version_ok(h) || sheep.group.suspended() || sheep.group.status() != ClusterStatus::Ok ||
      !well_formed(sheep, *find_op(h.opcode), req))
    return false;
  req.rsp = SdRsp{};
  bool done = h.opcode == kOpReadObj ? ops::read_obj_cached(sheep, req)
                                     : ops::read_peer_cached(sheep, req);
  if (!done) {
    req.reply.reset();
    req.rsp = SdRsp{};
    return false;
  }
  fill_reply_header(sheep, req, Res::Success);
  sheep.metrics.begin(h);
  sheep.metrics.finish(h, Res::Success, since_received(req));
  return true;
}

}  // namespace sd
