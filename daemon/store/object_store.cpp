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
#include <cstring>
#include <set>

#include "base/file_util.h"
#include "base/log.h"
#include "hash.h"

namespace sd {

namespace {

constexpr const char* kSizeXattr = "user.md.size";
// The vdisks of all disks together stay under this many (a larger vdisk
// for very large disks), so the ring stays small in memory.
constexpr uint64_t kMaxVdisks = 1u << 18;

// A directory may be purged (a disk plugged, or given again after it
// left) only when it holds nothing but what a disk holds: a mistyped
// `md plug /etc` must not empty (or chmod) a directory of the system.
bool purgeable(const std::string& path, std::string* why) {
  struct stat st;
  if (lstat(path.c_str(), &st) < 0) {
    if (errno == ENOENT) return true;  // made fresh
    *why = std::strerror(errno);
    return false;
  }
  if (!S_ISDIR(st.st_mode)) {
    *why = "not a directory";
    return false;
  }
  if (st.st_uid != geteuid()) {
    *why = "not owned by this user";
    return false;
  }
  DIR* d = opendir(path.c_str());
  if (!d) {
    *why = std::strerror(errno);
    return false;
  }
  bool ok = true;
  while (dirent* de = readdir(d)) {
    const char* n = de->d_name;
    uint64_t oid;
    int piece;
    bool bucket = std::strlen(n) == 2 && std::isxdigit(static_cast<unsigned char>(n[0])) &&
                  std::isxdigit(static_cast<unsigned char>(n[1]));
    if (!std::strcmp(n, ".") || !std::strcmp(n, "..") || !std::strcmp(n, ".stale") ||
        !std::strcmp(n, "meta") || !std::strcmp(n, "lost+found") || bucket ||
        parse_object_name(n, &oid, &piece) ||
        std::strstr(n, ".tmp"))
      continue;
    *why = std::string("it holds other files than objects (") + n + ")";
    ok = false;
    break;
  }
  closedir(d);
  return ok;
}

bool looks_like_meta_store(const std::string& path) {
  struct stat st;
  return stat((path + "/config").c_str(), &st) == 0 && stat((path + "/epoch").c_str(), &st) == 0;
}

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

ObjectStore::DiskPtr ObjectStore::open_disk(const std::string& path, bool purge) {
  if (!initial_disks_.empty() && looks_like_meta_store(path)) {
    sd_err("%s is meta-store, abort", path.c_str());
    return nullptr;
  }
  if (path.empty() || path[0] != '/' || path.find("/../") != std::string::npos ||
      (path.size() >= 3 && path.compare(path.size() - 3, 3, "/..") == 0)) {
    sd_err("cannot use disk %s: an absolute path without .. is needed", path.c_str());
    return nullptr;
  }
  std::string why;
  if (purge && !purgeable(path, &why)) {
    sd_err("cannot use disk %s: %s", path.c_str(), why.c_str());
    return nullptr;
  }
  auto d = std::make_shared<Disk>();
  d->path = path;
  d->store = std::make_unique<PlainStore>(path, nosync_, fd_capacity_);
  if (!d->store->init().ok()) {
    sd_err("cannot use disk %s: %s", path.c_str(), std::strerror(errno));
    return nullptr;
  }
  if (!d->store->set_layout(layout_.load()).ok()) {
    sd_err("cannot make the store's directories on disk %s", path.c_str());
    return nullptr;
  }
  if (purge) {
    sd_info("disk %s was not in use: purging what it holds", path.c_str());
    if (!d->store->purge().ok()) {
      sd_err("cannot purge disk %s", path.c_str());
      return nullptr;
    }
  }
  uint64_t size = 0;
  ssize_t n = getxattr(path.c_str(), kSizeXattr, &size, sizeof(size));
  if (n != ssize_t(sizeof(size)) || size == 0) {
    bool supported = !(n < 0 && errno == ENOTSUP);
    struct statvfs vfs;
    if (statvfs(path.c_str(), &vfs) < 0) {
      sd_err("cannot measure disk %s: %s", path.c_str(), std::strerror(errno));
      return nullptr;
    }
    size = uint64_t(vfs.f_bavail) * vfs.f_frsize;
    if (!supported || setxattr(path.c_str(), kSizeXattr, &size, sizeof(size), 0) < 0)
      sd_warn("disk %s keeps no %s (xattrs: %s): its capacity is measured at each start",
              path.c_str(), kSizeXattr, std::strerror(errno));
  }
  d->capacity = size;
  Disk* raw = d.get();
  d->store->set_failure_hook([this, raw](const std::string& why) {
    sd_err("disk %s failed: %s", raw->path.c_str(), why.c_str());
    {
      std::lock_guard<std::mutex> lk(failure_mu_);
      raw->failure = why;
    }
    // Dropped by whoever meets the failure next, or by the rebalancer.
    start_rebalance();
  });
  if (invalidation_hook_) d->store->set_invalidation_hook(invalidation_hook_);
  return d;
}

Status ObjectStore::init() {
  if (!make_dirs(meta_dir_ + "/obj", 0700)) return err(res_from_errno(errno));
  std::vector<std::string> paths = initial_disks_;
  if (paths.empty()) paths.push_back(meta_dir_ + "/obj");
  // The disks in use when the node last ran: one given now that was not
  // among them holds objects of an unknown age.
  std::optional<std::set<std::string>> before;
  if (auto f = read_file(meta_dir_ + "/md_disks"); f.ok()) {
    before.emplace();
    std::string text(f->begin(), f->end());
    size_t pos = 0;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) nl = text.size();
      if (nl > pos) before->insert(text.substr(pos, nl - pos));
      pos = nl + 1;
    }
  }
  std::vector<DiskPtr> opened;
  std::set<std::string> seen;
  for (const std::string& p : paths) {
    if (!seen.insert(p).second) continue;
    bool purge = before && !before->count(p);
    if (DiskPtr d = open_disk(p, purge)) opened.push_back(std::move(d));
  }
  if (before)
    for (const std::string& p : *before)
      if (!seen.count(p))
        sd_warn("disk %s is not given any more: its objects will be recovered from other nodes",
                p.c_str());
  if (opened.empty()) {
    sd_err("There isn't any available disk!");
    return err(Res::Eio);
  }
  {
    auto lk = write_lock();
    disks_ = std::move(opened);
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
  uint64_t total = 0;
  for (auto& d : disks_)
    if (!d->draining) total += std::max<uint64_t>(d->capacity, 1);
  uint64_t vdisk = kVdiskSize;
  while (total / vdisk > kMaxVdisks) vdisk *= 2;
  for (auto& d : disks_) {
    if (d->draining) continue;
    uint64_t n = std::max<uint64_t>(1, (d->capacity + vdisk - 1) / vdisk);
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
                                     uint64_t offset, int piece) {
  // A misplaced old copy is moved home first, so that a piece it holds is
  // set aside as PlainStore does when one piece replaces another.
  return on_home(oid, true, [&](PlainStore& s) {
    return s.create_and_write(oid, size, buf, len, offset, piece);
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
  auto lk = read_lock();
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
  auto lk = read_lock();
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
  auto lk = read_lock();
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
