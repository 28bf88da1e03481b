// Cached object file descriptors.
#include "store/fd_cache.h"

#include <sys/resource.h>
#include <unistd.h>

namespace sd {

ObjectFd::~ObjectFd() { close(fd); }

size_t fd_budget(size_t cap) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY) return cap;
  size_t quarter = size_t(rl.rlim_cur / 4);
  return quarter < cap ? quarter : cap;
}

std::shared_ptr<ObjectFd> FdCache::get(uint64_t oid) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = fds_.find(oid);
  return it == fds_.end() ? nullptr : it->second;
}

uint64_t FdCache::generation() {
  std::lock_guard<std::mutex> lk(mu_);
  return generation_;
}

void FdCache::put(uint64_t oid, const std::shared_ptr<ObjectFd>& fd, uint64_t gen) {
  std::lock_guard<std::mutex> lk(mu_);
  if (gen != generation_) return;
  // Full: drop an arbitrary half. Object working sets are either small
  // (fits) or far larger than any cache (then the order does not matter).
  if (fds_.size() >= capacity_) {
    size_t drop = fds_.size() / 2;
    for (auto it = fds_.begin(); it != fds_.end() && drop;) {
      it = fds_.erase(it);
      drop--;
    }
  }
  fds_[oid] = fd;
}

void FdCache::invalidate(uint64_t oid, bool notify) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    generation_++;
    fds_.erase(oid);
  }
  if (notify && hook_) hook_();
}

void FdCache::clear() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    generation_++;
    fds_.clear();
  }
  if (hook_) hook_();
}

}  // namespace sd
