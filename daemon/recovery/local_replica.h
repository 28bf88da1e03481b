// LocalReplica: this node's own copy of an object, and the one path by
// which it is read, written, put in place whole and removed, whoever asks:
// the gateway for the copy it holds itself, the peer handlers for the
// copies other gateways send here, recovery and repair for the copies they
// bring back.
//
// It keeps the ownership audit in step with the files: a live copy that
// may have missed writes is never read or written (the audit moves it to
// .stale and the caller sees NoObj); a copy put in place whole is marked
// current at its epoch and settled afterwards; removing a copy removes its
// stale copies too, since recovery could otherwise bring the object back.
//
// Offsets and lengths were checked against the piece's size where the
// request was parsed (ops/ops.cpp) or computed (the daemon's own callers).
// They are checked again here, with the piece, at the cost of a table
// lookup: whether an object is coded follows the VDI table, which may
// change between the two checks (a VDI created or released meanwhile), so
// a range or strip index that no longer fits is INVALID_PARMS, never an
// assertion or a file for a strip the object does not have.
#pragma once
#include <cstdint>

#include "erasure_code.h"
#include "group/membership.h"
#include "result.h"

namespace sd {

class ObjectPolicy;
class OwnershipAudit;
class ObjectStore;

class LocalReplica {
 public:
  LocalReplica(ObjectStore& store, OwnershipAudit& audit, const MembershipSource& members,
               const ObjectPolicy& policy)
      : store_(store), audit_(audit), members_(members), policy_(policy) {}

  // `piece` is kWholeObject for a replicated object, else the strip index
  // (docs/PROTOCOL.md §7.6); offsets are within the piece.
  //
  // The current live copy; NoObj when there is none here, or when the
  // strip here is another one than `piece`.
  Status read(uint64_t oid, void* buf, uint32_t len, uint64_t offset, int piece = kWholeObject);
  Status write(uint64_t oid, const void* buf, uint32_t len, uint64_t offset,
               int piece = kWholeObject);
  // A read that cannot block (for the event loop): true only when a current
  // copy is here and the bytes came from the page cache.
  bool read_cached(uint64_t oid, void* buf, uint32_t len, uint64_t offset,
                   int piece = kWholeObject);
  // Puts a whole piece in place, current at `epoch`: the piece's size, the
  // bytes [offset, offset+len) from buf, zeros elsewhere.
  Status create(uint64_t oid, uint32_t epoch, const void* buf, uint32_t len, uint64_t offset,
                int piece = kWholeObject);
  // Replaces the current whole copy with buf (its whole size) only while
  // its bytes still hash to `expect` (SHA-1, as GET_HASH): Again when a
  // write changed them since (ObjectStore::create_and_write).
  Status replace_unless_changed(uint64_t oid, uint32_t epoch, const void* buf,
                                const uint8_t* expect);
  // Puts our own stale copy of `stale_epoch` back as the live one, current
  // at `epoch`.
  Status restore_stale(uint64_t oid, uint32_t epoch, uint32_t stale_epoch,
                       int piece = kWholeObject);
  // Removes the live copy and every stale one. NoObj when there was no live
  // copy (the stale ones are gone all the same); Eio when a stale copy
  // could not be removed.
  Status remove(uint64_t oid);

 private:
  // *piece_size, when given, receives the piece's size.
  bool fits(uint64_t oid, uint32_t len, uint64_t offset, int piece,
            uint64_t* piece_size = nullptr) const;
  bool current(uint64_t oid);

  ObjectStore& store_;
  OwnershipAudit& audit_;
  const MembershipSource& members_;
  const ObjectPolicy& policy_;
};

}  // namespace sd
