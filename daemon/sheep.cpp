// Wiring of the daemon's parts.
#include "sheep.h"

#include <cinttypes>

#include "log.h"
#include "oid.h"
#include "server.h"

namespace sd {

Sheep::Sheep(const SheepOptions& o)
    : opts(o),
      store(o.dir + "/obj", o.nosync),
      config(o.dir + "/config"),
      epochs(o.dir + "/epoch"),
      group(*this),
      gateway(*this),
      vdi_ops(*this),
      recovery(*this),
      epoch_recovery(*this) {}

void Sheep::rebuild_vdi_table() {
  vdis.clear();
  size_t n = 0;
  for (uint64_t oid : store.list()) {
    if (!is_vdi_obj(oid)) continue;
    InodeHeader h;
    if (!store.read(oid, &h, kInodeLookupBytes, 0).ok()) {
      sd_err("cannot read inode %016" PRIx64, oid);
      continue;
    }
    VdiInfo info;
    info.copies = h.nr_copies;
    info.copy_policy = h.copy_policy;
    info.block_size_shift = h.block_size_shift;
    info.snapshot = inode_is_snapshot(h);
    info.deleted = inode_is_deleted(h);
    info.parent = h.parent_vdi_id;
    vdis.add(oid_to_vid(oid), info, true);
    n++;
  }
  if (n) sd_info("found %zu VDIs in the local store", n);
}

void Sheep::request_stop() {
  if (server) server->request_stop();
}

}  // namespace sd
