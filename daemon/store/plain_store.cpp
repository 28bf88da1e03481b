// Object files on a local filesystem.
#include "store/plain_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <algorithm>

#include "base/file_util.h"
#include "base/log.h"
#include "client/requests.h"
#include "oid.h"
#include "sha1.h"

namespace sd {

bool parse_oid_name(const char* name, uint64_t* oid) {
  if (std::strlen(name) != 16) return false;
  for (int i = 0; i < 16; i++)
    if (!std::isxdigit(static_cast<unsigned char>(name[i]))) return false;
  *oid = std::strtoull(name, nullptr, 16);
  return true;
}

bool parse_object_name(const char* name, uint64_t* oid, int* piece) {
  size_t n = std::strlen(name);
  if (n < 16) return false;
  char head[17];
  std::memcpy(head, name, 16);
  head[16] = 0;
  if (!parse_oid_name(head, oid)) return false;
  if (n == 16) {
    *piece = kWholeObject;
    return true;
  }
  // "_<i>", i < 31, in plain decimal.
  if (name[16] != '_' || n > 19 || !std::isdigit(static_cast<unsigned char>(name[17])))
    return false;
  if (n == 19 && (name[17] == '0' || !std::isdigit(static_cast<unsigned char>(name[18]))))
    return false;
  int v = std::atoi(name + 17);
  if (v > 30) return false;
  *piece = v;
  return true;
}

std::string object_file_name(uint64_t oid, int piece) {
  if (piece == kWholeObject) return oid_name(oid);
  return oid_name(oid) + "_" + std::to_string(piece);
}

std::string PlainStore::object_dir(uint64_t oid) const {
  if (layout_.load() == StoreLayout::Plain) return dir_;
  // Inode, vmstate and attribute objects in meta/; data, ledger and B-tree
  // objects in the bucket of their vid's low byte (docs/PROTOCOL.md §9.3).
  if (!is_vdi_obj(oid) && !is_vmstate_obj(oid) && !is_vdi_attr_obj(oid)) {
    char bucket[8];
    std::snprintf(bucket, sizeof(bucket), "/%02x", unsigned(oid >> 32) & 0xffu);
    return dir_ + bucket;
  }
  return dir_ + "/meta";
}

std::string PlainStore::piece_path(uint64_t oid, int piece) const {
  return object_dir(oid) + "/" + object_file_name(oid, piece);
}

Status PlainStore::set_layout(StoreLayout layout) {
  if (layout == StoreLayout::Tree) {
    if (!make_dirs(dir_ + "/meta", 0700)) return err(res_from_errno(errno));
    for (unsigned b = 0; b < 256; b++) {
      char bucket[8];
      std::snprintf(bucket, sizeof(bucket), "/%02x", b);
      if (!make_dirs(dir_ + bucket, 0700)) return err(res_from_errno(errno));
    }
  }
  if (layout_.exchange(layout) != layout) fds_.clear();
  return {};
}

void PlainStore::for_each_entry(const std::function<void(int dfd, const char* name)>& fn) const {
  auto scan = [&](const std::string& path) {
    DIR* d = opendir(path.c_str());
    if (!d) return false;
    while (dirent* de = readdir(d)) fn(dirfd(d), de->d_name);
    closedir(d);
    return true;
  };
  scan(dir_);
  // The tree's directories are made together (set_layout): without meta/
  // there are none to look in.
  if (!scan(dir_ + "/meta")) return;
  for (unsigned b = 0; b < 256; b++) {
    char bucket[8];
    std::snprintf(bucket, sizeof(bucket), "/%02x", b);
    scan(dir_ + bucket);
  }
}

int PlainStore::piece_of(uint64_t oid) const {
  if (!any_pieces_.load(std::memory_order_relaxed)) return kWholeObject;
  std::lock_guard<std::mutex> lk(piece_mu_);
  auto it = pieces_.find(oid);
  return it == pieces_.end() ? kWholeObject : it->second;
}

void PlainStore::set_piece(uint64_t oid, int piece) {
  std::lock_guard<std::mutex> lk(piece_mu_);
  if (piece == kWholeObject) {
    pieces_.erase(oid);
  } else {
    pieces_[oid] = piece;
    any_pieces_ = true;
  }
}

Status PlainStore::init() {
  // Object files hold VDI data: the directory is this user's only (0700),
  // an older, wider one is tightened, and files are created 0600.
  if (!make_dirs(dir_, 0700) || !make_dirs(dir_ + "/.stale", 0700)) return err(res_from_errno(errno));
  for (const std::string& d : {dir_, dir_ + "/.stale"})
    if (chmod(d.c_str(), 0700) < 0) return err(res_from_errno(errno));
  std::vector<std::pair<uint64_t, int>> strips;
  for_each_entry([&](int dfd, const char* name) {
    uint64_t oid;
    int piece;
    if (std::strstr(name, ".tmp")) {
      sd_info("removing leftover %s", name);
      unlinkat(dfd, name, 0);
    } else if (parse_object_name(name, &oid, &piece) && piece != kWholeObject) {
      strips.push_back({oid, piece});
    }
  });
  SD_TRY(load_stale_index());
  // Two pieces of one object live here: a crash between putting a new
  // piece in place and setting the old one aside. Neither can be trusted
  // to be the one the ring wants: both go to .stale (as of epoch 0), where
  // recovery may still use them, and the right piece is rebuilt.
  std::sort(strips.begin(), strips.end());
  for (size_t i = 0; i < strips.size(); i++) {
    uint64_t oid = strips[i].first;
    bool dup = (i > 0 && strips[i - 1].first == oid) ||
               (i + 1 < strips.size() && strips[i + 1].first == oid);
    if (!dup && access(piece_path(oid, kWholeObject).c_str(), F_OK) != 0) {
      set_piece(oid, strips[i].second);
      continue;
    }
    sd_warn("%s: another piece of the object is here too; both set aside",
            object_file_name(oid, strips[i].second).c_str());
    set_aside(oid, strips[i].second);
    set_aside(oid, kWholeObject);
  }
  if (!strips.empty()) SD_TRY(sync_dirs());
  probe_xattrs();
  struct stat st;
  if (stat(dir_.c_str(), &st) < 0) return err(res_from_errno(errno));
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  return {};
}

Status PlainStore::fail(const std::string& why) const {
  if (!failed_.exchange(true)) {
    if (failure_hook_)
      failure_hook_(why);  // says which disk
    else
      sd_err("the object store failed: %s", why.c_str());
  }
  return err(Res::Eio);
}

Status PlainStore::io_error(int e, const char* what, uint64_t oid) const {
  // EIO, or a filesystem that went read-only after errors: the disk failed.
  if (e == EIO || e == EROFS) {
    char buf[96];
    std::snprintf(buf, sizeof(buf), "%s %016" PRIx64 ": %s", what, oid, std::strerror(e));
    return fail(buf);
  }
  return err(res_from_errno(e));
}

Status PlainStore::check_dir(bool now_please) const {
  if (failed_) return err(Res::Eio);
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count();
  if (!now_please && now - dir_checked_ms_.load() < 100) return {};
  dir_checked_ms_ = now;
  struct stat st;
  if (stat(dir_.c_str(), &st) < 0 || st.st_dev != dev_ || st.st_ino != ino_)
    return fail(dir_ + " is gone");
  return {};
}

Result<std::shared_ptr<ObjectFd>> PlainStore::object_fd(uint64_t oid) const {
  if (auto fd = fds_.get(oid)) return fd;
  uint64_t gen = fds_.generation();
  int piece = piece_of(oid);
  int fd = open(piece_path(oid, piece).c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    // Missing because the whole directory went away is a failed disk,
    // not a missing object.
    if (e == ENOENT) SD_TRY(check_dir(true));
    return err(e == ENOENT ? Res::NoObj : res_from_errno(e));
  }
  auto h = std::make_shared<ObjectFd>(fd, piece);
  fds_.put(oid, h, gen);
  return h;
}

Status PlainStore::read(uint64_t oid, void* buf, uint32_t len, uint64_t offset,
                        int piece) const {
  auto fd = object_fd(oid);
  if (!fd.ok()) return err(fd.code());
  if (piece != kAnyPiece && (*fd)->piece != piece) return err(Res::NoObj);
  std::shared_lock<std::shared_mutex> lk(sum_lock(oid));
  if (auto sums = load_sums((*fd)->fd, oid))
    return read_checked(oid, (*fd)->fd, *sums, buf, len, offset, "read");
  lk.unlock();
  return read_unchecked(oid, buf, len, offset);
}

Status PlainStore::read_unchecked(uint64_t oid, void* buf, uint32_t len, uint64_t offset) const {
  auto fd = object_fd(oid);
  if (!fd.ok()) return err(fd.code());
  if (int e = pread_padded((*fd)->fd, buf, len, offset)) {
    sd_err("read %016" PRIx64 " failed: %s", oid, std::strerror(e));
    return e == EIO ? io_error(e, "read", oid) : err(Res::Eio);
  }
  return {};
}

bool PlainStore::read_cached(uint64_t oid, void* buf, uint32_t len, uint64_t offset,
                             int piece) const {
  auto fd = fds_.get(oid);
  if (!fd || fd->piece != piece) return false;
  // Never waits: a writer of the file holding its lock sends this read to
  // a worker thread.
  std::shared_lock<std::shared_mutex> lk(sum_lock(oid), std::try_to_lock);
  if (!lk.owns_lock()) return false;
  auto sums = load_sums(fd->fd, oid);
  BlockSums::Range r{offset, len};
  if (sums) r = sums->cover(offset, len);
  if (sums && offset + len > r.offset + r.len) return false;  // past the sums: the slow path
  bool direct = r.offset == offset && r.len == len;
  thread_local std::vector<char> blocks;
  if (!direct && blocks.size() < r.len) blocks.resize(r.len);
  char* target = direct ? static_cast<char*>(buf) : blocks.data();
  iovec iov{target, r.len};
  ssize_t n = preadv2(fd->fd, &iov, 1, off_t(r.offset), RWF_NOWAIT);
  if (n != ssize_t(r.len)) return false;
  // A mismatch is left to the slow path, which reports it.
  if (sums && sums->first_bad(target, r.len, r.offset) >= 0) return false;
  if (!direct) std::memcpy(buf, target + (offset - r.offset), len);
  return true;
}

Status PlainStore::write(uint64_t oid, const void* buf, uint32_t len, uint64_t offset,
                         int piece) {
  SD_TRY(check_dir());
  Status st;
  bool sealed = false;
  uint64_t replaced = replaced_[lock_slot(oid)].load();
  auto got = object_fd(oid);
  if (!got.ok()) return err(got.code());
  std::shared_ptr<ObjectFd> fd = *got;
  {
    std::unique_lock<std::shared_mutex> lk(sum_lock(oid));
    // The file was replaced while this write waited: its descriptor may be
    // the old file's, whose bytes nobody reads any more. Looked up again
    // under the lock, which replacements take, it is the live file's.
    if (replaced_[lock_slot(oid)].load() != replaced) {
      got = object_fd(oid);
      if (!got.ok()) return err(got.code());
      fd = *got;
    }
    if (piece != kAnyPiece && fd->piece != piece) return err(Res::NoObj);
    auto sums = load_sums(fd->fd, oid);
    sealed = sums.has_value();
    st = sealed ? write_checked(oid, fd->fd, *sums, buf, len, offset)
                : pwrite_full(fd->fd, buf, len, offset);
  }
  if (st.ok() && !nosync_) st = fd->sync.sync(fd->fd, sealed);
  if (!st.ok()) {
    sd_err("write %016" PRIx64 " failed: %s", oid, strerror(st.code()));
    if (st.code() == Res::Eio || st.code() == Res::Readonly)
      return fail("write error on " + path(oid));
  }
  return st;
}

Status PlainStore::create_and_write(uint64_t oid, uint64_t size, const void* buf, uint32_t len,
                                    uint64_t offset, int piece,
                                    const uint8_t* unless_changed_from) {
  std::string final_path = piece_path(oid, piece);
  int old_piece = piece_of(oid);
  if (unless_changed_from && (piece != kWholeObject || old_piece != kWholeObject))
    return err(Res::NoSupport);
  // A private tmp name per thread: concurrent creates never share a file,
  // and the last rename wins (create replaces).
  SD_TRY(check_dir());
  std::string tmp = final_path + ".tmp." + std::to_string(syscall(SYS_gettid));
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT) return fail(dir_ + " is gone");
    return io_error(e, "create", oid);
  }
  Status st;
  // Data objects get their whole size allocated, as upstream: the space a
  // VDI may use is taken when its object is created (vdi create -P, full
  // disks fail early). Inodes and the rest stay sparse.
  int rc = -1;
  if (is_data_obj(oid)) {
    rc = fallocate(fd, 0, 0, off_t(size));
    if (rc < 0 && errno != EOPNOTSUPP && errno != ENOSYS) st = err(res_from_errno(errno));
  }
  if (st.ok() && rc < 0 && ftruncate(fd, off_t(size)) < 0) st = err(res_from_errno(errno));
  if (st.ok() && len) st = pwrite_full(fd, buf, len, offset);
  // The checksums go on the tmp file: they arrive with the bytes, by the
  // same rename. A filesystem that refuses them leaves the file unchecked.
  bool sealed = false;
  if (st.ok() && sums_on_ && size && size <= (uint64_t(BlockSums::kMaxBlocks) << BlockSums::kMaxShift))
    sealed = save_sums(fd, BlockSums::of(size, buf, len, offset), oid).ok();
  if (st.ok() && !nosync_ && (sealed ? fsync(fd) : fdatasync(fd)) < 0)
    st = err(res_from_errno(errno));
  close(fd);
  // Cached descriptors are dropped after the rename, so one of the old file
  // opened meanwhile is not cached (see FdCache); when a file is replaced,
  // also before it, so writes stop using the old file as early as possible.
  // Only replacing can leave readers outside (local reads in the plugin)
  // with a descriptor of an old version, so only then are they told. A new
  // object goes in with RENAME_NOREPLACE: "new" is decided atomically.
  bool replaced = false;
  bool dir_synced = false;  // by replace_live
  if (st.ok() && unless_changed_from) {
    replaced = dir_synced = true;
    st = replace_live(oid, tmp, final_path, unless_changed_from, size);
  } else if (st.ok() && renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, final_path.c_str(),
                                  RENAME_NOREPLACE) < 0) {
    if (errno == EEXIST || errno == EINVAL || errno == ENOSYS) {
      replaced = dir_synced = true;
      st = replace_live(oid, tmp, final_path, nullptr, size);
    } else {
      st = err(res_from_errno(errno));
    }
    // The tmp file was made, its rename finds nothing: the directory went
    // away in between (a filesystem unmounted from under it).
    if (st.code() == Res::NoObj) {
      Status dir = check_dir(true);
      if (!dir.ok()) st = dir;
    }
  }
  if (st.ok() && old_piece != piece) {
    // Another piece of oid was live here (the ring gave this node another
    // strip index): the new one replaces it, and the old one is kept
    // aside, since it may be the only one of its index left.
    fds_.invalidate(oid);
    set_piece(oid, piece);
    if (!nosync_) st = fsync_dir(object_dir(oid));  // the new piece is in place before the old goes
    set_aside(oid, old_piece);
    replaced = true;
  }
  if (st.ok()) fds_.invalidate(oid, replaced);
  if (!st.ok()) {
    unlink(tmp.c_str());
    // (Again: the condition did not hold; the caller says what it means.)
    if (st.code() != Res::Again)
      sd_err("create %016" PRIx64 " failed: %s", oid, strerror(st.code()));
    return st;
  }
  if (!nosync_ && (!dir_synced || old_piece != piece)) return fsync_dir(object_dir(oid));
  return {};
}

