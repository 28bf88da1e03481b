// FdCache: open file descriptors of object files, kept between requests so
// the hot path does not pay open()/close() (a path walk and a file table
// update) for every 4 KiB read or write.
//
// Entries are shared_ptr<ObjectFd>: a caller keeps the descriptor alive for
// the length of its I/O even if the entry is dropped meanwhile, and the
// last holder closes it. Whoever replaces (rename) or removes (unlink) an
// object file calls invalidate() right after doing so; a generation counter
// keeps a descriptor opened before that from being cached after it (it
// would name the old file forever).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "store/group_sync.h"

namespace sd {

struct ObjectFd {
  explicit ObjectFd(int f, int p = -1) : fd(f), piece(p) {}
  ~ObjectFd();
  ObjectFd(const ObjectFd&) = delete;
  ObjectFd& operator=(const ObjectFd&) = delete;
  const int fd;
  const int piece;  // which file of the object it is (PlainStore's pieces)
  GroupSync sync;  // writers of this file share fdatasyncs
};

// A quarter of the process's open-file limit, at most `cap`: the cache must
// never be what makes open() or accept() fail with EMFILE.
size_t fd_budget(size_t cap);

class FdCache {
 public:
  explicit FdCache(size_t capacity) : capacity_(capacity ? capacity : 1) {}

  std::shared_ptr<ObjectFd> get(uint64_t oid);
  // The generation to pass to put() for a descriptor about to be opened.
  uint64_t generation();
  // Caches fd for oid unless an invalidation happened since `gen`.
  void put(uint64_t oid, const std::shared_ptr<ObjectFd>& fd, uint64_t gen);
  // notify=false skips the hook: for a file that did not exist before, no
  // one outside can hold a descriptor of an older version of it.
  void invalidate(uint64_t oid, bool notify = true);
  void clear();
  // Also run after every invalidate()/clear() (set once, before use).
  void set_hook(std::function<void()> hook) { hook_ = std::move(hook); }

 private:
  std::mutex mu_;
  size_t capacity_;
  uint64_t generation_ = 0;
  std::unordered_map<uint64_t, std::shared_ptr<ObjectFd>> fds_;
  std::function<void()> hook_;
};

}  // namespace sd
