// dog vdi lock {list|unlock}: the VDI locks of a cluster formatted with -l.
//
// GET_VDI_COPIES returns every VDI state record the node knows (1,428
// bytes each, docs/PROTOCOL.md §6.8; common/client/vdi_locks.h), including the
// lock state, the owner and, for shared locks, the participants. list
// prints the locked ones; unlock sends RELEASE_VDI for a VDI that is
// locked, which breaks the lock whoever holds it.
#include <arpa/inet.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "client/vdi.h"
#include "proto/inode.h"
#include "client/requests.h"
#include "client/vdi_locks.h"
#include "vdi.h"

namespace dog {

namespace {

enum : uint32_t { kStateModified = 1, kStateShared = 2, kStateInvalidated = 3 };
using VdiState = sd::VdiStateRecord;
using sd::kVdiLocked;
using sd::kVdiSharedLock;
using sd::node_id_str;

sd::Result<std::vector<VdiState>> get_vdi_states(const Context& ctx) {
  sd::SheepClient* c = client_for(ctx.ep);
  if (!c) return sd::err(sd::Res::NetworkError);
  auto states = sd::get_vdi_states(*c);
  if (!states.ok() && states.code() != sd::Res::NetworkError)
    err("Failed to get VDI states: %s", sd::strerror(states.code()));
  return states;
}

const char* participant_state_str(uint32_t s) {
  switch (s) {
    case kStateModified:
      return "modified";
    case kStateShared:
      return "shared";
    case kStateInvalidated:
      return "invalidated";
  }
  return "unknown";
}

// "NAME (snapid=N, vid=X)", "NAME (tag=T, vid=X)", "NAME (vid=X)"; without
// a vid "NAME (snapid=N)", "NAME (tag=T)" or "NAME".
std::string vdi_desc(const std::string& name, uint32_t vid) {
  char buf[640];
  if (vdi_opts.snapid) {
    if (vid)
      std::snprintf(buf, sizeof(buf), "%s (snapid=%u, vid=%x)", name.c_str(), vdi_opts.snapid, vid);
    else
      std::snprintf(buf, sizeof(buf), "%s (snapid=%u)", name.c_str(), vdi_opts.snapid);
  } else if (!vdi_opts.tag.empty()) {
    if (vid)
      std::snprintf(buf, sizeof(buf), "%s (tag=%s, vid=%x)", name.c_str(), vdi_opts.tag.c_str(),
                    vid);
    else
      std::snprintf(buf, sizeof(buf), "%s (tag=%s)", name.c_str(), vdi_opts.tag.c_str());
  } else {
    if (vid)
      std::snprintf(buf, sizeof(buf), "%s (vid=%x)", name.c_str(), vid);
    else
      std::snprintf(buf, sizeof(buf), "%s", name.c_str());
  }
  return buf;
}

int lock_list(Context& ctx) {
  auto states = get_vdi_states(ctx);
  if (!states.ok()) return kExitSysfail;
  sd::SheepClient* c = client_for(ctx.ep);
  if (!c) return kExitSysfail;
  std::printf("  Name         Id  VDI id  Tag            Owner node(s)\n");
  for (const auto& s : *states) {
    if (s.lock_state != kVdiLocked && s.lock_state != kVdiSharedLock) continue;
    auto h = sd::read_inode_header(*c, s.vid);
    if (!h.ok()) {
      err("Failed to read the inode object 0x%x: %s", s.vid, sd::strerror(shown_res(h.code())));
      continue;
    }
    char name[sd::kMaxVdiLen + 1] = {}, tag[sd::kMaxVdiTagLen + 1] = {};
    std::memcpy(name, h->name, sd::kMaxVdiLen);
    std::memcpy(tag, h->tag, sd::kMaxVdiTagLen);
    bool snapshot = sd::inode_is_snapshot(*h);
    char type = snapshot ? 's' : (h->snap_id == 1 && h->parent_vdi_id ? 'c' : ' ');
    std::printf("%c %-8s  %5u  %6x  %-13s ", type, name, snapshot ? h->snap_id : 0u, s.vid, tag);
    if (s.lock_state == kVdiLocked) {
      std::printf(" %s", node_id_str(s.lock_owner).c_str());
    } else {
      uint32_t n = std::min<uint32_t>(s.nr_participants, sd::kVdiStateParticipants);
      for (uint32_t i = 0; i < n; i++)
        std::printf(" %s(%s)", node_id_str(s.participants[i]).c_str(),
                    participant_state_str(s.participants_state[i]));
    }
    std::printf("\n");
  }
  return kExitSuccess;
}

int lock_unlock(Context& ctx) {
  if (ctx.args.empty()) {
    err("VDI name must be specified");
    return kExitUsage;
  }
  const std::string& name = ctx.args[0];
  sd::SheepClient* c = client_for(ctx.ep);
  if (!c) return kExitSysfail;
  auto vid = sd::lookup_vdi(*c, name, vdi_opts.tag, vdi_opts.snapid);
  if (!vid.ok()) {
    err("Failed to find VDI %s: %s", vdi_desc(name, 0).c_str(),
        sd::strerror(shown_res(vid.code())));
    return kExitFailure;
  }
  auto states = get_vdi_states(ctx);
  if (!states.ok()) return kExitSysfail;
  const VdiState* state = nullptr;
  for (const auto& s : *states)
    if (s.vid == *vid) state = &s;
  if (!state) {
    err("Failed to find VDI state %s", vdi_desc(name, *vid).c_str());
    return kExitFailure;
  }
  if (state->lock_state != kVdiLocked && state->lock_state != kVdiSharedLock) {
    err("VDI %s is not locked", vdi_desc(name, *vid).c_str());
    return kExitFailure;
  }
  sd::SdReq req = sd::request::release_vdi(*vid, state->lock_state == kVdiSharedLock);
  auto rsp = request(ctx.ep, req, nullptr, nullptr);
  if (!rsp.ok()) return kExitSysfail;
  if (sd::Res(rsp->result) != sd::Res::Success) {
    err("Failed to unlock VDI %s: %s", vdi_desc(name, *vid).c_str(),
        sd::strerror(sd::Res(rsp->result)));
    return kExitFailure;
  }
  return kExitSuccess;
}

}  // namespace

const Subcommand kVdiLockSubs[] = {
    {"list", nullptr, nullptr, "list locked VDIs", 0, lock_list},
    {"unlock", nullptr, nullptr, "unlock locked VDI forcibly", 0, lock_unlock},
};
const size_t kNrVdiLockSubs = sizeof(kVdiLockSubs) / sizeof(kVdiLockSubs[0]);

}  // namespace dog
