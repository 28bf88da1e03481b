// The VDI lock table's rules; see vdi_locks.h.
#include "group/vdi_locks.h"

#include <algorithm>
#include <cstring>

#include "base/file_util.h"
#include "base/log.h"

namespace sd {

void VdiLocks::revoke_locked(uint64_t token) {
  if (!token || !revoked_.insert(token).second) return;
  revoked_dirty_ = true;
  while (revoked_.size() > kMaxRevoked) revoked_.erase(revoked_.begin());
}

void VdiLocks::revoke_vid_locked(uint32_t vid, bool holds) {
  if (auto r = resumable_.find(vid); r != resumable_.end()) {
    for (uint64_t t : r->second) revoke_locked(t);
    resumable_.erase(r);
  }
  if (!holds) return;
  if (auto l = locks_.find(vid); l != locks_.end()) {
    revoke_locked(l->second.token);
    for (const auto& p : l->second.participants) revoke_locked(p.token);
  }
}

void VdiLocks::save_revoked_locked() {
  if (!revoked_dirty_ || revoked_path_.empty()) return;
  revoked_dirty_ = false;
  std::vector<uint64_t> v(revoked_.begin(), revoked_.end());
  if (!write_file_atomic(revoked_path_, v.data(), v.size() * 8).ok())
    sd_err("cannot save the revoked VDI lock tokens in %s", revoked_path_.c_str());
}

void VdiLocks::keep_revoked_in(const std::string& path) {
  std::lock_guard<std::mutex> lk(mu_);
  revoked_path_ = path;
  auto data = read_file(path);
  if (!data.ok()) return;  // none yet
  for (size_t i = 0; i + 8 <= data->size(); i += 8) {
    uint64_t t;
    std::memcpy(&t, data->data() + i, 8);
    revoke_locked(t);
  }
  revoked_dirty_ = false;
}

std::set<uint64_t> VdiLocks::revoked() const {
  std::lock_guard<std::mutex> lk(mu_);
  return revoked_;
}

void VdiLocks::merge_revoked(const std::set<uint64_t>& tokens) {
  std::lock_guard<std::mutex> lk(mu_);
  for (uint64_t t : tokens) revoke_locked(t);
  save_revoked_locked();
}

void VdiLocks::touch(uint32_t vid) {
  std::lock_guard<std::mutex> lk(mu_);
  touched_.insert(vid);
}

void VdiLocks::remember_locked(uint32_t vid, uint64_t token) {
  if (!token) return;
  auto& tokens = resumable_[vid];
  tokens.push_back(token);
  if (tokens.size() > kMaxResumable) tokens.erase(tokens.begin());
}

bool VdiLocks::take_resumable_locked(uint32_t vid, uint64_t token) {
  auto it = resumable_.find(vid);
  if (it == resumable_.end()) return false;
  auto t = std::find(it->second.begin(), it->second.end(), token);
  if (t == it->second.end()) return false;
  it->second.erase(t);
  if (it->second.empty()) resumable_.erase(it);
  return true;
}

template <typename Pred>
bool VdiLocks::drop_locked(uint32_t vid, VdiLock& l, Pred pred) {
  if (l.state == LockState::Locked) {
    if (!pred(l.owner)) return false;
    remember_locked(vid, l.token);
    return true;
  }
  std::erase_if(l.participants, [&](const VdiLock::Participant& p) {
    if (!pred(p.who)) return false;
    remember_locked(vid, p.token);
    return true;
  });
  return l.participants.empty();
}

Res VdiLocks::lock(uint32_t vid, const LockHolder& who, bool shared, uint64_t now, uint64_t token,
                   bool resume) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = locks_.find(vid);
  if (resume) {
    // The hold may still be counted on the lost connection: it moves to
    // the new one.
    if (it != locks_.end()) {
      VdiLock& l = it->second;
      if (l.state == LockState::Locked && l.token == token) {
        l.owner = who;
        return Res::Success;
      }
      for (auto& p : l.participants)
        if (p.token == token) {
          p.who = who;
          return Res::Success;
        }
    }
    auto r = resumable_.find(vid);
    bool known = token && r != resumable_.end() &&
                 std::find(r->second.begin(), r->second.end(), token) != r->second.end();
    // Nothing known of the VDI's lock (the cluster restarted since): the
    // hold may come back, unless it was revoked. Otherwise it was broken,
    // released or taken over.
    if (!known && (touched_.count(vid) || revoked_.count(token))) return Res::InodeInvalidated;
  }
  Res res = Res::Success;
  if (it == locks_.end()) {
    VdiLock l;
    l.since = now;
    if (shared) {
      l.state = LockState::Shared;
      l.participants.push_back({who, ParticipantState::Shared, token});
    } else {
      l.state = LockState::Locked;
      l.owner = who;
      l.token = token;
    }
    locks_.emplace(vid, std::move(l));
  } else {
    VdiLock& l = it->second;
    auto participant = std::find_if(l.participants.begin(), l.participants.end(),
                                    [&](const VdiLock::Participant& p) { return p.who == who; });
    if (l.state == LockState::Locked) {
      if (l.owner == who && !shared) {
        // Taken again on its own connection: the newest token counts.
        if (l.token != token) revoke_locked(l.token);
        l.token = token;
      } else if (!shared) {
        res = Res::VdiLocked;
      } else {
        // The hand-over: the holder keeps writing as the first participant.
        l.state = LockState::Shared;
        l.participants = {{l.owner, ParticipantState::Modified, l.token}};
        l.owner = LockHolder{};
        l.token = 0;
        if (who == l.participants[0].who)
          l.participants[0].token = token;
        else
          l.participants.push_back({who, ParticipantState::Shared, token});
      }
    } else if (!shared) {
      res = Res::VdiLocked;
    } else if (participant != l.participants.end()) {
      participant->token = token;
    } else if (l.participants.size() >= kMaxLockParticipants) {
      res = Res::VdiLocked;
    } else {
      l.participants.push_back({who, ParticipantState::Shared, token});
    }
  }
  if (res != Res::Success) return res;
  touched_.insert(vid);
  if (resume) take_resumable_locked(vid, token);
  // Another client now writes the VDI alone: no earlier hold may come back.
  if (!shared) revoke_vid_locked(vid, false);
  save_revoked_locked();
  return Res::Success;
}

