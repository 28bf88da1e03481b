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
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "result.h"
#include "store/fd_cache.h"

namespace sd {

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
  // Stale copies: objects this node held in an earlier epoch, kept under
  // .stale/<oid>.<epoch> as a last-resort source for recovery.
  Status move_to_stale(uint64_t oid, uint32_t epoch);
  Status purge_stale();
  // Reads the newest stale copy; NoObj if there is none.
  Status read_stale(uint64_t oid, void* buf, uint32_t len, uint64_t offset) const;
  // Bytes allocated on disk by objects, and free bytes of the filesystem.
  uint64_t used_bytes() const;
  uint64_t fs_free() const;
  const std::string& dir() const { return dir_; }
  // Called after any object file is replaced or removed (the read lease).
  void set_invalidation_hook(std::function<void()> hook) { fds_.set_hook(std::move(hook)); }

 private:
  std::string path(uint64_t oid) const;
  // The cached descriptor of oid's file, opened read-write on a miss.
  Result<std::shared_ptr<ObjectFd>> object_fd(uint64_t oid) const;
  std::string dir_;
  bool nosync_;
  mutable FdCache fds_{fd_budget(4096)};
};

}  // namespace sd
