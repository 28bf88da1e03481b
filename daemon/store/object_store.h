// ObjectStore: this node's objects over one or more disks (upstream's
// "multi-disk", `sheep META,DISK1,DISK2...`; docs/PROTOCOL.md §9.6).
//
// Each disk is a directory with its own PlainStore. A disk's capacity is
// the xattr user.md.size of its directory, set on first use to the free
// space of its filesystem; it has one vdisk per 16 MiB of capacity on a
// ring hashed from its path, and an object lives on the disk of the first
// vdisk at or after sd_hash_oid(oid). With no disk given, META/obj is the
// one disk.
//
// The disks change while the node runs:
//  - plug adds disks (their old objects are purged, as upstream);
//  - unplug takes disks off the ring: they drain, their objects and stale
//    copies moving to the disks that own them now, and then they go;
//  - a disk that fails (EIO, or its directory gone) is dropped at once;
//    what it held is recovered from the other nodes (the listener is
//    told), and only when the last disk fails does the node leave.
// After each change, and at start-up, objects may sit on another disk
// than their own until the rebalancer has moved them; meanwhile a lookup
// that misses on the object's own disk finds it on another and moves it
// first, under a per-oid lock that keeps every other user of the oid out.
// The set of disks in use is written to META/obj/.md_disks, so that a disk
// given again after it left (with old objects) is purged, not believed.
//
// The interface is PlainStore's, object for object; every caller above
// the store sees one store.
#pragma once
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "proto/results.h"
#include "result.h"
#include "store/plain_store.h"

namespace sd {

// Told about changes of the disk set (from the store's own threads).
class DiskListener {
 public:
  virtual ~DiskListener() = default;
  // A disk failed and was dropped: the objects it held must come back
  // from the other nodes.
  virtual void on_objects_lost() = 0;
  // The last disk failed: the node cannot serve objects any more.
  virtual void on_all_disks_failed(const std::string& why) = 0;
  // A disk was plugged: objects no longer all live in one directory.
  virtual void on_disk_plugged() {}
  // A copy here failed its block checksums (plain_store.h): it wants
  // repair from another copy.
  virtual void on_object_corrupt(uint64_t oid) { (void)oid; }
};

class ObjectStore {
 public:
  using StaleCopy = PlainStore::StaleCopy;
  static constexpr int kAnyPiece = PlainStore::kAnyPiece;
  static constexpr uint64_t kVdiskSize = 16ull << 20;
  // At most this many disks (MD_INFO's slots).
  static constexpr size_t kMaxDisks = 64;

  // disks empty: META/obj is the only disk.
  ObjectStore(std::string meta_dir, std::vector<std::string> disks, bool nosync);
  ~ObjectStore();
  ObjectStore(const ObjectStore&) = delete;
  ObjectStore& operator=(const ObjectStore&) = delete;

  // Opens every disk (a broken one is left out with a message; none left
  // fails), purges disks that were not in use before, and starts moving
  // misplaced objects home.
  Status init();
  void stop();
  void set_listener(DiskListener* l) { listener_ = l; }
  void set_invalidation_hook(std::function<void()> hook);

  Status set_layout(StoreLayout layout);
  StoreLayout layout() const { return layout_.load(); }

  // PlainStore's object interface (see plain_store.h).
  Status read(uint64_t oid, void* buf, uint32_t len, uint64_t offset, int piece = kAnyPiece);
  bool read_cached(uint64_t oid, void* buf, uint32_t len, uint64_t offset,
                   int piece = kWholeObject);
  Status read_unchecked(uint64_t oid, void* buf, uint32_t len, uint64_t offset);
  Status write(uint64_t oid, const void* buf, uint32_t len, uint64_t offset,
               int piece = kAnyPiece);
  Status create_and_write(uint64_t oid, uint64_t size, const void* buf, uint32_t len,
                          uint64_t offset, int piece = kWholeObject,
                          const uint8_t* unless_changed_from = nullptr);
  Status remove(uint64_t oid);
  bool exists(uint64_t oid);
  int piece_of(uint64_t oid);
  std::vector<uint64_t> list() const;
  Status purge();
  Status move_to_stale(uint64_t oid, uint32_t epoch);
  std::vector<StaleCopy> stale_list() const;
  std::optional<uint32_t> newest_stale(uint64_t oid, uint32_t min_epoch = 0,
                                       int piece = kAnyPiece) const;
  Status read_stale(uint64_t oid, uint32_t epoch, void* buf, uint32_t len, uint64_t offset,
                    int piece = kAnyPiece) const;
  Status restore_stale(uint64_t oid, uint32_t epoch, int piece = kAnyPiece);
  Status remove_stale(uint64_t oid);
  Status sync_dirs() const;
  // Block checksums (PlainStore's, on oid's disk).
  Status verify(uint64_t oid, bool* sealed = nullptr);
  Status seal(uint64_t oid);
  Result<PlainStore::Repair> repair_blocks(uint64_t oid, const void* good, uint64_t size,
                                           int64_t read_at_ms);

