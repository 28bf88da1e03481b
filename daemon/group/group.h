// Group: this sheep's view of the cluster — status (waiting for format,
// running, shutting down, killed), the settings chosen at format time, the
// current epoch and its membership — and the cluster-wide operations that
// change them (format, shutdown, VDI added/deleted, recovery on/off).
//
// Cluster-wide operations are broadcast through the ClusterDriver and
// applied by every member in the same order; the originating sheep waits
// until its own copy has been applied before it answers the client.
//
// It keeps the epoch log, the config file and the VDI table current, and
// publishes every membership (MembershipSource, the read lease). What the
// layers above must do about a change (recover, audit, drop connections,
// stop) it tells a GroupListener; it never calls them.
//
// Folder group/ may use base/, store/, cluster/ and peers/.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <set>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cluster/driver.h"
#include "group/cluster_settings.h"
#include "group/config_file.h"
#include "group/epoch_log.h"
#include "group/epoch_rings.h"
#include "group/membership.h"
#include "group/vdi_locks.h"
#include "group/vdi_table.h"
#include "proto/node.h"
#include "proto/results.h"
#include "proto/wire.h"

namespace sd {

class ObjectStore;
class ReadLease;

// What the layers above hear from the group (on its delivery thread, or
// the thread of a cluster-wide operation; never with a lock of theirs held
// by the group).
// on_copies_changed's name for the objects placed by the cluster's count
// (vid 0 is never a VDI's).
inline constexpr uint32_t kClusterDefaultCopies = 0;

class GroupListener {
 public:
  virtual ~GroupListener() = default;
  // `epoch` is current now (recovery runs for it).
  virtual void on_epoch(uint32_t epoch) = 0;
  // Every member has recovered `epoch`.
  virtual void on_all_recovered(uint32_t epoch) = 0;
  // The store was emptied for a cluster whose history starts at `epoch`
  // (format, or the first join of a formatted cluster).
  virtual void on_store_reset(uint32_t epoch) = 0;
  // A member left: connections to it are useless.
  virtual void on_peer_left(const NodeId& nid) = 0;
  // The daemon must stop (shutdown, killed, not allowed to stay).
  virtual void on_stop() = 0;
  // This sheep was cut off from the cluster: the others dropped the VDI
  // locks its clients held on these connections, so they must end here too.
  virtual void on_locks_lost(const std::vector<uint64_t>& /*conns*/) {}
  // The copy count of VDI `vid` changed (ALTER_VDI_COPY), or with vid
  // kClusterDefaultCopies the cluster's (ALTER_CLUSTER_COPY, which places
  // VDI attribute objects), within the epoch: those objects have other
  // owners now.
  virtual void on_copies_changed(uint32_t /*vid*/) {}
};

struct GroupOptions {
  bool gateway = false;  // sheep -g
  int vnodes = 0;        // sheep -V (0: auto)
};

// A VDI created (fresh, clone, snapshot or rollback), as told to every node.
struct VdiAddedMsg {
  uint32_t new_vid;
  uint32_t old_vid;  // the VDI that became a snapshot, or 0
  uint32_t parent;
  uint8_t copies;
  uint8_t copy_policy;
  uint8_t block_size_shift;
  uint8_t store_policy;  // 1: a hyper volume
};

class Group : public ClusterEvents, public MembershipSource, public SettingsSource {
 public:
  Group(const GroupOptions& opts, SdNode& self, ObjectStore& store, ConfigFile& config,
        EpochLog& epochs, EpochRings& rings, VdiTable& vdis, VdiLocks& locks, ReadLease& lease,
        GroupListener& listener)
      : opts_(opts),
        self_(self),
        store_(store),
        config_(config),
        epochs_(epochs),
        rings_(rings),
        vdis_(vdis),
        locks_(locks),
        lease_(lease),
        listener_(listener) {}

  // Loads config and epoch history, then asks the driver to join.
  Status start(ClusterDriver* driver);
  // The daemon is stopping: every wait for a cluster message ends now.
  void begin_stop();
  void stop();

