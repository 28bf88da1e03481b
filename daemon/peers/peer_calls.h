// Peer calls: the requests one sheep sends another, each encoded here once
// (READ/WRITE/CREATE_AND_WRITE/REMOVE_PEER, the recovery read, object and
// stale lists, OIDS_EXIST, GET_EPOCH, RELEASE_OBJECTS). Internal opcodes
// carry proto_ver 0x0a and the sender's epoch where the receiver checks it.
//
// Folder peers/ may use base/ and common/.
#pragma once
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "client/sheep_client.h"
#include "proto/node.h"
#include "result.h"

namespace sd::peer {

// A peer request for object I/O under `epoch` (the data, if any, is sent
// by the caller with SheepClient::submit/exec).
// `copies`: the count the sender places the object with; a peer whose VDI
// table says otherwise (ALTER_VDI_COPY not applied on one side yet) refuses
// with OLD_NODE_VER, and the sender tries again.
// `piece`: the strip of an erasure-coded object (obj.ec_index), offsets
// within it; kWholeObject (-1, sent as 0) for a replicated one.
// `copy_policy`: the object's D:P as the sender codes it (0: whole
// copies); with `copies` set, a peer that codes it otherwise refuses.
SdReq object_req(uint8_t opcode, uint32_t epoch, uint64_t oid, uint32_t len, uint32_t offset,
                 uint8_t copies = 0, int piece = -1, uint8_t copy_policy = 0);

// READ_PEER of len bytes at offset of the peer's current copy.
Status read(SheepClient& c, uint32_t epoch, uint64_t oid, void* buf, uint32_t len,
            uint32_t offset, int piece = -1);
// A recovery read: a whole object, from a copy current through at least
// tgt_epoch (0: the newest copy the peer has of any age). *copy_epoch, when
// given, receives the epoch through which the copy sent is current.
// `copies` is the count the caller places the object with (0: unsaid).
Status read_for_recovery(SheepClient& c, uint32_t epoch, uint64_t oid, uint32_t tgt_epoch,
                         void* buf, uint32_t size, uint32_t* copy_epoch, uint8_t copies = 0,
                         int piece = -1, uint8_t copy_policy = 0);
// REMOVE_PEER that drops whatever copy the peer keeps, live or stale.
Status remove_any_copy(SheepClient& c, uint32_t epoch, uint64_t oid);

// GET_OBJ_LIST: every oid the peer stores live.
bool object_list(SheepClient& c, std::vector<uint64_t>* out);
// GET_STALE_LIST: every stale copy the peer keeps, as (oid, epoch).
bool stale_list(SheepClient& c, std::vector<std::pair<uint64_t, uint32_t>>* out);
// OIDS_EXIST: which of `oids` the peer does not hold live.
Status missing_of(SheepClient& c, const std::vector<uint64_t>& oids, std::vector<uint64_t>* missing);
// GET_EPOCH: the raw epoch file (see group/epoch_log.h).
Status epoch_file(SheepClient& c, uint32_t epoch, std::vector<char>* out);
// STAT_SHEEP: the peer's store size (free plus used) and free bytes.
Status stat_sheep(SheepClient& c, uint64_t* size, uint64_t* free);
// GET_HASH with RECOVERY: the SHA-1 of the peer's current copy of oid,
// read checked against its block checksums (EIO for a bad copy).
Status get_hash(SheepClient& c, uint32_t epoch, uint64_t oid, uint8_t digest[20]);
// REPAIR_REPLICA: the peer replaces its copy of oid by the one `from` holds.
Status repair_from(SheepClient& c, uint64_t oid, const NodeId& from);
// The same, only if the copy read from `from` hashes to `good` and the
// peer's own still hashes to `current` (SHA-1s as GET_HASH gives them):
// Again when either changed, the copies being written meanwhile.
Status repair_from_if(SheepClient& c, uint64_t oid, const NodeId& from,
                      const uint8_t good[20], const uint8_t current[20]);
// RELEASE_OBJECTS to the master: (vid, index) pairs whose object lost a
// reference.
Status release_objects(SheepClient& c, const std::vector<std::pair<uint32_t, uint32_t>>& objects);

}  // namespace sd::peer
