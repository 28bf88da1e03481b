// LOCK_VDI, RELEASE_VDI and GET_VDI_COPIES for clients.
#include "client/vdi_locks.h"

#include <cstring>

#include "client/requests.h"
#include "proto/inode.h"

namespace sd {

// The most VDI states asked for: 64 MiB of them (some 47,000 VDIs). A
// sheep answering BUFFER_SMALL for ever made the library double its
// buffer up to 1.4 GiB.
constexpr size_t kMaxVdiStateBytes = 64u << 20;

Result<std::vector<VdiStateRecord>> get_vdi_states(SheepClient& c) {
  size_t nr = 512;
  for (;;) {
    std::vector<VdiStateRecord> states(nr);
    SdReq req = request::vdi_states(uint32_t(nr * sizeof(VdiStateRecord)));
    auto rsp = c.call(req, nullptr, states.data());
    if (!rsp.ok()) return err(rsp.code());
    Res res = Res(rsp->result);
    if (res == Res::BufferSmall && 2 * nr * sizeof(VdiStateRecord) <= kMaxVdiStateBytes) {
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

Result<GrantedLock> lock_vdi(SheepClient& c, const std::string& name, bool shared,
                             LockedBy* by, uint64_t resume_token) {
  if (name.size() >= kMaxVdiLen) return err(Res::InvalidParms);
  char buf[kMaxVdiLen] = {};
  std::memcpy(buf, name.data(), name.size());
  SdReq req = request::lock_vdi(shared, sizeof(buf), resume_token);
  auto rsp = c.call(req, buf, nullptr, 0);
  if (!rsp.ok()) return err(rsp.code());
  Res res = Res(rsp->result);
  if (res == Res::VdiLocked && by) *by = LockedBy{rsp->vdi.vdi_id, rsp->vdi.lock_since};
  if (res != Res::Success) return err(res);
  return GrantedLock{rsp->vdi.vdi_id, rsp->vdi.lock_token};
}

std::string lock_holder_str(SheepClient& c, uint32_t vid) {
  auto states = get_vdi_states(c);
  if (!states.ok()) return "another client";
  for (const auto& s : *states) {
    if (s.vid != vid) continue;
    if (s.lock_state == kVdiLocked) return "a client of the sheep at " + node_id_str(s.lock_owner);
    if (s.lock_state == kVdiSharedLock && s.nr_participants)
      return "a shared lock (first participant: a client of the sheep at " +
             node_id_str(s.participants[0]) + ")";
  }
  return "another client";
}

Status release_vdi(SheepClient& c, uint32_t vid, bool shared, bool own_only) {
  return c.exec(request::release_vdi(vid, shared, own_only), nullptr, nullptr);
}

}  // namespace sd
