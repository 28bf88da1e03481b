// Group commit of writes to one file.
#include "store/group_sync.h"

#include <unistd.h>

#include <cerrno>

namespace sd {

Status GroupSync::sync(int fd, bool metadata) {
  Waiter me;
  me.metadata = metadata;
  std::unique_lock<std::mutex> lk(mu_);
  queue_.push_back(&me);
  while (!me.done) {
    if (syncing_) {
      cv_.wait(lk);
      continue;
    }
    // Lead: we are queued and no sync runs, so the batch includes us.
    syncing_ = true;
    std::vector<Waiter*> batch;
    batch.swap(queue_);
    bool full = false;
    for (Waiter* w : batch) full |= w->metadata;
    lk.unlock();
    int error = (full ? fsync(fd) : fdatasync(fd)) < 0 ? errno : 0;
    lk.lock();
    for (Waiter* w : batch) {
      w->error = error;
      w->done = true;
    }
    syncs_++;
    writes_ += batch.size();
    syncing_ = false;
    cv_.notify_all();
  }
  if (me.error) return err(res_from_errno(me.error));
  return {};
}

uint64_t GroupSync::syncs() const {
  std::lock_guard<std::mutex> lk(mu_);
  return syncs_;
}

uint64_t GroupSync::writes() const {
  std::lock_guard<std::mutex> lk(mu_);
  return writes_;
}

}  // namespace sd
