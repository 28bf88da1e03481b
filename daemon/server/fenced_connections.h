// FencedConnections: the client connections whose VDI lock was broken
// (dog vdi lock unlock). The event loop closes them, but requests already
// read from them may still be queued or running; their writes are refused
// from the moment of the break until the connection is reported closed
// (RequestRunner::connection_closed), so none lands after it. Thread safe;
// asking costs one atomic load while none is fenced.
#pragma once
#include <atomic>
#include <cstdint>
#include <mutex>
#include <unordered_set>
#include <vector>

namespace sd {

class FencedConnections {
 public:
  void add(const std::vector<uint64_t>& ids) {
    std::lock_guard<std::mutex> lk(mu_);
    ids_.insert(ids.begin(), ids.end());
    count_ = ids_.size();
  }
  void remove(uint64_t id) {
    if (count_.load() == 0) return;
    std::lock_guard<std::mutex> lk(mu_);
    ids_.erase(id);
    count_ = ids_.size();
  }
  bool contains(uint64_t id) const {
    if (count_.load() == 0) return false;
    std::lock_guard<std::mutex> lk(mu_);
    return ids_.count(id) != 0;
  }

 private:
  mutable std::mutex mu_;
  std::unordered_set<uint64_t> ids_;  // guarded by mu_
  std::atomic<size_t> count_{0};      // ids_.size(), for the lock-free answer
};

}  // namespace sd
