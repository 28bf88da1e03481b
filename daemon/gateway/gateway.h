// Gateway: object I/O routed to the object's owners.
//
// For each request it resolves the copy count (ObjectPolicy), asks the
// current membership's ring for the owners, and serves each copy from the
// local store or forwards it to the peer that owns it. Reads use one copy
// (the local one when present) and fall back to the others; writes go to
// every copy and succeed only if every copy succeeded. Requests that race
// an epoch change wait for the next membership (with a deadline) and are
// retried against its ring; a write whose epoch moved while it ran is
// written again under the new ring. VDI operations inside the daemon use
// the same entry points, so they work unchanged on a cluster.
//
// This node's own copy goes through LocalReplica, the path the peer
// handlers use for the copies other gateways send here.
//
// Data objects of erasure-coded VDIs (docs/PROTOCOL.md §7.6) take the
// paths of erasure_io.cpp: a write encodes its stripes and sends strip k
// to the k-th owner, all of them durable before it succeeds (a partial
// stripe is read first, under StripeLocks); a read fetches the D data
// strips and decodes from the parity when some are missing.
//
// Folder gateway/ may use base/, store/, peers/, group/ and recovery/.
#pragma once
#include <cstdint>

#include <vector>

#include "erasure_code.h"
#include "gateway/stripe_locks.h"
#include "group/membership.h"
#include "result.h"

namespace sd {

class PeerPool;
class ObjectPolicy;
class LocalReplica;
class ObjectRecovery;

class Gateway {
 public:
  Gateway(const MembershipSource& members, const ObjectPolicy& policy, PeerPool& peers,
          LocalReplica& replica, ObjectRecovery& recovery)
      : members_(members), policy_(policy), peers_(peers), replica_(replica), recovery_(recovery) {}

  // Offsets and lengths must lie within the object (ops.cpp checks what
  // clients send; the daemon's own callers compute them): asserted only.

  Status read(uint64_t oid, void* buf, uint32_t len, uint32_t offset, uint8_t copies = 0);
  Status write(uint64_t oid, const void* buf, uint32_t len, uint32_t offset, uint8_t copies = 0);
  // With cow_oid set, the rest of the object is copied from cow_oid.
  Status create_and_write(uint64_t oid, const void* buf, uint32_t len, uint32_t offset,
                          uint8_t copies = 0, uint64_t cow_oid = 0);
  Status remove(uint64_t oid, uint8_t copies = 0);

  // This node's copy (LocalReplica) with on-demand recovery: a miss on an
  // object this node should hold fetches it from earlier owners first.
  // OldNodeVer when the ring moved on meanwhile.
  // `piece`: the strip of an erasure-coded object, offsets within it.
  Status local_read(uint64_t oid, void* buf, uint32_t len, uint32_t offset,
                    int piece = kWholeObject);
  Status local_write(uint64_t oid, const void* buf, uint32_t len, uint32_t offset,
                     int piece = kWholeObject);
  // A read that cannot block (for the event loop): true when this node
  // holds a current copy of oid and the bytes came from the page cache
  // through an open descriptor. False means nothing; the caller takes the
  // normal path.
  bool read_local_cached(uint64_t oid, void* buf, uint32_t len, uint32_t offset, uint8_t copies);

 private:
  enum class Kind { Create, Write, Remove };
  // What write_all sends each owner: the same bytes to every one
  // (replicated: strips == nullptr), or strips[k] to the k-th owner as
  // strip k, at least min_owners of which must be placeable.
  struct Payload {
    const void* buf = nullptr;
    uint32_t len = 0;
    uint32_t offset = 0;
    const uint8_t* const* strips = nullptr;
    int min_owners = 1;
  };
  Status write_all(Kind kind, uint64_t oid, const Payload& data, uint8_t copies);
  // Erasure-coded data objects (erasure_io.cpp).
  // `locked`: the caller holds the stripes (StripeLocks) already. (A
  // coded object has D+P owners whatever count a client names.)
  Status ec_read(const EcShape& shape, uint64_t oid, void* buf, uint32_t len, uint32_t offset,
                 bool locked = false);
  Status ec_write(Kind kind, const EcShape& shape, uint64_t oid, const void* buf, uint32_t len,
                  uint32_t offset, uint8_t copies);
  // Reads len bytes at off of the strips at `positions` of p, in parallel,
  // into bufs[k]; results[k] receives each outcome.
  void read_strips(const Membership& m, const Placement& p, uint64_t oid,
                   const std::vector<int>& positions, uint8_t* const* bufs, uint32_t len,
                   uint32_t off, uint8_t copies, uint8_t copy_policy, Res* results);
  // Runs op on the local copy of oid, fetching a current one first when
  // there is none (op then runs again).
  template <class Op>
  Status on_local_copy(uint64_t oid, Op&& op);
  // After a remove: asks the other members to drop any copy they keep.
  void drop_other_copies(uint64_t oid, const Membership& m, const Placement& owners);

  const MembershipSource& members_;
  const ObjectPolicy& policy_;
  PeerPool& peers_;
  LocalReplica& replica_;
  ObjectRecovery& recovery_;
  StripeLocks stripe_locks_;
};

}  // namespace sd
