// ObjectStore: opening one disk — what a path must be to become a disk
// (and what is refused: a mistyped `md plug /etc` must not empty, chmod or
// fill a directory of the system), its identity, and its capacity.
#include <dirent.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cinttypes>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "base/file_util.h"
#include "base/log.h"
#include "store/object_store.h"

namespace sd {

namespace {

constexpr const char* kSizeXattr = "user.md.size";
constexpr uint64_t kMaxCapacity = 1ull << 56;  // 64 PiB a disk

// x is y or lies under it.
bool within(const std::string& x, const std::string& y) {
  return x == y || (x.size() > y.size() && x.compare(0, y.size(), y) == 0 &&
                    (y == "/" || x[y.size()] == '/'));
}

bool well_formed(const std::string& path, std::string* why) {
  if (path.empty() || path[0] != '/') {
    *why = "an absolute path is needed";
    return false;
  }
  for (unsigned char c : path)
    if (c < 0x20 || c == 0x7f) {
      *why = "a control character in the path";
      return false;
    }
  if (path.find("/../") != std::string::npos ||
      (path.size() >= 3 && path.compare(path.size() - 3, 3, "/..") == 0)) {
    *why = "no .. in the path, please";
    return false;
  }
  return true;
}

// A directory may be purged only when it holds nothing but what a disk
// holds (objects, .stale, the tree's directories, a filesystem's
// lost+found).
bool purgeable(const std::string& path, std::string* why) {
  struct stat st;
  if (lstat(path.c_str(), &st) < 0) {
    *why = std::strerror(errno);
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
        parse_object_name(n, &oid, &piece) || std::strstr(n, ".tmp"))
      continue;
    *why = std::string("it holds other files than objects (") + n + ")";
    ok = false;
    break;
  }
  closedir(d);
  return ok;
}

}  // namespace

bool ObjectStore::is_meta_store(const std::string& path) {
  struct stat st;
  return stat((path + "/config").c_str(), &st) == 0 && stat((path + "/epoch").c_str(), &st) == 0;
}

std::vector<ObjectStore::DiskId> ObjectStore::disk_ids() const {
  auto lk = read_lock();
  std::vector<DiskId> out;
  for (auto& d : disks_) out.push_back(d->id);
  return out;
}

ObjectStore::DiskPtr ObjectStore::open_disk(const std::string& path, bool purge,
                                            const std::vector<DiskId>& others,
                                            size_t fd_capacity) {
  std::string why;
  auto refuse = [&](const std::string& reason) -> DiskPtr {
    sd_err("cannot use disk %s: %s", path.c_str(), reason.c_str());
    return nullptr;
  };
  if (!well_formed(path, &why)) return refuse(why);
  // One level is made, as upstream: a missing parent is a typo.
  if (mkdir(path.c_str(), 0700) < 0 && errno != EEXIST) return refuse(std::strerror(errno));
  char real[PATH_MAX];
  struct stat st;
  if (!realpath(path.c_str(), real) || stat(real, &st) < 0) return refuse(std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) return refuse("not a directory");
  DiskId id{real, st.st_dev, st.st_ino};
  bool single = initial_disks_.empty() && path == meta_dir_ + "/obj";
  if (!single) {
    if (is_meta_store(path)) {
      sd_err("%s is meta-store, abort", path.c_str());
      return nullptr;
    }
    // Disks may sit inside the meta directory (upstream's tests put them
    // there), but not be it, its obj/, or around it.
    if (id.real == meta_real_ || within(id.real, meta_real_ + "/obj") || within(meta_real_, id.real))
      return refuse("it is the meta directory, or holds it");
  }
  for (const DiskId& o : others) {
    if (o.dev == id.dev && o.ino == id.ino) return refuse("already in use (as " + o.real + ")");
    if (within(id.real, o.real) || within(o.real, id.real))
      return refuse("nested with disk " + o.real);
  }
  if (purge && !purgeable(path, &why)) return refuse(why);
  auto d = std::make_shared<Disk>();
  d->path = path;
  d->id = id;
  d->store = std::make_unique<PlainStore>(path, nosync_, fd_capacity);
  if (!d->store->init().ok()) return refuse(std::strerror(errno));
  if (purge) {
    sd_info("disk %s was not in use: purging what it holds", path.c_str());
    if (!d->store->purge().ok()) return refuse("cannot purge it");
  }
  if (!d->store->set_layout(layout_.load()).ok())
    return refuse("cannot make the store's directories");
  struct statvfs vfs;
  if (statvfs(path.c_str(), &vfs) < 0) return refuse(std::strerror(errno));
  uint64_t size = 0;
  ssize_t n = getxattr(path.c_str(), kSizeXattr, &size, sizeof(size));
  if (n != ssize_t(sizeof(size)) || size == 0) {
    bool supported = !(n < 0 && errno == ENOTSUP);
    size = uint64_t(vfs.f_bavail) * vfs.f_frsize;
    if (!supported || setxattr(path.c_str(), kSizeXattr, &size, sizeof(size), 0) < 0)
      sd_warn("disk %s keeps no %s (xattrs: %s): its capacity is measured at each start",
              path.c_str(), kSizeXattr, std::strerror(errno));
  } else if (size > kMaxCapacity) {
    // Trusted as upstream does (an admin may set it), but not so far that
    // sums of capacities overflow.
    sd_warn("disk %s: %s says %" PRIu64 " bytes; taking %" PRIu64, path.c_str(), kSizeXattr, size,
            kMaxCapacity);
    size = kMaxCapacity;
  }
  d->capacity = std::max<uint64_t>(size, 1);
  Disk* raw = d.get();
  d->store->set_failure_hook([this, raw](const std::string& reason) {
    sd_err("disk %s failed: %s", raw->path.c_str(), reason.c_str());
    {
      std::lock_guard<std::mutex> lk(failure_mu_);
      raw->failure = reason;
    }
    // Dropped by whoever meets the failure next, or by the rebalancer.
    start_rebalance();
  });
  if (invalidation_hook_) d->store->set_invalidation_hook(invalidation_hook_);
  d->store->set_corruption_hook([this](uint64_t oid) {
    if (listener_) listener_->on_object_corrupt(oid);
  });
  return d;
}

}  // namespace sd