  // Space, summed over the disks in use: bytes the objects take, free
  // bytes of each disk's filesystem, and the disks' capacities.
  uint64_t used_bytes() const;
  uint64_t fs_free() const;
  uint64_t capacity() const;
  // No disk is left: the node must not serve objects.
  bool failed() const { return all_failed_.load(); }

  // MD_INFO: the disks in use, in order.
  struct DiskInfo {
    std::string path;
    uint64_t free = 0;
    uint64_t used = 0;
  };
  std::vector<DiskInfo> disk_info() const;
  // The disks in use, measured for the metrics page: capacity (as the ring
  // weighs it), live objects and the bytes they take, and the free space
  // of the filesystem. The store's lock is held only to list the disks,
  // never across the scans.
  struct DiskUsage {
    std::string path;
    uint64_t capacity = 0;
    uint64_t objects = 0;
    uint64_t used = 0;
    uint64_t available = 0;
  };
  std::vector<DiskUsage> usage() const;
  // The disks that failed since start-up, with what happened.
  struct FailedDisk {
    std::string path;
    std::string why;
  };
  std::vector<FailedDisk> failed_disks() const;
  // MD_PLUG / MD_UNPLUG with a comma-separated list of paths. Paths that
  // cannot be used are skipped with a message; InvalidParms when none can.
  Res plug(const std::string& paths);
  Res unplug(const std::string& paths);
  // True once every object is on its own disk (tests, md info).
  bool settled() const { return settled_.load(); }
  // Objects moving between disks: how far the current pass is (objects
  // looked at, of how many); for STAT_RECOVERY, as upstream's md recovery.
  struct MoveProgress {
    uint64_t done = 0;
    uint64_t total = 0;
  };
  MoveProgress move_progress() const { return {moves_done_.load(), moves_total_.load()}; }

 private:
  // Which directory a disk is, whatever path names it.
  struct DiskId {
    std::string real;  // realpath()
    dev_t dev = 0;
    ino_t ino = 0;
  };
  struct Disk {
    std::string path;  // as given (its vdisks hash this string)
    DiskId id;
    uint64_t capacity = 0;
    std::unique_ptr<PlainStore> store;
    bool draining = false;  // unplugged: emptied, then dropped
    std::string failure;    // what made it fail; guarded by failure_mu_
  };
  using DiskPtr = std::shared_ptr<Disk>;

  // Opens the disk at path (creates its directory, one level, checks it,
  // reads or sets its capacity); nullptr with a logged reason when it
  // cannot be used: not absolute, a `..` or a control character in it,
  // the meta directory or a directory around it, the same directory as
  // one of `others` or nested with one, or (when it is to be purged)
  // holding other files than a disk's (disk_open.cpp).
  DiskPtr open_disk(const std::string& path, bool purge, const std::vector<DiskId>& others,
                    size_t fd_capacity);
  std::vector<DiskId> disk_ids() const;
  // A directory with a config and an epoch in it: another sheep's meta.
  static bool is_meta_store(const std::string& path);
 public:
  // "P1,P2,...": the paths, trailing slashes dropped, empty ones skipped
  // (the sheep's PATH argument and MD_PLUG/MD_UNPLUG payloads).
  static std::vector<std::string> split_paths(const std::string& paths);

