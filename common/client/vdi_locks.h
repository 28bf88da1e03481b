// VDI locks from the client side: LOCK_VDI / RELEASE_VDI, and the
// cluster's lock table as GET_VDI_COPIES returns it (upstream's 1,428-byte
// vdi_state records, docs/PROTOCOL.md §6.8). Shared by dog (vdi lock list and
// unlock) and the nbd plugin (the lock of a writable export).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "client/sheep_client.h"
#include "proto/node.h"
#include "result.h"

namespace sd {

inline constexpr int kVdiStateParticipants = 31;
enum : uint32_t { kVdiUnlocked = 1, kVdiLocked = 2, kVdiSharedLock = 3 };

struct VdiStateRecord {
  uint32_t vid;
  uint8_t nr_copies;
  uint8_t snapshot;
  uint8_t deleted;
  uint8_t copy_policy;
  uint8_t block_size_shift;
  uint8_t pad[3];
  uint32_t parent_vid;
  uint32_t lock_state;
  NodeId lock_owner;
  uint32_t nr_participants;
  uint32_t participants_state[kVdiStateParticipants];
  NodeId participants[kVdiStateParticipants];
};
static_assert(sizeof(VdiStateRecord) == 1428);

// GET_VDI_COPIES: every VDI state the sheep knows, growing the buffer while
// the sheep says it is too small. The error is the transport's or the
// sheep's result.
Result<std::vector<VdiStateRecord>> get_vdi_states(SheepClient& c);

// "IPv4 ip:127.0.0.1 port:7000" (IPv6 likewise), as dog prints lock owners.
std::string node_id_str(const NodeId& nid);

// What a VDI_LOCKED answer says: the vid, and the unix time the lock was
// taken (0 from sheep that do not say).
struct LockedBy {
  uint32_t vid = 0;
  uint64_t since = 0;
};
// A lock this connection was granted.
struct GrantedLock {
  uint32_t vid = 0;
  uint64_t token = 0;  // to take it up again after a lost connection (0: not offered)
};
// LOCK_VDI of the working VDI `name` for this connection. resume_token:
// 0 for a new lock, or the token of one this client held before its
// connection was lost (the sheep answers InodeInvalidated when that lock
// was broken or another client took the VDI since). On VdiLocked, *by
// (when given) says which lock refused it.
Result<GrantedLock> lock_vdi(SheepClient& c, const std::string& name, bool shared,
                             LockedBy* by = nullptr, uint64_t resume_token = 0);
// "a client of the sheep at IPv4 ip:… port:…" (or the first participant of a
// shared lock) for vid's lock, from the lock table; "another client" when
// the table does not say.
std::string lock_holder_str(SheepClient& c, uint32_t vid);
// RELEASE_VDI of vid. own_only: only if this connection holds it (a lock
// someone else took meanwhile stays); otherwise the lock is broken.
Status release_vdi(SheepClient& c, uint32_t vid, bool shared, bool own_only);

}  // namespace sd
