// The VDI lock table's rules; see vdi_locks.h.
#include "group/vdi_locks.h"

namespace sd {

template <typename Pred>
bool VdiLocks::drop(VdiLock& l, Pred pred) {
  if (l.state == LockState::Locked) return pred(l.owner);
  std::erase_if(l.participants, [&](const VdiLock::Participant& p) { return pred(p.who); });
  return l.participants.empty();
}

Res VdiLocks::lock(uint32_t vid, const LockHolder& who, bool shared, uint64_t now) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = locks_.find(vid);
  if (it == locks_.end()) {
    VdiLock l;
    l.since = now;
    if (shared) {
      l.state = LockState::Shared;
      l.participants.push_back({who, ParticipantState::Shared});
    } else {
      l.state = LockState::Locked;
      l.owner = who;
    }
    locks_.emplace(vid, std::move(l));
    return Res::Success;
  }
  VdiLock& l = it->second;
  if (l.state == LockState::Locked) {
    if (l.owner == who && !shared) return Res::Success;
    if (!shared) return Res::VdiLocked;
    // The hand-over: the holder keeps writing as the first participant.
    l.state = LockState::Shared;
    l.participants = {{l.owner, ParticipantState::Modified}};
    l.owner = LockHolder{};
    if (who == l.participants[0].who) return Res::Success;
    l.participants.push_back({who, ParticipantState::Shared});
    return Res::Success;
  }
  if (!shared) return Res::VdiLocked;
  for (const auto& p : l.participants)
    if (p.who == who) return Res::Success;
  if (l.participants.size() >= kMaxLockParticipants) return Res::VdiLocked;
  l.participants.push_back({who, ParticipantState::Shared});
  return Res::Success;
}

Res VdiLocks::release(uint32_t vid, const LockHolder& who, bool own_only) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = locks_.find(vid);
  if (it == locks_.end()) return Res::VdiNotLocked;
  VdiLock& l = it->second;
  bool participant = false;
  for (const auto& p : l.participants)
    if (p.who == who) participant = true;
  if (l.state == LockState::Shared && participant) {
    if (drop(l, [&](const LockHolder& h) { return h == who; })) locks_.erase(it);
    return Res::Success;
  }
  if (own_only && !(l.state == LockState::Locked && l.owner == who)) return Res::Success;
  locks_.erase(it);  // the holder, or dog breaking it
  return Res::Success;
}

template <typename Pred>
std::vector<uint32_t> VdiLocks::release_if(Pred pred) {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<uint32_t> out;
  for (auto it = locks_.begin(); it != locks_.end();) {
    size_t before = it->second.participants.size();
    bool was_owner = it->second.state == LockState::Locked && pred(it->second.owner);
    bool gone = drop(it->second, pred);
    if (was_owner || it->second.participants.size() != before) out.push_back(it->first);
    it = gone ? locks_.erase(it) : std::next(it);
  }
  return out;
}

std::vector<uint32_t> VdiLocks::release_holder(const LockHolder& who) {
  return release_if([&](const LockHolder& h) { return h == who; });
}

std::vector<uint32_t> VdiLocks::release_node(const NodeId& nid) {
  return release_if([&](const LockHolder& h) { return same_node_id(h.nid, nid); });
}

std::vector<uint64_t> VdiLocks::connections_on(const NodeId& nid) const {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<uint64_t> out;
  for (const auto& [vid, l] : locks_) {
    if (l.state == LockState::Locked && same_node_id(l.owner.nid, nid)) out.push_back(l.owner.conn);
    for (const auto& p : l.participants)
      if (same_node_id(p.who.nid, nid)) out.push_back(p.who.conn);
  }
  return out;
}

void VdiLocks::move(uint32_t from, uint32_t to) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = locks_.find(from);
  if (it == locks_.end() || locks_.count(to)) return;
  locks_.emplace(to, std::move(it->second));
  locks_.erase(it);
}

bool VdiLocks::holds_any(const LockHolder& who) const {
  std::lock_guard<std::mutex> lk(mu_);
  for (const auto& [vid, l] : locks_) {
    if (l.state == LockState::Locked && l.owner == who) return true;
    for (const auto& p : l.participants)
      if (p.who == who) return true;
  }
  return false;
}

std::optional<VdiLock> VdiLocks::get(uint32_t vid) const {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = locks_.find(vid);
  if (it == locks_.end()) return std::nullopt;
  return it->second;
}

std::map<uint32_t, VdiLock> VdiLocks::all() const {
  std::lock_guard<std::mutex> lk(mu_);
  return locks_;
}

void VdiLocks::replace(std::map<uint32_t, VdiLock> table) {
  std::lock_guard<std::mutex> lk(mu_);
  locks_ = std::move(table);
}

void VdiLocks::clear() {
  std::lock_guard<std::mutex> lk(mu_);
  locks_.clear();
}

}  // namespace sd
