// StripeLocks: writes to an erasure-coded object that touch the same
// stripes run one at a time, so a read-modify-write of a partial stripe
// (read the old stripe, lay the new bytes over it, write every strip) is
// never interleaved with another write of that stripe through this
// gateway. Writes of disjoint stripes of one object run in parallel.
//
// Entries live only while their write runs: at most one per request in
// flight, so the table stays as small as the number of worker threads.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

namespace sd {

class StripeLocks {
 public:
  class Held {
   public:
    Held(StripeLocks& owner, size_t id) : owner_(&owner), id_(id) {}
    Held(Held&& o) noexcept : owner_(o.owner_), id_(o.id_) { o.owner_ = nullptr; }
    Held(const Held&) = delete;
    Held& operator=(const Held&) = delete;
    Held& operator=(Held&&) = delete;
    ~Held() {
      if (owner_) owner_->release(id_);
    }

   private:
    StripeLocks* owner_;
    size_t id_;
  };

  // Waits until no other holder has bytes of [lo, hi) of oid, then holds them.
  Held lock(uint64_t oid, uint64_t lo, uint64_t hi) {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [&] {
      for (const Range& r : held_)
        if (r.oid == oid && r.lo < hi && lo < r.hi) return false;
      return true;
    });
    size_t id = ++next_id_;
    held_.push_back({oid, lo, hi, id});
    return Held(*this, id);
  }

 private:
  struct Range {
    uint64_t oid, lo, hi;
    size_t id;
  };
  void release(size_t id) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      for (size_t i = 0; i < held_.size(); i++)
        if (held_[i].id == id) {
          held_[i] = held_.back();
          held_.pop_back();
          break;
        }
    }
    cv_.notify_all();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Range> held_;  // guarded by mu_
  size_t next_id_ = 0;       // guarded by mu_
};

}  // namespace sd