  MembershipPtr membership() const override { return std::atomic_load(&membership_); }
  bool wait_for_epoch(uint32_t epoch, std::chrono::milliseconds timeout) const override;
  void wait_for_change(const Membership* seen, std::chrono::milliseconds timeout) const override;
  uint32_t epoch() const { return membership()->epoch; }
  ClusterStatus status() const { return status_.load(); }
  ClusterSettings settings() const override;
  bool formatted() const { return settings().ctime != 0; }
  void fill_cluster_info(ClusterInfo* ci) const;
  void set_killed() { status_ = ClusterStatus::Killed; }
  // The oldest member decides joins and runs VDI operations.
  bool is_master() const;
  SdNode master() const;
  // Returns once every event broadcast before the call has been applied here.
  Res barrier();
  bool strict() const override;

  // Cluster-wide operations; each returns the main step's result.
  Res make_fs(const ClusterSettings& s);
  Res shutdown();
  // ALTER_CLUSTER_COPY: the copies of VDIs created from now on.
  Res alter_cluster_copy(uint8_t copies);
  // ALTER_VDI_COPY: refused (VdiLocked) while a client holds the VDI's lock.
  Res alter_vdi_copy(uint32_t vid, uint8_t copies);
  Res vdi_added(const VdiAddedMsg& m);
  // NOTIFY_VDI_ADD: a VDI whose objects a client writes back (dog cluster
  // snapshot load) becomes known to every node as `info` says.
  Res vdi_registered(uint32_t vid, const VdiInfo& info);
  Res vdi_deleted(uint32_t vid);
  // Recycled VIDs: these vids are free again on every node.
  Res vdis_released(const std::vector<uint32_t>& vids);
  Res set_recovery_disabled(bool disabled);
  // VDI locks (VdiLocks has the rules): decided in the cluster's order, so
  // every node agrees. A holder whose sheep is not a member gets VdiLocked;
  // a VDI deleted meanwhile NoVdi; with expect_working, a VDI that became
  // a snapshot meanwhile Again (look the name up again). A lock broken by
  // someone else's release closes its holders' connections here.
  struct LockRequest {
    bool shared = false;
    uint64_t token = 0;     // the hold's token (vdi_locks.h)
    bool resume = false;    // take up the hold that had `token`
    bool expect_working = false;  // the name was looked up as the working VDI
  };
  Res lock_vdi(uint32_t vid, const LockHolder& who, const LockRequest& q);
  Res release_vdi(uint32_t vid, const LockHolder& who, bool own_only);
  // Every lock of a client connection ends (it closed).
  Res release_locks(const LockHolder& who);
  // This node has recovered `epoch` (`complete`: it found and fetched
  // every object it owns, with no failure); when every member has, objects
  // nobody needs any more are dropped.
  Res recovery_done(uint32_t epoch, bool complete);
  // Every member of `epoch` reported it recovered completely (recovery of
  // the next epoch may then list only what the ring change touched).
  bool recovered_completely(uint32_t epoch) const { return complete_epoch_.load() == epoch; }
  // New space (and, in a fixed-vnodes cluster, vnodes) for members
  // (REWEIGHT, SET_VNODES): applied in order, one new epoch for each, as
  // upstream's node updates. Entries naming no member, or a gateway, are
  // skipped.
  struct NodeUpdate {
    NodeId nid;
    uint64_t space;
    uint16_t nr_vnodes;
    uint8_t pad[6];
  };
  Res update_nodes(const std::vector<NodeUpdate>& updates);
  // The members as the current epoch has them (space, vnodes).
  std::vector<SdNode> members() const;
  // This node's space as the cluster knows it.
  uint64_t space() const;

  // ClusterEvents (called on the driver's delivery thread).
  bool check_join(const SdNode& node, const std::vector<char>& info,
                  std::vector<char>* reply, std::string* refusal) override;
  void on_join(const std::vector<SdNode>& members, const SdNode& node,
               const std::vector<char>& reply) override;
  void on_join_refused(const std::string& why) override;
  void on_leave(const std::vector<SdNode>& members, const SdNode& node) override;
  void on_message(const SdNode& sender, const std::vector<char>& msg) override;
  void on_driver_failure(const std::string& why) override;
  void on_suspended(const std::string& why) override;
  void on_tick() override;
  std::vector<char> join_info() override;
  // True while cut off from the cluster (no quorum, driver gone), or while
  // the driver cannot vouch that we still are a member: no I/O.
  bool suspended() const { return suspended_.load() || (driver_ && !driver_->in_contact()); }
  bool cluster_recovered() const override;

  // Running and in the cluster (not waiting, shut down or suspended).
  bool running() const { return status() == ClusterStatus::Ok && !suspended(); }

