// Encoders of the client requests.
#include "client/requests.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "proto/inode.h"
#include "proto/scrub.h"

namespace sd::request {

SdReq node_list(uint32_t max_nodes) {
  return make_req(kOpGetNodeList, 0, uint32_t(max_nodes * sizeof(SdNode)));
}

SdReq stat_cluster(uint32_t bytes, uint32_t nodes_nr) {
  SdReq r = make_req(kOpStatCluster, 0, bytes);
  r.cluster.nodes_nr = nodes_nr;
  return r;
}

SdReq cluster_info() { return make_req(kOpClusterInfo, 0, sizeof(ClusterInfo)); }
SdReq store_list(uint32_t bytes) { return make_req(kOpGetStoreList, 0, bytes); }

SdReq make_fs(const Format& f, uint32_t store_name_len) {
  SdReq r = make_req(kOpMakeFs, kFlagWrite, store_name_len);
  r.cluster.copies = f.copies;
  r.cluster.copy_policy = f.copy_policy;
  r.cluster.block_size_shift = f.block_size_shift;
  r.cluster.flags = f.flags;
  r.cluster.ctime = f.ctime;
  return r;
}

SdReq shutdown() { return make_req(kOpShutdown); }

SdReq cluster_default() { return make_req(kOpGetClusterDefault); }

SdReq alter_cluster_copy(uint8_t copies, uint8_t copy_policy) {
  SdReq r = make_req(kOpAlterClusterCopy);
  r.cluster.copies = copies;
  r.cluster.copy_policy = copy_policy;
  return r;
}

SdReq alter_vdi_copy(uint32_t vid, uint8_t copies, uint8_t copy_policy, uint8_t block_size_shift) {
  SdReq r = make_req(kOpAlterVdiCopy);
  r.vdi_state.new_vid = vid;
  r.vdi_state.copies = copies;
  r.vdi_state.copy_policy = copy_policy;
  r.vdi_state.block_size_shift = block_size_shift;
  return r;
}
SdReq kill_node() { return make_req(kOpKillNode); }
SdReq force_recover(uint32_t bytes) { return make_req(kOpForceRecover, 0, bytes); }
SdReq recovery(bool enable) { return make_req(enable ? kOpEnableRecover : kOpDisableRecover); }
SdReq stat_sheep() { return make_req(kOpStatSheep); }
SdReq stat_recovery(uint32_t bytes) { return make_req(kOpStatRecovery, 0, bytes); }
SdReq set_recovery(uint32_t bytes) { return make_req(kOpSetRecovery, kFlagWrite, bytes); }
SdReq get_recovery(uint32_t bytes) { return make_req(kOpGetRecovery, 0, bytes); }
SdReq node_stat(uint32_t bytes) { return make_req(kOpStat, 0, bytes); }
SdReq notify_vdi_add(uint32_t vid, uint8_t copies, uint8_t copy_policy,
                     uint8_t block_size_shift, bool set_bitmap) {
  SdReq r = make_req(kOpNotifyVdiAdd);
  r.vdi_state.new_vid = vid;
  r.vdi_state.copies = copies;
  r.vdi_state.copy_policy = copy_policy;
  r.vdi_state.block_size_shift = block_size_shift;
  r.vdi_state.set_bitmap = set_bitmap ? 1 : 0;
  return r;
}
SdReq reweight() { return make_req(kOpReweight); }
SdReq md_info(uint32_t bytes) { return make_req(kOpMdInfo, 0, bytes); }
SdReq md_plug(bool plug, uint32_t payload_len) {
  return make_req(plug ? kOpMdPlug : kOpMdUnplug, kFlagWrite, payload_len);
}
// Upstream sends 8 bytes, of which the sheep reads the first four.
SdReq set_vnodes() { return make_req(kOpSetVnodes, kFlagWrite, sizeof(uint64_t)); }
SdReq get_vnodes() { return make_req(kOpGetVnodes, 0, sizeof(int32_t)); }
SdReq get_loglevel() { return make_req(kOpGetLoglevel, 0, sizeof(int32_t)); }
SdReq set_loglevel() { return make_req(kOpSetLoglevel, kFlagWrite, sizeof(int32_t)); }

SdReq epoch_file(uint32_t epoch, uint32_t bytes) {
  SdReq r = make_req(kOpGetEpoch, 0, bytes);
  r.obj.tgt_epoch = epoch;
  return r;
}

SdReq vdi_bitmap(bool deleted) {
  return make_req(deleted ? kOpReadDelVdis : kOpReadVdis, 0, uint32_t(kVdiBitmapBytes));
}

SdReq new_vdi(const NewVdi& v) {
  SdReq r = make_req(kOpNewVdi, kFlagWrite, kMaxVdiLen);
  r.vdi.vdi_size = v.size;
  r.vdi.base_vdi_id = v.base_vid;
  r.vdi.copies = v.copies;
  r.vdi.copy_policy = v.copy_policy;
  r.vdi.store_policy = v.store_policy;
  r.vdi.block_size_shift = v.block_size_shift;
  r.vdi.snapid = v.snapid;
  return r;
}

SdReq del_vdi(uint32_t snapid, uint32_t payload_len) {
  SdReq r = make_req(kOpDelVdi, kFlagWrite, payload_len);
  r.vdi.snapid = snapid;
  return r;
}

SdReq vdi_attr(uint16_t flags) {
  SdReq r = make_req(kOpGetVdiAttr, kFlagWrite | flags, sizeof(VdiAttr));
  r.vdi.snapid = 0;
  return r;
}

SdReq vdi_states(uint32_t bytes) { return make_req(kOpGetVdiCopies, 0, bytes); }

SdReq lock_vdi(bool shared, uint32_t payload_len, uint64_t resume_token) {
  SdReq r = make_req(kOpLockVdi, kFlagWrite, payload_len);
  r.vdi.type = shared ? 1 : 0;
  r.vdi.lock_token = resume_token;
  return r;
}

SdReq release_vdi(uint32_t vid, bool shared, bool own_only) {
  SdReq r = make_req(kOpReleaseVdi);
  r.vdi.base_vdi_id = vid;
  r.vdi.type = shared ? 1 : 0;
  r.vdi.own_only = own_only ? 1 : 0;
  return r;
}

SdReq exist(uint64_t oid) {
  SdReq r = make_req(kOpExist);
  r.obj.oid = oid;
  return r;
}

SdReq get_hash(uint64_t oid, uint32_t epoch) {
  SdReq r = make_req(kOpGetHash);
  r.obj.oid = oid;
  r.obj.tgt_epoch = epoch;
  return r;
}

SdReq repair_replica(uint64_t oid, const NodeId& from) {
  SdReq r = make_req(kOpRepairReplica);
  r.forw.oid = oid;
  std::memcpy(r.forw.addr, from.addr, sizeof(r.forw.addr));
  r.forw.port = from.port;
  return r;
}

SdReq repair_replica_if(uint64_t oid, const NodeId& from) {
  SdReq r = repair_replica(oid, from);
  r.flags |= kFlagWrite;
  r.data_length = sizeof(sd::RepairCondition);
  return r;
}

SdReq scrub(uint32_t command, uint32_t rate_mib, uint32_t bytes) {
  SdReq r = make_req(kOpScrub, 0, bytes);
  r.raw[0] = command;
  r.raw[1] = rate_mib;
  return r;
}

SdReq peer_object(uint8_t opcode, uint32_t epoch, uint64_t oid, uint32_t len, uint32_t offset,
                  uint8_t copies, uint8_t ec_index) {
  bool carries_data =
      opcode == kOpWritePeer || opcode == kOpCreateAndWritePeer || opcode == kOpDirectWrite;
  SdReq req = make_req(opcode, carries_data ? kFlagWrite : 0, len);
  req.epoch = epoch;
  req.obj.oid = oid;
  req.obj.offset = offset;
  req.obj.copies = copies;
  req.obj.ec_index = ec_index;
  return req;
}

SdReq direct_write(uint64_t oid, uint32_t len, uint32_t offset, uint8_t copies,
                   uint64_t lock_token) {
  SdReq req = peer_object(kOpDirectWrite, 0, oid, len, offset, copies, 0);
  req.obj.lock_token = lock_token;
  return req;
}

SdReq oids_exist(uint32_t count) {
  return make_req(kOpOidsExist, kFlagWrite | kFlagPiggyback, uint32_t(count * sizeof(uint64_t)));
}

}  // namespace sd::request

namespace sd {

Result<std::vector<SdNode>> get_node_list(SheepClient& c) {
  std::vector<SdNode> nodes(kMaxNodes);
  auto rsp = c.call(request::node_list(uint32_t(nodes.size())), nullptr, nodes.data());
  if (!rsp.ok()) return err(rsp.code());
  if (Res(rsp->result) != Res::Success) return err(Res(rsp->result));
  nodes.resize(std::min<size_t>(rsp->node.nr_nodes, rsp->data_length / sizeof(SdNode)));
  return nodes;
}

Result<std::vector<uint8_t>> read_vdi_bitmap(SheepClient& c, bool deleted) {
  std::vector<uint8_t> bm(kVdiBitmapBytes, 0);
  auto rsp = c.call(request::vdi_bitmap(deleted), nullptr, bm.data());
  if (!rsp.ok()) return err(rsp.code());
  if (Res(rsp->result) != Res::Success) return err(Res(rsp->result));
  return bm;
}

std::string oid_name(uint64_t oid) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%016" PRIx64, oid);
  return buf;
}

}  // namespace sd