Status PlainStore::replace_live(uint64_t oid, const std::string& tmp,
                                const std::string& final_path,
                                const uint8_t* unless_changed_from, uint64_t size) {
  std::unique_lock<std::shared_mutex> lk(sum_lock(oid));
  if (unless_changed_from) SD_TRY(live_hash_is(oid, size, unless_changed_from));
  fds_.invalidate(oid);  // writes stop using the old file early
  if (rename(tmp.c_str(), final_path.c_str()) < 0) return err(res_from_errno(errno));
  // Again before the lock is let go: a descriptor of the old file cached
  // meanwhile is not handed to the writes waiting for it, and readers
  // outside (local reads) are told before any such write is acknowledged.
  fds_.invalidate(oid);
  replaced_[lock_slot(oid)]++;
  written_ms_[lock_slot(oid)] = now_ms();  // (a block repair read before is refused)
  // The new name is durable before a write that waited is acknowledged
  // (fdatasync of the file alone need not make it so).
  if (!nosync_) return fsync_dir(object_dir(oid));
  return {};
}

Status PlainStore::live_hash_is(uint64_t oid, uint64_t size, const uint8_t* expect) const {
  auto fd = object_fd(oid);
  if (!fd.ok()) return err(fd.code());
  constexpr uint64_t kChunk = 1u << 20;
  std::unique_ptr<char[]> chunk(new char[kChunk]);
  Sha1 h;
  for (uint64_t off = 0; off < size; off += kChunk) {
    uint64_t n = std::min(kChunk, size - off);
    if (int e = pread_padded((*fd)->fd, chunk.get(), n, off)) return err(res_from_errno(e));
    h.update(chunk.get(), n);
  }
  uint8_t now[20];
  h.final(now);
  return std::memcmp(now, expect, sizeof(now)) == 0 ? Status{} : err(Res::Again);
}

