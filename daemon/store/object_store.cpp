// The multi-disk object store: disks, their vdisk ring, and the object
// interface routed to each object's own disk. Plugging, unplugging and
// moving objects between disks are in disk_set.cpp.
#include "store/object_store.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <set>

#include "base/file_util.h"
#include "base/log.h"
#include "hash.h"

namespace sd {

namespace {

// The vdisks of all disks together stay under this many (a larger vdisk
// for very large disks), so the ring stays small in memory.
constexpr uint64_t kMaxVdisks = 1u << 18;

}  // namespace

ObjectStore::ObjectStore(std::string meta_dir, std::vector<std::string> disks, bool nosync)
    : meta_dir_(std::move(meta_dir)),
      initial_disks_(std::move(disks)),
      nosync_(nosync),
      fd_capacity_(std::max<size_t>(64, fd_budget(4096) / std::max<size_t>(1, initial_disks_.size()))) {}

ObjectStore::~ObjectStore() { stop(); }

void ObjectStore::set_invalidation_hook(std::function<void()> hook) {
  invalidation_hook_ = std::move(hook);
  auto lk = write_lock();
  for (auto& d : disks_) d->store->set_invalidation_hook(invalidation_hook_);
}

Status ObjectStore::init() {
  if (!make_dirs(meta_dir_ + "/obj", 0700)) return err(res_from_errno(errno));
  char real[PATH_MAX];
  if (!realpath(meta_dir_.c_str(), real)) return err(res_from_errno(errno));
  meta_real_ = real;
  std::vector<std::string> paths = initial_disks_;
  if (paths.empty()) paths.push_back(meta_dir_ + "/obj");
  // META/obj/.md_disks: "vdisk BYTES", then "disk PATH" for each disk in use
  // and "draining PATH" for each being emptied, when the node last ran. A
  // disk given now that was in neither holds objects of an unknown age.
  bool recorded = false;
  std::set<std::string> in_use, draining;
  uint64_t vdisk = 0;
  if (auto f = read_file(meta_dir_ + "/obj/.md_disks"); f.ok()) {
    recorded = true;
    std::string text(f->begin(), f->end());
    size_t pos = 0;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) nl = text.size();
      std::string line = text.substr(pos, nl - pos);
      pos = nl + 1;
      if (line.rfind("disk ", 0) == 0) in_use.insert(line.substr(5));
      else if (line.rfind("draining ", 0) == 0) draining.insert(line.substr(9));
      else if (line.rfind("vdisk ", 0) == 0) vdisk = std::strtoull(line.c_str() + 6, nullptr, 10);
    }
  }
  // As upstream, a meta directory given as a disk stops the start.
  for (const std::string& p : initial_disks_)
    if (is_meta_store(p)) {
      sd_err("%s is meta-store, abort", p.c_str());
      return err(Res::InvalidParms);
    }
  std::vector<DiskPtr> opened;
  std::vector<DiskId> ids;
  std::set<std::string> seen;
  for (const std::string& p : paths) {
    if (!seen.insert(p).second) continue;
    bool known = in_use.count(p) || draining.count(p);
    if (DiskPtr d = open_disk(p, recorded && !known, ids, fd_capacity_)) {
      d->draining = draining.count(p) > 0;
      ids.push_back(d->id);
      opened.push_back(std::move(d));
    }
  }
  for (const auto* set : {&in_use, &draining})
    for (const std::string& p : *set)
      if (!seen.count(p))
        sd_warn("disk %s is not given any more: its objects will be recovered from other nodes",
                p.c_str());
  bool any_in_use = false;
  for (auto& d : opened) any_in_use |= !d->draining;
  if (!any_in_use) {
    sd_err("There isn't any available disk!");
    return err(Res::Eio);
  }
  {
    auto lk = write_lock();
    disks_ = std::move(opened);
    // The vdisk size is chosen once (so that the ring of the disks that
    // stay never changes) and kept.
    if (vdisk < kVdiskSize || vdisk > (1ull << 50)) {
      uint64_t total = 0;
      for (auto& d : disks_) total += d->capacity;
      vdisk = kVdiskSize;
      while (total / vdisk > kMaxVdisks) vdisk *= 2;
    }
    vdisk_size_ = vdisk;
    rebuild_ring();
    generation_++;
    settled_ = false;
  }
  save_disk_list();
  {
    std::lock_guard<std::mutex> lk(rebalance_mu_);
    stopping_ = false;
  }
  rebalancer_ = std::thread([this] { rebalance_loop(); });
  start_rebalance();
  return {};
}

void ObjectStore::stop() {
  {
    std::lock_guard<std::mutex> lk(rebalance_mu_);
    stopping_ = true;
  }
  rebalance_cv_.notify_all();
  if (rebalancer_.joinable()) rebalancer_.join();
}