 private:
  // Rebuilds ring_ from the disks not draining. Caller holds mu_ exclusively.
  void rebuild_ring();
  // The disk owning oid. Caller holds mu_ (shared); ring_ is not empty.
  Disk& home_of(uint64_t oid) const;
  // The disk (in use or draining) holding a live oid, other than `not_this`.
  Disk* find_elsewhere(uint64_t oid, const Disk* not_this) const;
  // Runs op on oid's own disk; while objects may be misplaced, under
  // oid's lock and after moving a misplaced oid home (when `find`). A
  // disk failing under op is dropped and op runs once more.
  template <class Op>
  Status on_home(uint64_t oid, bool find, Op&& op);
  std::mutex& oid_lock(uint64_t oid) { return oid_locks_[(oid * 0x9e3779b97f4a7c15ull) >> 58]; }
  // Drops the disks that failed (takes mu_ exclusively when there are).
  void drop_failed_disks();
  void save_disk_list() const;
  void start_rebalance();
  void rebalance_loop();
  // One pass: every misplaced object moved home, drained disks dropped.
  // False when the disk set changed meanwhile (another pass is due).
  bool rebalance_pass();

  const std::string meta_dir_;
  const std::vector<std::string> initial_disks_;
  const bool nosync_;
  const size_t fd_capacity_;  // of each disk given at start (plugged ones get less)
  std::string meta_real_;     // realpath of the meta directory (set by init)
  std::atomic<StoreLayout> layout_{StoreLayout::Plain};
  std::function<void()> invalidation_hook_;
  DiskListener* listener_ = nullptr;

  // mu_ is taken shared by every object operation for its length, and
  // exclusively to change the disk set. Readers pass through gate_ first,
  // which a writer holds while it waits: a stream of I/O cannot starve a
  // disk change (glibc's rwlock prefers readers).
  struct WriteLock {
    std::unique_lock<std::mutex> gate;
    std::unique_lock<std::shared_mutex> lock;
  };
  std::shared_lock<std::shared_mutex> read_lock() const {
    { std::lock_guard<std::mutex> g(gate_); }
    return std::shared_lock<std::shared_mutex>(mu_);
  }
  WriteLock write_lock() const {
    WriteLock w{std::unique_lock<std::mutex>(gate_), std::unique_lock<std::shared_mutex>(mu_)};
    return w;
  }
  // For listing every disk: shared when objects stay put; while they move,
  // exclusive (a shared lock would let one move from a disk not listed yet
  // to one listed already, and be missed).
  struct ListingLock {
    std::shared_lock<std::shared_mutex> shared;
    WriteLock exclusive;
  };
  ListingLock listing_lock() const {
    ListingLock l;
    if (settled_.load())
      l.shared = read_lock();
    else
      l.exclusive = write_lock();
    return l;
  }
  mutable std::mutex gate_;
  mutable std::shared_mutex mu_;
  std::vector<DiskPtr> disks_;                     // in use, then draining; guarded by mu_
  std::vector<std::pair<uint64_t, Disk*>> ring_;  // vdisks by hash; guarded by mu_
  uint64_t generation_ = 0;                        // disk set changes; guarded by mu_
  uint64_t vdisk_size_ = 0;  // bytes per vdisk, chosen once and kept in .md_disks; guarded by mu_
  std::mutex change_mu_;     // one plug or unplug at a time
  std::atomic<bool> settled_{false};               // set false only under mu_ (exclusive)
  std::mutex failure_mu_;
  std::vector<FailedDisk> failed_disks_;  // guarded by mu_
  std::atomic<bool> all_failed_{false};
  std::atomic<uint64_t> moves_done_{0}, moves_total_{0};  // the rebalancer's pass
  std::array<std::mutex, 64> oid_locks_;  // each guards the moves of the oids hashed to it

  std::thread rebalancer_;
  std::mutex rebalance_mu_;
  std::condition_variable rebalance_cv_;
  bool rebalance_wanted_ = false;  // guarded by rebalance_mu_
  bool stopping_ = false;          // guarded by rebalance_mu_
};

}  // namespace sd
