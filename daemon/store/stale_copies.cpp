// PlainStore's stale copies: .stale/<oid>.<epoch> files and their index.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "base/file_util.h"
#include "base/log.h"
#include "store/plain_store.h"

namespace sd {

namespace {

// "<object file name>.<decimal epoch>"
bool parse_stale_name(const char* name, uint64_t* oid, uint32_t* epoch, int* piece) {
  const char* dot = std::strchr(name, '.');
  if (!dot || dot - name > 19) return false;
  char head[20];
  std::memcpy(head, name, size_t(dot - name));
  head[dot - name] = 0;
  if (!parse_object_name(head, oid, piece)) return false;
  const char* e = dot + 1;
  char* end = nullptr;
  unsigned long v = std::strtoul(e, &end, 10);
  if (end == e || *end || v > UINT32_MAX) return false;
  *epoch = uint32_t(v);
  return true;
}

}  // namespace

std::string PlainStore::stale_path(uint64_t oid, uint32_t epoch, int piece) const {
  return dir_ + "/.stale/" + object_file_name(oid, piece) + "." + std::to_string(epoch);
}

std::optional<int> PlainStore::stale_piece(uint64_t oid, uint32_t epoch, int piece) const {
  std::lock_guard<std::mutex> lk(stale_mu_);
  auto it = stale_.find(oid);
  if (it == stale_.end()) return std::nullopt;
  for (auto e = it->second.lower_bound({epoch, INT_MIN}); e != it->second.end() && e->first == epoch;
       ++e)
    if (piece == kAnyPiece || e->second == piece) return e->second;
  return std::nullopt;
}

Status PlainStore::load_stale_index() {
  std::lock_guard<std::mutex> lk(stale_mu_);
  stale_.clear();
  DIR* d = opendir((dir_ + "/.stale").c_str());
  if (!d) return err(res_from_errno(errno));
  size_t n = 0;
  while (dirent* de = readdir(d)) {
    uint64_t oid;
    uint32_t epoch;
    int piece;
    if (!parse_stale_name(de->d_name, &oid, &epoch, &piece)) continue;
    stale_[oid].insert({epoch, piece});
    n++;
  }
  closedir(d);
  if (n) sd_info("%zu stale copies in %s/.stale", n, dir_.c_str());
  return {};
}

Status PlainStore::move_to_stale(uint64_t oid, uint32_t epoch) {
  int piece = piece_of(oid);
  int rc, saved;
  {
    // Under the lock writes take, counted: a write waiting for it looks
    // the file up again (and finds none) instead of writing to the copy
    // set aside (see replaced_).
    std::unique_lock<std::shared_mutex> lk(sum_lock(oid));
    rc = rename(piece_path(oid, piece).c_str(), stale_path(oid, epoch, piece).c_str());
    saved = errno;
    if (rc == 0 && piece != kWholeObject) set_piece(oid, kWholeObject);
    fds_.invalidate(oid);
    if (rc == 0) replaced_[lock_slot(oid)]++;
  }
  if (rc < 0) return err(saved == ENOENT ? Res::NoObj : res_from_errno(saved));
  std::lock_guard<std::mutex> lk(stale_mu_);
  stale_[oid].insert({epoch, piece});
  return {};
}

void PlainStore::set_aside(uint64_t oid, int piece) {
  {
    std::unique_lock<std::shared_mutex> lk(sum_lock(oid));  // as move_to_stale
    if (rename(piece_path(oid, piece).c_str(), stale_path(oid, 0, piece).c_str()) < 0) return;
    replaced_[lock_slot(oid)]++;
  }
  std::lock_guard<std::mutex> lk(stale_mu_);
  stale_[oid].insert({0, piece});
}

std::vector<PlainStore::StaleCopy> PlainStore::stale_list() const {
  std::lock_guard<std::mutex> lk(stale_mu_);
  std::vector<StaleCopy> out;
  for (const auto& [oid, copies] : stale_)
    for (auto [e, piece] : copies) out.push_back({oid, e, piece});
  return out;
}

std::optional<uint32_t> PlainStore::newest_stale(uint64_t oid, uint32_t min_epoch,
                                                 int piece) const {
  std::lock_guard<std::mutex> lk(stale_mu_);
  auto it = stale_.find(oid);
  if (it == stale_.end()) return std::nullopt;
  for (auto e = it->second.rbegin(); e != it->second.rend() && e->first >= min_epoch; ++e)
    if (piece == kAnyPiece || e->second == piece) return e->first;
  return std::nullopt;
}

Status PlainStore::read_stale(uint64_t oid, uint32_t epoch, void* buf, uint32_t len,
                              uint64_t offset, int piece) const {
  auto which = stale_piece(oid, epoch, piece);
  if (!which) return err(Res::NoObj);
  int fd = open(stale_path(oid, epoch, *which).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return err(errno == ENOENT ? Res::NoObj : res_from_errno(errno));
  Status st;
  std::shared_lock<std::shared_mutex> lk(sum_lock(oid));
  if (auto sums = load_sums(fd, oid)) {
    st = read_checked(oid, fd, *sums, buf, len, offset, "stale copy");
  } else if (int e = pread_padded(fd, buf, len, offset)) {
    sd_err("read of stale %016" PRIx64 ".%u failed: %s", oid, epoch, std::strerror(e));
    st = err(Res::Eio);
  }
  close(fd);
  return st;
}

Status PlainStore::restore_stale(uint64_t oid, uint32_t epoch, int piece) {
  auto which = stale_piece(oid, epoch, piece);
  if (!which) return err(Res::NoObj);
  if (exists(oid)) return err(Res::OidExist);
  if (renameat2(AT_FDCWD, stale_path(oid, epoch, *which).c_str(), AT_FDCWD,
                piece_path(oid, *which).c_str(), RENAME_NOREPLACE) < 0) {
    int e = errno;
    return err(e == EEXIST ? Res::OidExist : e == ENOENT ? Res::NoObj : res_from_errno(e));
  }
  set_piece(oid, *which);
  fds_.invalidate(oid, false);  // nobody can hold a descriptor of a file that did not exist
  {
    std::lock_guard<std::mutex> lk(stale_mu_);
    auto it = stale_.find(oid);
    if (it != stale_.end()) {
      it->second.erase({epoch, *which});
      if (it->second.empty()) stale_.erase(it);
    }
  }
  return sync_dirs();
}

Status PlainStore::remove_stale(uint64_t oid) {
  std::set<std::pair<uint32_t, int>> copies;
  {
    std::lock_guard<std::mutex> lk(stale_mu_);
    auto it = stale_.find(oid);
    if (it == stale_.end()) return {};
    copies = std::move(it->second);
    stale_.erase(it);
  }
  for (auto [e, piece] : copies)
    if (unlink(stale_path(oid, e, piece).c_str()) < 0 && errno != ENOENT)
      sd_warn("cannot remove stale %016" PRIx64 ".%u: %s", oid, e, std::strerror(errno));
  return {};
}

Status PlainStore::purge_stale() {
  {
    std::lock_guard<std::mutex> lk(stale_mu_);
    stale_.clear();
  }
  std::string stale = dir_ + "/.stale";
  if (DIR* d = opendir(stale.c_str())) {
    while (dirent* de = readdir(d))
      if (de->d_name[0] != '.') unlinkat(dirfd(d), de->d_name, 0);
    closedir(d);
  }
  return {};
}

Status PlainStore::sync_dirs() const {
  if (nosync_) return {};
  SD_TRY(fsync_dir(dir_ + "/.stale"));
  if (layout_.load() == StoreLayout::Tree) {
    SD_TRY(fsync_dir(dir_ + "/meta"));
    for (unsigned b = 0; b < 256; b++) {
      char bucket[8];
      std::snprintf(bucket, sizeof(bucket), "/%02x", b);
      SD_TRY(fsync_dir(dir_ + bucket));
    }
  }
  return fsync_dir(dir_);
}

}  // namespace sd