Res VdiLocks::release(uint32_t vid, const LockHolder& who, bool own_only,
                      std::vector<LockHolder>* broken) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = locks_.find(vid);
  if (it == locks_.end()) return Res::VdiNotLocked;
  VdiLock& l = it->second;
  bool participant = std::any_of(l.participants.begin(), l.participants.end(),
                                 [&](const VdiLock::Participant& p) { return p.who == who; });
  touched_.insert(vid);
  if (l.state == LockState::Shared && participant) {
    std::erase_if(l.participants, [&](const VdiLock::Participant& p) {
      if (!(p.who == who)) return false;
      revoke_locked(p.token);
      return true;
    });
    if (l.participants.empty()) locks_.erase(it);
    save_revoked_locked();
    return Res::Success;
  }
  bool own = l.state == LockState::Locked && l.owner == who;
  if (own_only && !own) return Res::Success;
  if (!own) {
    // dog breaking it: its holders lose it for good, and so does any
    // earlier hold that might have come back.
    if (broken) {
      if (l.state == LockState::Locked) broken->push_back(l.owner);
      for (const auto& p : l.participants) broken->push_back(p.who);
    }
  }
  revoke_vid_locked(vid, true);
  locks_.erase(it);
  save_revoked_locked();
  return Res::Success;
}

template <typename Pred>
std::vector<uint32_t> VdiLocks::release_if(Pred pred) {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<uint32_t> out;
  for (auto it = locks_.begin(); it != locks_.end();) {
    size_t before = it->second.participants.size();
    bool was_owner = it->second.state == LockState::Locked && pred(it->second.owner);
    bool gone = drop_locked(it->first, it->second, pred);
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

void VdiLocks::forget(uint32_t vid) {
  std::lock_guard<std::mutex> lk(mu_);
  revoke_vid_locked(vid, true);
  locks_.erase(vid);
  touched_.insert(vid);
  save_revoked_locked();
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
  if (auto it = locks_.find(from); it != locks_.end() && !locks_.count(to)) {
    locks_.emplace(to, std::move(it->second));
    locks_.erase(it);
  }
  if (auto it = resumable_.find(from); it != resumable_.end() && !resumable_.count(to)) {
    resumable_.emplace(to, std::move(it->second));
    resumable_.erase(it);
  }
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

template <typename Pred>
bool VdiLocks::current_hold_locked(const VdiLock& l, Pred pred) const {
  if (l.state == LockState::Locked) return pred(l.owner, l.token);
  return std::any_of(l.participants.begin(), l.participants.end(),
                     [&](const VdiLock::Participant& p) { return pred(p.who, p.token); });
}

bool VdiLocks::may_write(uint32_t vid, const LockHolder& who) const {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = locks_.find(vid);
  if (it == locks_.end()) return true;
  return current_hold_locked(it->second, [&](const LockHolder& h, uint64_t) { return h == who; });
}

bool VdiLocks::holds_token(uint32_t vid, uint64_t token) const {
  if (!token) return false;
  std::lock_guard<std::mutex> lk(mu_);
  auto it = locks_.find(vid);
  if (it == locks_.end()) return false;
  return current_hold_locked(it->second, [&](const LockHolder&, uint64_t t) { return t == token; });
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

size_t VdiLocks::count() const {
  std::lock_guard<std::mutex> lk(mu_);
  return locks_.size();
}

std::map<uint32_t, std::vector<uint64_t>> VdiLocks::resumable() const {
  std::lock_guard<std::mutex> lk(mu_);
  return resumable_;
}

std::set<uint32_t> VdiLocks::touched() const {
  std::lock_guard<std::mutex> lk(mu_);
  return touched_;
}

void VdiLocks::replace(std::map<uint32_t, VdiLock> table,
                       std::map<uint32_t, std::vector<uint64_t>> resumable,
                       std::set<uint32_t> touched) {
  std::lock_guard<std::mutex> lk(mu_);
  locks_ = std::move(table);
  resumable_ = std::move(resumable);
  touched_ = std::move(touched);
}

std::vector<LockHolder> VdiLocks::clear() {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<LockHolder> holders;
  for (const auto& [vid, l] : locks_) {
    if (l.state == LockState::Locked) holders.push_back(l.owner);
    for (const auto& p : l.participants) holders.push_back(p.who);
  }
  std::vector<uint32_t> vids;
  for (const auto& [vid, l] : locks_) vids.push_back(vid);
  for (const auto& [vid, t] : resumable_) vids.push_back(vid);
  for (uint32_t vid : vids) revoke_vid_locked(vid, true);
  locks_.clear();
  resumable_.clear();
  touched_.clear();
  save_revoked_locked();
  return holders;
}

}  // namespace sd
