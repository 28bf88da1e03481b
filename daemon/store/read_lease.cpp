// Publishing the read lease page.
#include "store/read_lease.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/log.h"

namespace sd {

ReadLease::~ReadLease() {
  if (!page_) return;
  page_->serving.store(0);
  page_->gen.fetch_add(1);
  munmap(page_, kReadLeaseSize);
}

bool ReadLease::open(const std::string& dir, const NodeId& self, bool offer) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    offer_ = offer;
  }
  std::string path = dir + "/" + kReadLeaseFile;
  // Opened in place, never recreated: clients keep their mapping of it.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0 || ftruncate(fd, kReadLeaseSize) < 0) {
    sd_warn("no local reads: cannot create %s: %s", path.c_str(), std::strerror(errno));
    if (fd >= 0) close(fd);
    return false;
  }
  void* p = mmap(nullptr, kReadLeaseSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (p == MAP_FAILED) {
    sd_warn("no local reads: cannot map %s: %s", path.c_str(), std::strerror(errno));
    return false;
  }
  page_ = static_cast<ReadLeasePage*>(p);
  page_->serving.store(0);
  page_->gen.fetch_add(1);
  page_->self = self;
  page_->until_ms.store(0);
  page_->magic.store(kReadLeaseMagic);
  page_->gen.fetch_add(1);
  return true;
}

void ReadLease::stop_offering() {
  std::lock_guard<std::mutex> lk(mu_);
  offer_ = false;
  publish_locked(false);
}

void ReadLease::invalidate() {
  if (page_) page_->gen.fetch_add(1);
}

void ReadLease::set_state(uint32_t epoch, bool serving, bool new_membership) {
  std::lock_guard<std::mutex> lk(mu_);
  epoch_ = epoch;
  serving_ = serving;
  publish_locked(new_membership);
}

void ReadLease::set_audited(uint32_t epoch) {
  std::lock_guard<std::mutex> lk(mu_);
  audited_ = epoch;
  publish_locked(false);
}

void ReadLease::set_valid_until(int64_t steady_ms) {
  if (page_ && page_->until_ms.load(std::memory_order_relaxed) != steady_ms)
    page_->until_ms.store(steady_ms);
}

void ReadLease::publish_locked(bool new_membership) {
  if (!page_) return;
  bool serving = offer_ && serving_ && audited_ >= epoch_;
  // Stop serving before anything moves, start after: a client never sees
  // serving=1 with an epoch or membership the sheep is not at.
  if (!serving) page_->serving.store(0);
  page_->epoch.store(epoch_);
  if (new_membership) page_->members.fetch_add(1);
  page_->gen.fetch_add(1);
  if (serving) page_->serving.store(1);
}

}  // namespace sd
