// Moving object files between two disks of one node (PlainStore's
// move_object_to / move_stale_to): what a multi-disk node does when a disk
// is plugged or unplugged, so that every object ends on the disk its
// vdisk ring names (docs/PROTOCOL.md §9.6).
//
// On one filesystem a move is a rename. Across filesystems it is a copy
// that keeps holes (SEEK_DATA/SEEK_HOLE), synced and renamed into place,
// then the source is unlinked: a crash leaves the object on either disk
// or on both, never half of it anywhere, and the copy on the right disk
// wins when both are found (ObjectStore's rebalancing).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <memory>

#include "base/file_util.h"
#include "base/log.h"
#include "store/plain_store.h"

namespace sd {

namespace {

Status copy_range(int in, int out, off_t from, off_t to) {
  constexpr size_t kChunk = 1 << 20;
  std::unique_ptr<char[]> buf(new char[kChunk]);
  while (from < to) {
    size_t want = size_t(std::min<off_t>(to - from, off_t(kChunk)));
    ssize_t n = pread(in, buf.get(), want, from);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return err(res_from_errno(errno));
    if (n == 0) break;
    for (ssize_t done = 0; done < n;) {
      ssize_t w = pwrite(out, buf.get() + done, size_t(n - done), from + done);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return err(res_from_errno(errno));
      done += w;
    }
    from += n;
  }
  return {};
}

// Copies src to dst through a private tmp file, keeping holes. EEXIST
// (as an OidExist error) when dst appeared meanwhile: it is kept.
Status copy_file(const std::string& src, const std::string& dst, bool nosync) {
  int in = open(src.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return err(errno == ENOENT ? Res::NoObj : res_from_errno(errno));
  struct stat st;
  if (fstat(in, &st) < 0) {
    int e = errno;
    close(in);
    return err(res_from_errno(e));
  }
  std::string tmp = dst + ".tmp." + std::to_string(syscall(SYS_gettid));
  int out = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (out < 0) {
    int e = errno;
    close(in);
    return err(res_from_errno(e));
  }
  Status s;
  if (ftruncate(out, st.st_size) < 0) s = err(res_from_errno(errno));
  off_t pos = 0;
  while (s.ok() && pos < st.st_size) {
    off_t data = lseek(in, pos, SEEK_DATA);
    if (data < 0) {
      if (errno != ENXIO) s = err(res_from_errno(errno));
      break;  // only a hole is left
    }
    off_t hole = lseek(in, data, SEEK_HOLE);
    if (hole < 0) hole = st.st_size;
    s = copy_range(in, out, data, hole);
    pos = hole;
  }
  // The block checksums travel with the bytes (docs/PROTOCOL.md §9.7).
  if (s.ok()) {
    uint8_t sums[BlockSums::kMaxSize];
    ssize_t n = fgetxattr(in, BlockSums::kXattr, sums, sizeof(sums));
    // A target filesystem without user xattrs keeps the copy unchecked.
    if (n > 0 && fsetxattr(out, BlockSums::kXattr, sums, size_t(n), 0) < 0 && errno != ENOTSUP)
      s = err(res_from_errno(errno));
  }
  if (s.ok() && !nosync && fsync(out) < 0) s = err(res_from_errno(errno));
  close(out);
  close(in);
  if (s.ok() && renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, dst.c_str(), RENAME_NOREPLACE) < 0)
    s = err(errno == EEXIST ? Res::OidExist : res_from_errno(errno));
  if (!s.ok()) unlink(tmp.c_str());
  if (s.ok() && !nosync) s = fsync_dir(dirname_of(dst));
  return s;
}

// Puts src at dst (a rename when both are on one filesystem) and removes
// src. OidExist: dst was there already, and src was dropped.
Status transfer(const std::string& src, const std::string& dst, bool same_fs, bool nosync) {
  Status s;
  bool copy = !same_fs;
  if (same_fs) {
    if (renameat2(AT_FDCWD, src.c_str(), AT_FDCWD, dst.c_str(), RENAME_NOREPLACE) < 0) {
      if (errno == EXDEV)
        copy = true;  // one filesystem mounted twice (bind mounts)
      else
        s = err(errno == EEXIST ? Res::OidExist : errno == ENOENT ? Res::NoObj
                                                                   : res_from_errno(errno));
    }
    if (!copy && s.ok() && !nosync) s = fsync_dir(dirname_of(dst));
  }
  if (copy) s = copy_file(src, dst, nosync);
  if (s.code() == Res::NoObj || (!s.ok() && s.code() != Res::OidExist)) return s;
  // Moved, or the target had its own: either way this one goes.
  if (unlink(src.c_str()) < 0 && errno != ENOENT) return err(res_from_errno(errno));
  if (!nosync) SD_TRY(fsync_dir(dirname_of(src)));
  return s;
}

}  // namespace

Status PlainStore::move_object_to(uint64_t oid, PlainStore& target) {
  int piece = piece_of(oid);
  std::string src = piece_path(oid, piece);
  std::string dst = target.piece_path(oid, piece);
  fds_.invalidate(oid);
  Status s = transfer(src, dst, dev_ == target.dev_, nosync_ && target.nosync_);
  if (s.code() == Res::NoObj) return s;
  if (s.ok() || s.code() == Res::OidExist) {
    if (piece != kWholeObject) set_piece(oid, kWholeObject);
    if (s.ok()) {
      target.set_piece(oid, piece);
      target.fds_.invalidate(oid, false);
    }
    return {};
  }
  sd_err("cannot move %016" PRIx64 " from %s to %s: %s", oid, dir_.c_str(), target.dir_.c_str(),
         strerror(s.code()));
  return s;
}

Status PlainStore::move_stale_to(const StaleCopy& c, PlainStore& target) {
  std::string src = stale_path(c.oid, c.epoch, c.piece);
  std::string dst = target.stale_path(c.oid, c.epoch, c.piece);
  Status s = transfer(src, dst, dev_ == target.dev_, nosync_ && target.nosync_);
  if (!s.ok() && s.code() != Res::OidExist && s.code() != Res::NoObj) return s;
  {
    std::lock_guard<std::mutex> lk(stale_mu_);
    auto it = stale_.find(c.oid);
    if (it != stale_.end()) {
      it->second.erase({c.epoch, c.piece});
      if (it->second.empty()) stale_.erase(it);
    }
  }
  if (s.ok()) {
    std::lock_guard<std::mutex> lk(target.stale_mu_);
    target.stale_[c.oid].insert({c.epoch, c.piece});
  }
  return {};
}

}  // namespace sd
