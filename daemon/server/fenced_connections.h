// FencedConnections: the client connections whose VDI lock was broken
// (dog vdi lock unlock, a format, this sheep cut off). The event loop
// closes them, but requests already read from them may still be queued or
// running: nothing of theirs runs from the moment of the break until the
// connection is reported closed (RequestRunner::connection_closed). An id
// named after its connection was already reported (the break came late) is
// dropped a minute later. Thread safe; asking costs one atomic load while
// none is fenced.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace sd {

class FencedConnections {
 public:
  void add(const std::vector<uint64_t>& ids) {
    auto now = Clock::now();
    std::lock_guard<std::mutex> lk(mu_);
    std::erase_if(ids_, [&](const auto& e) { return now - e.second > kForget; });
    for (uint64_t id : ids) ids_[id] = now;
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
  using Clock = std::chrono::steady_clock;
  static constexpr auto kForget = std::chrono::minutes(1);
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, Clock::time_point> ids_;  // guarded by mu_: id -> when fenced
  std::atomic<size_t> count_{0};                          // ids_.size(), for the lock-free answer
};

}  // namespace sd
