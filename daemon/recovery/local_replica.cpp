// This node's own copy of an object (see local_replica.h).
#include "recovery/local_replica.h"

#include <cassert>
#include <cinttypes>

#include "base/log.h"
#include "group/object_policy.h"
#include "recovery/ownership_audit.h"
#include "store/object_store.h"

namespace sd {

bool LocalReplica::fits(uint64_t oid, uint32_t len, uint64_t offset, int piece,
                        uint64_t* piece_size) const {
  // The piece must be one this object has: a whole copy of a replicated
  // object, or strip 0..D+P-1 of a coded one.
  ObjectLayout l = policy_.layout(oid);
  if (!l.has_piece(piece)) return false;
  if (piece_size) *piece_size = l.piece_size(piece);
  return offset + len <= l.piece_size(piece);
}

bool LocalReplica::current(uint64_t oid) { return audit_.check(oid, *members_.membership()); }

Status LocalReplica::read(uint64_t oid, void* buf, uint32_t len, uint64_t offset, int piece) {
  if (!fits(oid, len, offset, piece)) return err(Res::InvalidParms);
  if (!current(oid)) return err(Res::NoObj);
  return store_.read(oid, buf, len, offset, piece);
}

Status LocalReplica::write(uint64_t oid, const void* buf, uint32_t len, uint64_t offset,
                           int piece) {
  if (!fits(oid, len, offset, piece)) return err(Res::InvalidParms);
  if (!current(oid)) return err(Res::NoObj);
  return store_.write(oid, buf, len, offset, piece);
}

bool LocalReplica::read_cached(uint64_t oid, void* buf, uint32_t len, uint64_t offset,
                               int piece) {
  return fits(oid, len, offset, piece) && current(oid) &&
         store_.read_cached(oid, buf, len, offset, piece);
}

Status LocalReplica::create(uint64_t oid, uint32_t epoch, const void* buf, uint32_t len,
                            uint64_t offset, int piece) {
  uint64_t size = 0;
  if (!fits(oid, len, offset, piece, &size)) return err(Res::InvalidParms);
  return audit_.write_whole(oid, epoch, [&] {
    return store_.create_and_write(oid, size, buf, len, offset, piece);
  });
}

Status LocalReplica::replace_unless_changed(uint64_t oid, uint32_t epoch, const void* buf,
                                            const uint8_t* expect) {
  uint64_t size = 0;
  if (!fits(oid, 0, 0, kWholeObject, &size)) return err(Res::InvalidParms);
  return audit_.write_whole(oid, epoch, [&] {
    return store_.create_and_write(oid, size, buf, uint32_t(size), 0, kWholeObject, expect);
  });
}

Status LocalReplica::restore_stale(uint64_t oid, uint32_t epoch, uint32_t stale_epoch,
                                   int piece) {
  return audit_.write_whole(oid, epoch,
                            [&] { return store_.restore_stale(oid, stale_epoch, piece); });
}

Status LocalReplica::remove(uint64_t oid) {
  Status live = store_.remove(oid);
  if (Status st = store_.remove_stale(oid); !st.ok()) {
    sd_err("%016" PRIx64 ": cannot remove its stale copies: %s", oid, strerror(st.code()));
    return err(Res::Eio);
  }
  return live;
}

}  // namespace sd
