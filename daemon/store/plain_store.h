// PlainStore: objects as files under DIR/obj, one file per object named by
// its 16-digit lower-case hex oid (upstream's "plain" store).
//
// Durability: write() returns only after its data is on stable storage
// (unless nosync; concurrent writes to one object share an fdatasync), and a
// create goes through a private tmp file that is synced, renamed into place
// and followed by an fsync of the directory, so a crash leaves either the
// old object or the complete new one. Files are kept at their full object
// size (sparse), so unwritten ranges read as zeros.
//
// Object files stay open between requests (FdCache); every path that
// replaces or removes a file invalidates its cached descriptor first.
#pragma once
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "result.h"
#include "store/fd_cache.h"

namespace sd {

// True when name is an object file name (16 hex digits); sets *oid.
bool parse_oid_name(const char* name, uint64_t* oid);

class PlainStore {
 public:
  PlainStore(std::string obj_dir, bool nosync) : dir_(std::move(obj_dir)), nosync_(nosync) {}

  // Creates the directories and removes tmp files left by a crash.
  Status init();
  Status read(uint64_t oid, void* buf, uint32_t len, uint64_t offset) const;
  // A read that never blocks: true only when the object's file is already
  // open and all len bytes came from the page cache. The event loop uses it
  // to answer hot reads without a thread hop; false means "use read()".
  bool read_cached(uint64_t oid, void* buf, uint32_t len, uint64_t offset) const;
  Status write(uint64_t oid, const void* buf, uint32_t len, uint64_t offset);
  // Creates or replaces the object: `size` bytes, zero outside
  // [offset, offset+len).
  Status create_and_write(uint64_t oid, uint64_t size, const void* buf, uint32_t len,
                          uint64_t offset);
  Status remove(uint64_t oid);
  bool exists(uint64_t oid) const;
  std::vector<uint64_t> list() const;
  // Removes every object and stale copy (format).
  Status purge();

  // Stale copies (docs/PROTOCOL.md §9.4, §10): .stale/<oid>.<E> is this node's copy
  // of an object as it was at the end of epoch E. Never served as live;
  // recovery may take it back or send it to the node that needs it. An
  // index in memory (loaded by init()) answers lookups without scanning.
  struct StaleCopy {
    uint64_t oid;
    uint32_t epoch;
  };
  // Renames the live object to .stale/<oid>.<epoch>.
  Status move_to_stale(uint64_t oid, uint32_t epoch);
  std::vector<StaleCopy> stale_list() const;
  // The epoch of the newest stale copy of oid that is at least min_epoch.
  std::optional<uint32_t> newest_stale(uint64_t oid, uint32_t min_epoch = 0) const;
  Status read_stale(uint64_t oid, uint32_t epoch, void* buf, uint32_t len,
                    uint64_t offset) const;
  // Puts a stale copy back in place as the live object (a rename, so the
  // copy leaves .stale). OidExist when a live copy appeared meanwhile.
  Status restore_stale(uint64_t oid, uint32_t epoch);
  // Removes every stale copy of oid.
  Status remove_stale(uint64_t oid);
  Status purge_stale();
  // Makes earlier renames between the object directory and .stale durable.
  Status sync_dirs() const;
  // Bytes allocated on disk by objects, and free bytes of the filesystem.
  uint64_t used_bytes() const;
  uint64_t fs_free() const;
  const std::string& dir() const { return dir_; }
  // Called after any object file is replaced or removed (the read lease).
  void set_invalidation_hook(std::function<void()> hook) { fds_.set_hook(std::move(hook)); }
  // Called once when the store itself fails: its directory was removed or
  // replaced, or the disk answered an I/O error. From then on failed() is
  // true and the node must not serve objects (set once, before use).
  void set_failure_hook(std::function<void(const std::string&)> hook) {
    failure_hook_ = std::move(hook);
  }
  bool failed() const { return failed_.load(); }

 private:
  std::string path(uint64_t oid) const;
  std::string stale_path(uint64_t oid, uint32_t epoch) const;
  // Marks the store failed (once) and returns Eio.
  Status fail(const std::string& why) const;
  // An I/O errno: EIO means the disk failed.
  Status io_error(int e, const char* what, uint64_t oid) const;
  // The directory is still the one init() found (checked at most every
  // 100 ms: a write notices a removed store at once, and costs nothing).
  Status check_dir() const;
  Status load_stale_index();
  // The cached descriptor of oid's file, opened read-write on a miss.
  Result<std::shared_ptr<ObjectFd>> object_fd(uint64_t oid) const;
  std::string dir_;
  bool nosync_;
  mutable FdCache fds_{fd_budget(4096)};
  std::function<void(const std::string&)> failure_hook_;
  mutable std::atomic<bool> failed_{false};
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  mutable std::atomic<int64_t> dir_checked_ms_{0};
  mutable std::mutex stale_mu_;
  std::map<uint64_t, std::set<uint32_t>> stale_;  // guarded by stale_mu_
};

}  // namespace sd
