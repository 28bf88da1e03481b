// VdiLocks: the cluster's VDI lock table (docs/PROTOCOL.md "VDI locks").
// Every sheep holds the same table: it changes only by cluster messages
// applied in one order (Group), by members leaving, and by the table a
// newcomer receives when it joins. Nothing is kept on disk, so a full
// restart has no locks.
//
// A lock belongs to one client connection on one gateway sheep (the
// holder): it ends when that connection closes or that sheep leaves.
// A normal lock has one holder. A shared lock (upstream's type 1, for a
// hand-over such as live migration) has up to 31 participants; a shared
// request on a VDI under a normal lock turns it into a shared lock whose
// first participant is the previous holder.
//
// Every hold carries a token, a random number that only its client learns
// (in the LOCK_VDI reply). A client whose connection was lost presents it
// to take the hold up again on a new connection ("resume"): at once when
// the sheep still counts the old connection as the holder, or later when
// the hold ended only because the connection or its gateway went away. A
// lock that was broken (RELEASE_VDI from someone else), released by its
// holder, taken by another client since, or whose VDI was deleted cannot
// be resumed: that writer is fenced for good. The tokens of such holds are
// revoked, and the revoked tokens (the newest 4096 by value) are kept on
// disk, so they stay revoked across a full restart of the cluster. After
// such a restart the table is otherwise empty: a VDI whose lock nobody has
// touched since (taken, released, broken, or the VDI created or deleted)
// may be resumed by whoever asks first with a token that is not revoked.
#pragma once
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "proto/node.h"
#include "proto/results.h"

namespace sd {

enum class LockState : uint32_t { Unlocked = 1, Locked = 2, Shared = 3 };
enum class ParticipantState : uint32_t { Modified = 1, Shared = 2, Invalidated = 3 };
inline constexpr size_t kMaxLockParticipants = 31;
// Ended holds remembered per VDI for a resume (the oldest are forgotten).
inline constexpr size_t kMaxResumable = 32;
// Revoked tokens kept (the smallest values go first, the same everywhere).
inline constexpr size_t kMaxRevoked = 4096;

struct LockHolder {
  NodeId nid{};        // the gateway sheep
  uint64_t conn = 0;   // the client connection on it
  bool operator==(const LockHolder& o) const { return conn == o.conn && same_node_id(nid, o.nid); }
};

struct VdiLock {
  LockState state = LockState::Unlocked;
  LockHolder owner{};  // normal lock
  uint64_t token = 0;  // the owner's
  uint64_t since = 0;  // unix seconds the lock was taken
  struct Participant {
    LockHolder who;
    ParticipantState state;
    uint64_t token = 0;
  };
  std::vector<Participant> participants;  // shared lock
};

class VdiLocks {
 public:
  // Normal (shared = false) or shared lock for `who`, with `token`.
  // VdiLocked when it is held by another holder (or a shared lock is
  // full). Taking a lock one already holds succeeds. With `resume`, only
  // the hold that had `token` may be taken up again (see above):
  // InodeInvalidated when it cannot be.
  Res lock(uint32_t vid, const LockHolder& who, bool shared, uint64_t now, uint64_t token = 0,
           bool resume = false);
  // RELEASE_VDI from `who`: a participant of a shared lock leaves it, the
  // owner releases it; any other sender breaks the lock (dog vdi lock
  // unlock) and *broken (when given) receives the holders that lost it,
  // unless own_only (then a lock of someone else stays, and that is
  // Success). VdiNotLocked when there is no lock. None of these can be
  // resumed.
  Res release(uint32_t vid, const LockHolder& who, bool own_only = false,
              std::vector<LockHolder>* broken = nullptr);
  // Every lock `who` holds ends (its connection closed). Returns the vids.
  std::vector<uint32_t> release_holder(const LockHolder& who);
  // Every lock held through sheep `nid` ends (it left, or started again).
  std::vector<uint32_t> release_node(const NodeId& nid);
  // The VDI is gone (deleted, vid recycled): its lock and resumable holds go.
  void forget(uint32_t vid);
  // Something happened to vid that no earlier hold may outlive (the VDI was
  // created or deleted).
  void touch(uint32_t vid);
  // A snapshot of `from` was taken: the writer goes on writing `to`, the
  // new working VDI, so its lock moves there.
  void move(uint32_t from, uint32_t to);
  bool holds_any(const LockHolder& who) const;
  // True when vid is unlocked or `who` holds its lock (owner or participant).
  bool may_write(uint32_t vid, const LockHolder& who) const;
  // True when a hold of vid's current lock (its owner or a participant)
  // has `token` (never for 0): a direct write's proof (docs/PROTOCOL.md
  // §7.8). Unlike may_write, an unlocked VDI proves nothing.
  bool holds_token(uint32_t vid, uint64_t token) const;
  // The client connections on sheep `nid` that hold locks.
  std::vector<uint64_t> connections_on(const NodeId& nid) const;
  std::optional<VdiLock> get(uint32_t vid) const;
  std::map<uint32_t, VdiLock> all() const;
  // How many VDIs are locked.
  size_t count() const;
  // Tokens of ended holds that may be resumed, per vid, and the vids whose
  // lock was taken, released or broken since the table started (a
  // newcomer's copy).
  std::map<uint32_t, std::vector<uint64_t>> resumable() const;
  std::set<uint32_t> touched() const;
  void replace(std::map<uint32_t, VdiLock> table,
               std::map<uint32_t, std::vector<uint64_t>> resumable = {},
               std::set<uint32_t> touched = {});
  // Every hold ends and is revoked (the cluster is formatted). Returns the
  // holders it had.
  std::vector<LockHolder> clear();

  // Revoked tokens: kept in `path` from now on (read from it first; a
  // missing file is an empty set). Without it they live in memory only.
  void keep_revoked_in(const std::string& path);
  std::set<uint64_t> revoked() const;
  // Adds tokens revoked elsewhere (a joining sheep's, the master's).
  void merge_revoked(const std::set<uint64_t>& tokens);

 private:
  // Removes `pred`'s holders from one entry, remembering their tokens as
  // resumable; true when it became unlocked.
  template <typename Pred>
  bool drop_locked(uint32_t vid, VdiLock& l, Pred pred);
  // Ends every hold `pred` matches; returns the vids whose lock changed.
  template <typename Pred>
  std::vector<uint32_t> release_if(Pred pred);
  // Whether pred(holder, token) holds for a current hold of l: its owner,
  // or one of its participants (mu_ held).
  template <typename Pred>
  bool current_hold_locked(const VdiLock& l, Pred pred) const;
  void remember_locked(uint32_t vid, uint64_t token);
  bool take_resumable_locked(uint32_t vid, uint64_t token);
  // Revokes the tokens of vid's resumable holds (and of its lock, with
  // holds) and forgets them as resumable.
  void revoke_vid_locked(uint32_t vid, bool holds);
  void revoke_locked(uint64_t token);
  // Writes revoked_ to revoked_path_ if it changed (mu_ held).
  void save_revoked_locked();

  mutable std::mutex mu_;
  std::map<uint32_t, VdiLock> locks_;  // guarded by mu_; only locked VDIs
  std::map<uint32_t, std::vector<uint64_t>> resumable_;  // guarded by mu_
  std::set<uint32_t> touched_;  // guarded by mu_; kept when a VDI is forgotten
  std::set<uint64_t> revoked_;  // guarded by mu_
  bool revoked_dirty_ = false;  // guarded by mu_
  std::string revoked_path_;    // guarded by mu_
};

}  // namespace sd
