// LocalReader: reads a VDI's data objects straight from the object files of
// a sheep on the same machine, under that sheep's read lease
// (proto/read_lease.h), instead of asking the sheep for them.
//
// A read is taken locally only when the sheep says it is serving, the ring
// of the sheep's current membership puts a copy of the object on it, the
// file exists, and the lease generation did not move while reading; then
// the bytes are exactly what the sheep's own local-first read would have
// returned. Every other case returns false and the caller asks the sheep,
// which also recovers objects that are missing. A watcher thread keeps a
// connection to the sheep's socket: when the sheep dies, local reads stop
// at once (a dead sheep's files no longer receive writes), and resume when
// a sheep answers there again. Writes always go through the sheep.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "proto/read_lease.h"
#include "ring.h"

namespace sd {

class LocalReader {
 public:
  // The sheep that owns `dir` (its directory; its socket is dir/sock).
  // nullptr when there is no usable lease there (older sheep, other host).
  static std::unique_ptr<LocalReader> open(const std::string& dir);
  ~LocalReader();
  LocalReader(const LocalReader&) = delete;
  LocalReader& operator=(const LocalReader&) = delete;

  // True when all len bytes at offset of oid (kept in `copies` copies) were
  // read locally and are current; false: ask the sheep.
  bool read(uint64_t oid, int copies, void* buf, uint32_t len, uint64_t offset);

  uint64_t local_reads() const { return hits_.load(); }
  uint64_t fallbacks() const { return misses_.load(); }

 private:
  struct Ring {
    Ring(uint64_t v, std::vector<SdNode> nodes, int s)
        : version(v), self(s), ring(std::move(nodes)) {}
    const uint64_t version;  // the lease's `members` it was fetched at
    const int self;  // this sheep's index in the ring's nodes, -1 if absent
    const VnodeRing ring;
  };
  struct File {
    explicit File(int f) : fd(f) {}
    ~File();
    const int fd;
  };
  LocalReader(std::string dir, ReadLeasePage* page);
  bool try_read(uint64_t oid, int copies, void* buf, uint32_t len, uint64_t offset);
  bool vouched() const;
  // Fetches the sheep's node list for the lease's current membership.
  bool refresh_ring();
  void watch();

  const std::string dir_;
  ReadLeasePage* const page_;
  std::atomic<bool> alive_{false};
  std::atomic<bool> stopping_{false};
  int stop_fd_ = -1;
  std::thread watcher_;

  std::mutex ring_mu_;  // one refresh at a time
  std::shared_ptr<const Ring> ring_;
  std::mutex files_mu_;
  std::unordered_map<uint64_t, std::shared_ptr<File>> files_;
  uint64_t files_gen_ = 0;  // lease gen the cached files are valid for
  size_t max_files_ = 1024;
  std::atomic<uint64_t> hits_{0}, misses_{0};
};

}  // namespace sd