void ObjectStore::rebuild_ring() {
  ring_.clear();
  for (auto& d : disks_) {
    if (d->draining) continue;
    // (A disk far larger than the ones the size was chosen for gets no
    // more than kMaxVdisks: the ring's memory stays bounded.)
    uint64_t n = std::clamp<uint64_t>(d->capacity / vdisk_size_ + (d->capacity % vdisk_size_ != 0),
                                      1, kMaxVdisks);
    uint64_t h = sd_hash(d->path.data(), d->path.size());
    for (uint64_t i = 0; i < n; i++) {
      h = sd_hash_next(h);
      ring_.push_back({h, d.get()});
    }
  }
  std::sort(ring_.begin(), ring_.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
}

ObjectStore::Disk& ObjectStore::home_of(uint64_t oid) const {
  uint64_t x = sd_hash_oid(oid);
  auto it = std::lower_bound(ring_.begin(), ring_.end(), x,
                             [](const auto& v, uint64_t key) { return v.first < key; });
  if (it == ring_.end()) it = ring_.begin();
  return *it->second;
}

ObjectStore::Disk* ObjectStore::find_elsewhere(uint64_t oid, const Disk* not_this) const {
  for (auto& d : disks_)
    if (d.get() != not_this && d->store->exists(oid)) return d.get();
  return nullptr;
}

template <class Op>
Status ObjectStore::on_home(uint64_t oid, bool find, Op&& op) {
  // Each round that fails drops the disk it ran on, so this ends.
  for (;;) {
    Status st;
    {
      auto lk = read_lock();
      if (ring_.empty()) return err(Res::Eio);
      Disk& home = home_of(oid);
      if (settled_.load()) {
        st = op(*home.store);
      } else {
        std::lock_guard<std::mutex> g(oid_lock(oid));
        if (find && !home.store->exists(oid))
          if (Disk* d = find_elsewhere(oid, &home)) (void)d->store->move_object_to(oid, *home.store);
        st = op(*home.store);
      }
      if (st.ok() || !home.store->failed()) return st;
    }
    // The disk failed under op: without it, the object's disk is another.
    drop_failed_disks();
    if (failed()) return st;
  }
}

Status ObjectStore::set_layout(StoreLayout layout) {
  layout_ = layout;
  auto lk = read_lock();
  for (auto& d : disks_) SD_TRY(d->store->set_layout(layout));
  return {};
}

Status ObjectStore::read(uint64_t oid, void* buf, uint32_t len, uint64_t offset, int piece) {
  return on_home(oid, true, [&](PlainStore& s) { return s.read(oid, buf, len, offset, piece); });
}

Status ObjectStore::read_unchecked(uint64_t oid, void* buf, uint32_t len, uint64_t offset) {
  return on_home(oid, true, [&](PlainStore& s) { return s.read_unchecked(oid, buf, len, offset); });
}

Status ObjectStore::verify(uint64_t oid, bool* sealed) {
  return on_home(oid, true, [&](PlainStore& s) { return s.verify(oid, sealed); });
}

Status ObjectStore::seal(uint64_t oid) {
  return on_home(oid, true, [&](PlainStore& s) { return s.seal(oid); });
}

Result<PlainStore::Repair> ObjectStore::repair_blocks(uint64_t oid, const void* good,
                                                      uint64_t size, int64_t read_at_ms) {
  PlainStore::Repair out;
  Status st = on_home(oid, true, [&](PlainStore& s) -> Status {
    auto r = s.repair_blocks(oid, good, size, read_at_ms);
    if (!r.ok()) return err(r.code());
    out = *r;
    return {};
  });
  if (!st.ok()) return err(st.code());
  return out;
}

bool ObjectStore::read_cached(uint64_t oid, void* buf, uint32_t len, uint64_t offset,
                              int piece) {
  auto lk = read_lock();
  if (ring_.empty() || !settled_.load()) return false;
  return home_of(oid).store->read_cached(oid, buf, len, offset, piece);
}

Status ObjectStore::write(uint64_t oid, const void* buf, uint32_t len, uint64_t offset,
                          int piece) {
  return on_home(oid, true, [&](PlainStore& s) { return s.write(oid, buf, len, offset, piece); });
}

Status ObjectStore::create_and_write(uint64_t oid, uint64_t size, const void* buf, uint32_t len,
                                     uint64_t offset, int piece,
                                     const uint8_t* unless_changed_from) {
  // A misplaced old copy is moved home first, so that a piece it holds is
  // set aside as PlainStore does when one piece replaces another.
  return on_home(oid, true, [&](PlainStore& s) {
    return s.create_and_write(oid, size, buf, len, offset, piece, unless_changed_from);
  });
}

Status ObjectStore::remove(uint64_t oid) {
  return on_home(oid, true, [&](PlainStore& s) {
    Status st = s.remove(oid);
    // Under oid's lock while unsettled: no other copy may outlive this
    // one and be moved home later.
    if (!settled_.load())
      while (Disk* d = find_elsewhere(oid, nullptr)) {
        if (!d->store->remove(oid).ok()) break;
        st = {};
      }
    return st;
  });
}

bool ObjectStore::exists(uint64_t oid) {
  bool found = false;
  Status st = on_home(oid, true, [&](PlainStore& s) {
    found = s.exists(oid);
    return Status{};
  });
  return st.ok() && found;
}

int ObjectStore::piece_of(uint64_t oid) {
  int piece = kWholeObject;
  (void)on_home(oid, true, [&](PlainStore& s) {
    piece = s.piece_of(oid);
    return Status{};
  });
  return piece;
}

std::vector<uint64_t> ObjectStore::list() const {
  ListingLock lk = listing_lock();
  std::vector<uint64_t> out;
  for (auto& d : disks_) {
    std::vector<uint64_t> part = d->store->list();
    out.insert(out.end(), part.begin(), part.end());
  }
  if (disks_.size() > 1) {
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
  }
  return out;
}

Status ObjectStore::purge() {
  // Exclusive, and a new generation: a move in flight is not finished
  // into a purged disk afterwards.
  auto lk = write_lock();
  generation_++;
  Status first;
  for (auto& d : disks_) {
    Status st = d->store->purge();
    if (first.ok() && !st.ok()) first = st;
  }
  return first;
}

Status ObjectStore::move_to_stale(uint64_t oid, uint32_t epoch) {
  return on_home(oid, true, [&](PlainStore& s) { return s.move_to_stale(oid, epoch); });
}

std::vector<ObjectStore::StaleCopy> ObjectStore::stale_list() const {
  ListingLock lk = listing_lock();
  std::vector<StaleCopy> out;
  for (auto& d : disks_) {
    std::vector<StaleCopy> part = d->store->stale_list();
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

std::optional<uint32_t> ObjectStore::newest_stale(uint64_t oid, uint32_t min_epoch,
                                                  int piece) const {
  auto lk = read_lock();
  std::optional<uint32_t> best;
  for (auto& d : disks_)
    if (auto e = d->store->newest_stale(oid, min_epoch, piece); e && (!best || *e > *best))
      best = e;
  return best;
}

Status ObjectStore::read_stale(uint64_t oid, uint32_t epoch, void* buf, uint32_t len,
                               uint64_t offset, int piece) const {
  auto lk = read_lock();
  for (auto& d : disks_)
    if (d->store->stale_piece(oid, epoch, piece))
      return d->store->read_stale(oid, epoch, buf, len, offset, piece);
  return err(Res::NoObj);
}

Status ObjectStore::restore_stale(uint64_t oid, uint32_t epoch, int piece) {
  auto lk = read_lock();
  if (ring_.empty()) return err(Res::Eio);
  std::lock_guard<std::mutex> g(oid_lock(oid));
  Disk& home = home_of(oid);
  for (auto& d : disks_) {
    if (!d->store->stale_piece(oid, epoch, piece)) continue;
    if (home.store->exists(oid) || find_elsewhere(oid, &home)) return err(Res::OidExist);
    SD_TRY(d->store->restore_stale(oid, epoch, piece));
    if (d.get() == &home) return {};
    return d->store->move_object_to(oid, *home.store);
  }
  return err(Res::NoObj);
}

Status ObjectStore::remove_stale(uint64_t oid) {
  auto lk = read_lock();
  Status first;
  for (auto& d : disks_) {
    Status st = d->store->remove_stale(oid);
    if (first.ok() && !st.ok()) first = st;
  }
  return first;
}

Status ObjectStore::sync_dirs() const {
  auto lk = read_lock();
  for (auto& d : disks_) SD_TRY(d->store->sync_dirs());
  return {};
}

uint64_t ObjectStore::used_bytes() const {
  auto lk = read_lock();
  uint64_t total = 0;
  for (auto& d : disks_) total += d->store->used_bytes();
  return total;
}

uint64_t ObjectStore::fs_free() const {
  auto lk = read_lock();
  uint64_t total = 0;
  for (auto& d : disks_)
    if (!d->draining) total += d->store->fs_free();
  return total;
}

uint64_t ObjectStore::capacity() const {
  auto lk = read_lock();
  uint64_t total = 0;
  for (auto& d : disks_)
    if (!d->draining) total += d->capacity;
  return total;
}

}  // namespace sd
