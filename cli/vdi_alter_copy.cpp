// dog vdi alter-copy: a replicated, standalone VDI's number of copies. As
// upstream's dog: the inode's nr_copies is rewritten, then ALTER_VDI_COPY
// tells every sheep, which recover the VDI's objects to their new owners.
#include <cstdio>

#include "client/requests.h"
#include "client/vdi.h"
#include "oid.h"
#include "vdi.h"
#include "vdi_inventory.h"

namespace dog {

int vdi_alter_copy(Context& ctx) {
  const std::string& name = ctx.args[0];
  uint8_t copies = 0;
  if (int rc = alter_copy_count(ctx, vdi_opts.copies, vdi_opts.copy_policy, vdi_opts.force, "vdi",
                                &copies);
      rc != kExitSuccess)
    return rc;

  sd::SheepClient* c = client_for(ctx.ep);
  sd::Result<uint32_t> vid = c ? sd::lookup_vdi(*c, name) : sd::Result<uint32_t>(sd::err(sd::Res::Eio));
  sd::Result<sd::InodeHeader> h = vid.ok() ? sd::read_inode_header(*c, *vid)
                                           : sd::Result<sd::InodeHeader>(sd::err(vid.code()));
  if (!h.ok()) {
    report_open_failure(name, vid.ok() ? h.code() : vid.code());
    err("Reading %s's vdi object failure.", name.c_str());
    return kExitFailure;
  }
  if (h->copy_policy) {
    err("%s's copy policy is erasure code, changing it is not supported yet.", name.c_str());
    return kExitFailure;
  }
  // Standalone: neither a clone or a VDI with snapshots (it has a parent),
  // nor anyone's parent. Objects shared along such a chain belong to their
  // owner's copy count.
  bool standalone = h->parent_vdi_id == 0;
  if (standalone) {
    sd::Status st = for_each_vdi(ctx.ep, [&](uint32_t, const InodeHead& other) {
      if (other.hdr.parent_vdi_id == *vid) standalone = false;
    });
    if (!st.ok()) return kExitFailure;
  }
  if (!standalone) {
    err("Only standalone vdi supports changing redundancy level.");
    err("Please clone %s with -n (--no-share) option first.", name.c_str());
    return kExitFailure;
  }
  const uint8_t old = h->nr_copies;
  if (old == copies) {
    err("%s's redundancy level is already set to %d, nothing changed.", name.c_str(), copies);
    return kExitFailure;
  }
  if (!vdi_opts.force)
    confirm_caution("Changing VDI's redundancy level will affect",
                    "the VDI itself only and trigger recovery.");

  sd::InodeHeader updated = *h;
  updated.nr_copies = copies;
  sd::Status st = c->write_obj(sd::vid_to_vdi_oid(*vid), &updated, sizeof(updated), 0);
  if (!st.ok()) {
    err("Failed to update an inode header: %s", sd::strerror(shown_res(st.code())));
    return kExitFailure;
  }
  auto rsp = request(ctx.ep, sd::request::alter_vdi_copy(*vid, copies, 0, h->block_size_shift),
                     nullptr, nullptr);
  if (!rsp.ok()) return kExitSysfail;
  if (sd::Res(rsp->result) != sd::Res::Success) {
    // Put the inode back: the sheep keep the old count.
    sd::Status undo = c->write_obj(sd::vid_to_vdi_oid(*vid), &*h, sizeof(*h), 0);
    (void)undo;
    err("Failed to change %s's redundancy level: %s", name.c_str(),
        sd::strerror(shown_res(sd::Res(rsp->result))));
    return kExitFailure;
  }
  err("%s's redundancy level is set to %d, the old one was %d.", name.c_str(), copies, old);
  return kExitSuccess;
}

}  // namespace dog