 private:
  // Gives the store the layout settings_.store names (plain or tree).
  void apply_store_layout();
  enum MsgType : uint32_t {
    kMakeFs = 1,
    kShutdown,
    kVdiAdded,
    kVdiDeleted,
    kRecovery,
    kBarrier,
    kRecoveryDone,
    kVdisReleased,
    kVdiLock,
    kVdiRelease,
    kLocksReleased,
    kAlterClusterCopy,
    kAlterVdiCopy,
    kNodesUpdate,
    kVdiRegistered,
  };
  struct VdiRegisteredMsg {
    uint32_t vid;
    uint32_t parent;
    uint8_t copies;
    uint8_t copy_policy;
    uint8_t block_size_shift;
    uint8_t store_policy;
    uint8_t snapshot;
    uint8_t deleted;
    uint8_t pad[2];
  };
  struct AlterVdiCopyMsg {
    uint32_t vid;
    uint8_t copies;
    uint8_t pad[3];
  };
  struct LockMsg {
    uint32_t vid;
    uint8_t shared;
    uint8_t own_only;  // kVdiRelease
    uint8_t resume;
    uint8_t expect_working;
    NodeId nid;
    uint64_t conn;
    uint64_t now;
    uint64_t token;
  };
  Res broadcast_lock(MsgType type, uint32_t vid, const LockHolder& who, const LockRequest& q,
                     bool own_only = false);
  struct MsgHeader {
    uint32_t type;
    uint32_t seq;
  };

  Res broadcast_and_wait(MsgType type, const void* payload, size_t len);
  Res apply(MsgType type, const char* payload, size_t len, const SdNode& sender);
  Res apply_make_fs(const ClusterSettings& s);
  Res apply_nodes_update(const char* p, size_t len);
  // Members keep the space and vnodes the newest epoch gives them (node
  // updates live there); `except` (a newcomer) brings its own. mu_ held.
  void carry_node_attributes(const SdNode* except);
  // Re-derives status and epoch after a membership change (mu_ held).
  void membership_changed_locked();
  // Mirrors epoch and serving state (and a new membership) into the read lease.
  void publish_lease(bool new_membership = false);
  void publish(uint32_t epoch, std::vector<SdNode> nodes);
  std::vector<SdNode> with_vnodes(std::vector<SdNode> nodes) const;
  bool auto_vnodes() const;
  Status save_config();
  bool adopt_reply(const std::vector<char>& reply, bool self_join);

  const GroupOptions opts_;
  SdNode& self_;
  ObjectStore& store_;
  ConfigFile& config_;
  EpochLog& epochs_;
  EpochRings& rings_;
  VdiTable& vdis_;
  VdiLocks& locks_;
  ReadLease& lease_;
  GroupListener& listener_;
  ClusterDriver* driver_ = nullptr;  // set by start(), before any request runs
  mutable std::mutex mu_;  // everything below except status_ and membership_
  ClusterSettings settings_;
  std::vector<SdNode> members_;  // oldest first, as the driver reports them
  EpochRecord latest_;           // the newest epoch known (0 when none)
  bool joined_ = false;
  std::shared_ptr<const Membership> membership_ =
      std::make_shared<const Membership>(0, std::vector<SdNode>{}, -1);
  std::atomic<ClusterStatus> status_{ClusterStatus::Wait};
  std::atomic<bool> suspended_{false};
  bool stopping_ = false;  // guarded by mu_
  bool config_dirty_ = false;  // settings_ changed on the delivery thread; guarded by mu_
  uint64_t space_ = 0;

  std::condition_variable cv_;
  mutable std::mutex epoch_mu_;              // pairs with epoch_cv_ only
  mutable std::condition_variable epoch_cv_;  // a membership was published
  uint32_t next_seq_ = 1;
  std::map<uint32_t, std::set<std::string>> recovered_by_;  // epoch -> nodes; guarded by mu_
  std::set<uint32_t> incomplete_;  // epochs some member recovered with failures; guarded by mu_
  bool history_replaced_ = false;  // by a join's reply, not yet published; guarded by mu_
  std::atomic<uint32_t> complete_epoch_{0};  // newest epoch every member recovered completely
  std::atomic<uint32_t> all_recovered_epoch_{0};  // newest epoch every member recovered
  std::set<uint32_t> waiting_;    // our messages someone waits for, by seq
  std::map<uint32_t, Res> done_;  // their results
};

}  // namespace sd
