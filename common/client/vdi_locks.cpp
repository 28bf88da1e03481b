// LOCK_VDI, RELEASE_VDI and GET_VDI_COPIES for clients.
#include "client/vdi_locks.h"

#include <cstring>

#include "client/requests.h"
#include "proto/inode.h"

namespace sd {

Result<std::vector<VdiStateRecord>> get_vdi_states(SheepClient& c) {
  size_t nr = 512;
  for (;;) {
    std::vector<VdiStateRecord> states(nr);
    SdReq req = request::vdi_states(uint32_t(nr * sizeof(VdiStateRecord)));
    auto rsp = c.call(req, nullptr, states.data());
    if (!rsp.ok()) return err(rsp.code());
    Res res = Res(rsp->result);
    if (res == Res::BufferSmall && nr < (1u << 20)) {
      nr *= 2;
      continue;
    }
    if (res != Res::Success) return err(res);
    states.resize(rsp->data_length / sizeof(VdiStateRecord));
    return states;
  }
}

std::string node_id_str(const NodeId& nid) {
  bool v4 = true;
  for (int i = 0; i < 12; i++)
    if (nid.addr[i]) v4 = false;
  return std::string(v4 ? "IPv4" : "IPv6") + " ip:" + addr_str(nid.addr) +
         " port:" + std::to_string(nid.port);
}

Result<uint32_t> lock_vdi(SheepClient& c, const std::string& name, bool shared,
                          LockedBy* by) {
  if (name.size() >= kMaxVdiLen) return err(Res::InvalidParms);
  char buf[kMaxVdiLen] = {};
  std::memcpy(buf, name.data(), name.size());
  SdReq req = request::lock_vdi(shared, sizeof(buf));
  auto rsp = c.call(req, buf, nullptr, 0);
  if (!rsp.ok()) return err(rsp.code());
  Res res = Res(rsp->result);
  if (res == Res::VdiLocked && by) *by = LockedBy{rsp->vdi.vdi_id, rsp->vdi.lock_since};
  if (res != Res::Success) return err(res);
  return rsp->vdi.vdi_id;
}

Status release_vdi(SheepClient& c, uint32_t vid, bool shared, bool own_only) {
  return c.exec(request::release_vdi(vid, shared, own_only), nullptr, nullptr);
}

}  // namespace sd
