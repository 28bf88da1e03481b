// VDI request handlers: payload parsing and replies around VdiOps, and the
// raw VDI bitmaps.
#include <cstring>

#include "ops.h"
#include "sheep.h"
#include "vdi_ops.h"

namespace sd::ops {

namespace {

// Name (and tag) from a 256- or 512-byte payload; false for other sizes.
bool parse_name_tag(const Request& r, VdiLookup* q) {
  if (!r.is_write() || (r.data_length() != kMaxVdiLen && r.data_length() != kMaxVdiLen * 2))
    return false;
  q->name.assign(r.data(), strnlen(r.data(), kMaxVdiLen));
  if (r.data_length() == kMaxVdiLen * 2)
    q->tag.assign(r.data() + kMaxVdiLen, strnlen(r.data() + kMaxVdiLen, kMaxVdiTagLen));
  q->snapid = r.hdr.vdi.snapid;
  return true;
}

void set_vdi_reply(Request& r, const VdiReply& v) {
  r.rsp.vdi.vdi_id = v.vid;
  r.rsp.vdi.copies = v.copies;
  r.rsp.vdi.block_size_shift = v.block_size_shift;
}

}  // namespace

Res new_vdi(Sheep& s, Request& r) {
  if (!r.is_write() || r.data_length() != kMaxVdiLen) return Res::InvalidParms;
  NewVdiParams p;
  p.name.assign(r.data(), strnlen(r.data(), kMaxVdiLen));
  if (p.name.empty()) return Res::InvalidParms;
  p.size = r.hdr.vdi.vdi_size;
  p.base_vid = r.hdr.vdi.base_vdi_id;
  p.snapid = r.hdr.vdi.snapid;
  p.copies = r.hdr.vdi.copies;
  p.copy_policy = r.hdr.vdi.copy_policy;
  p.store_policy = r.hdr.vdi.store_policy;
  p.block_size_shift = r.hdr.vdi.block_size_shift;
  auto v = s.vdi_ops.create(p);
  if (!v.ok()) return v.code();
  set_vdi_reply(r, *v);
  return Res::Success;
}

Res del_vdi(Sheep& s, Request& r) {
  VdiLookup q;
  if (!parse_name_tag(r, &q)) return Res::InvalidParms;
  auto v = s.vdi_ops.remove(q);
  if (!v.ok()) return v.code();
  set_vdi_reply(r, *v);
  return Res::Success;
}

Res get_vdi_info(Sheep& s, Request& r) {
  VdiLookup q;
  if (!parse_name_tag(r, &q)) return Res::InvalidParms;
  auto v = s.vdi_ops.get_info(q);
  if (!v.ok()) return v.code();
  set_vdi_reply(r, *v);
  return Res::Success;
}

Res release_vdi(Sheep&, Request&) { return Res::Success; }

Res read_vdis(Sheep& s, Request& r) {
  if (r.hdr.data_length != kVdiBitmapBytes) return Res::InvalidParms;
  s.vdis.copy_inuse(r.reply_buffer(kVdiBitmapBytes));
  return Res::Success;
}

Res read_del_vdis(Sheep& s, Request& r) {
  if (r.hdr.data_length != kVdiBitmapBytes) return Res::InvalidParms;
  s.vdis.copy_deleted(r.reply_buffer(kVdiBitmapBytes));
  return Res::Success;
}

// qemu's driver expects INVALID_PARMS here and then stops sending flushes:
// every write is already durable when acknowledged.
Res flush_vdi(Sheep&, Request&) { return Res::InvalidParms; }

}  // namespace sd::ops
