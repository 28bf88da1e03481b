// Requests: the one encoder of every request dog and the nbd plugin send
// (the daemon's peer calls are in daemon/peers/, on top of peer_object). Each function
// fills the header of one opcode; the caller sends it with the payload the
// comment names. Typed calls for what dog and the plugin both ask
// (node list, VDI bitmaps) perform the call as well.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "client/sheep_client.h"
#include "proto/node.h"
#include "proto/wire.h"
#include "result.h"

namespace sd::request {

// ---- cluster and nodes ----
SdReq node_list(uint32_t max_nodes);                  // GET_NODE_LIST into max_nodes sd_nodes
SdReq stat_cluster(uint32_t bytes, uint32_t nodes_nr);  // STAT_CLUSTER, nodes_nr slots a record
SdReq cluster_info();                                 // CLUSTER_INFO into a ClusterInfo
SdReq store_list(uint32_t bytes);                     // GET_STORE_LIST
struct Format {
  uint8_t copies = 0;
  uint8_t copy_policy = 0;
  uint8_t block_size_shift = 0;
  uint16_t flags = 0;
  uint64_t ctime = 0;
};
SdReq make_fs(const Format& f, uint32_t store_name_len);  // payload: the store name, NUL included
SdReq shutdown();
SdReq cluster_default();                              // GET_CLUSTER_DEFAULT
SdReq alter_cluster_copy(uint8_t copies, uint8_t copy_policy);  // ALTER_CLUSTER_COPY
// ALTER_VDI_COPY: the VDI's copies (and, as upstream's dog sends them, its
// copy policy and block size shift).
SdReq alter_vdi_copy(uint32_t vid, uint8_t copies, uint8_t copy_policy, uint8_t block_size_shift);
SdReq kill_node();
SdReq force_recover(uint32_t bytes);
SdReq recovery(bool enable);                          // ENABLE_RECOVER / DISABLE_RECOVER
SdReq stat_sheep();                                   // node sizes in the reply header
SdReq stat_recovery(uint32_t bytes);
SdReq set_recovery(uint32_t bytes);                   // payload: the throttle record
SdReq get_recovery(uint32_t bytes);
SdReq node_stat(uint32_t bytes);                      // STAT
// NOTIFY_VDI_ADD: the vid's copies, copy policy and object size; set_bitmap:
// set its bit in the in-use bitmap (dog cluster snapshot load).
SdReq notify_vdi_add(uint32_t vid, uint8_t copies, uint8_t copy_policy,
                     uint8_t block_size_shift, bool set_bitmap);
SdReq reweight();                                     // REWEIGHT
SdReq md_info(uint32_t bytes);                        // MD_INFO into an MdInfo
SdReq md_plug(bool plug, uint32_t payload_len);       // MD_PLUG / MD_UNPLUG; payload: "p1,p2"
SdReq set_vnodes();  // SET_VNODES; payload: 8 bytes, the first four an int32
SdReq get_vnodes();                                   // GET_VNODES into an int32
SdReq get_loglevel();                                 // into an int32
SdReq set_loglevel();                                 // payload: an int32
SdReq epoch_file(uint32_t epoch, uint32_t bytes);     // GET_EPOCH

// ---- VDIs ----
SdReq vdi_bitmap(bool deleted);                       // READ_VDIS / READ_DEL_VDIS
struct NewVdi {
  uint64_t size = 0;
  uint32_t base_vid = 0;
  uint8_t copies = 0;
  uint8_t copy_policy = 0;
  uint8_t store_policy = 0;
  uint8_t block_size_shift = 0;
  uint32_t snapid = 0;  // non-zero: a snapshot
};
SdReq new_vdi(const NewVdi& v);                       // payload: the 256-byte name
SdReq del_vdi(uint32_t snapid, uint32_t payload_len);  // payload: name (and tag)
SdReq vdi_attr(uint16_t flags);                       // payload: a VdiAttr
SdReq vdi_states(uint32_t bytes);                     // GET_VDI_COPIES
// payload: the name; resume_token: 0, or the token of a lock to take up again
SdReq lock_vdi(bool shared, uint32_t payload_len, uint64_t resume_token = 0);
SdReq release_vdi(uint32_t vid, bool shared, bool own_only = false);

// ---- objects ----
SdReq exist(uint64_t oid);
SdReq get_hash(uint64_t oid, uint32_t epoch);
SdReq repair_replica(uint64_t oid, const NodeId& from);
// A conditional REPAIR_REPLICA; payload: a RepairCondition (proto/scrub.h).
SdReq repair_replica_if(uint64_t oid, const NodeId& from);
// SCRUB (proto/scrub.h): command, START's rate in MiB/s, reply bytes.
SdReq scrub(uint32_t command, uint32_t rate_mib, uint32_t bytes);
SdReq oids_exist(uint32_t count);                     // payload: count oids; missing ones back
// The object requests sheep send each other (READ/WRITE/CREATE_AND_WRITE/
// REMOVE_PEER), which dog vdi check sends too: len bytes at offset of the
// node's copy, or of its strip ec_index of an erasure-coded object, under
// `epoch`; `copies` is the count the sender places the object with.
SdReq peer_object(uint8_t opcode, uint32_t epoch, uint64_t oid, uint32_t len, uint32_t offset,
                  uint8_t copies, uint8_t ec_index);
// DIRECT_WRITE from a writer to the first owner of a data object (kept
// in `copies` copies; docs/PROTOCOL.md §7.8), proving the VDI's lock with
// its token.
SdReq direct_write(uint64_t oid, uint32_t len, uint32_t offset, uint8_t copies,
                   uint64_t lock_token);

}  // namespace sd::request

namespace sd {

// GET_NODE_LIST: the nodes in node order. The transport's error, or the
// server's result code as the error.
Result<std::vector<SdNode>> get_node_list(SheepClient& c);
// READ_VDIS / READ_DEL_VDIS: the 2^24-bit bitmap, as bytes.
Result<std::vector<uint8_t>> read_vdi_bitmap(SheepClient& c, bool deleted);
// An object's file name as the plain store writes it: 16 hex digits.
std::string oid_name(uint64_t oid);

}  // namespace sd