Status PlainStore::remove(uint64_t oid) {
  int piece = piece_of(oid);
  int rc, saved;
  {
    // As move_to_stale: a write waiting for the lock finds no file then.
    std::unique_lock<std::shared_mutex> lk(sum_lock(oid));
    rc = unlink(piece_path(oid, piece).c_str());
    saved = errno;
    if (piece != kWholeObject) set_piece(oid, kWholeObject);
    fds_.invalidate(oid);
    if (rc == 0) replaced_[lock_slot(oid)]++;
  }
  if (rc < 0) return err(saved == ENOENT ? Res::NoObj : res_from_errno(saved));
  if (!nosync_) return fsync_dir(object_dir(oid));
  return {};
}

bool PlainStore::exists(uint64_t oid) const { return access(path(oid).c_str(), F_OK) == 0; }

std::vector<uint64_t> PlainStore::list() const {
  std::vector<uint64_t> out;
  for_each_entry([&](int, const char* name) {
    uint64_t oid;
    int piece;
    if (parse_object_name(name, &oid, &piece)) out.push_back(oid);
  });
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Status PlainStore::purge() {
  for_each_entry([&](int dfd, const char* name) {
    uint64_t oid;
    int piece;
    if (parse_object_name(name, &oid, &piece)) unlinkat(dfd, name, 0);
  });
  {
    std::lock_guard<std::mutex> lk(piece_mu_);
    pieces_.clear();
  }
  fds_.clear();
  SD_TRY(purge_stale());
  return fsync_dir(dir_);
}

uint64_t PlainStore::used_bytes() const { return usage().bytes; }

PlainStore::Usage PlainStore::usage() const {
  Usage u;
  for_each_entry([&](int dfd, const char* name) {
    uint64_t oid;
    int piece;
    struct stat st;
    if (parse_object_name(name, &oid, &piece) && fstatat(dfd, name, &st, 0) == 0) {
      u.objects++;
      u.bytes += uint64_t(st.st_blocks) * 512;
    }
  });
  return u;
}

uint64_t PlainStore::fs_free() const {
  struct statvfs vfs;
  if (statvfs(dir_.c_str(), &vfs) < 0) return 0;
  return uint64_t(vfs.f_bavail) * vfs.f_frsize;
}

}  // namespace sd
