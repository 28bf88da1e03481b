// Block checksums of object files: checked reads, writes that keep the
// checksums in step, verification, sealing and block repair for the
// scrubber (docs/PROTOCOL.md §9.7).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "base/file_util.h"
#include "base/log.h"
#include "base/rate_limit.h"
#include "store/plain_store.h"

namespace sd {

namespace {

// Mismatch messages: one per block found, at most a few per second.
RateLimit mismatch_log(20);

// A scratch buffer per thread for the whole blocks around a read.
std::vector<char>& scratch(size_t len) {
  thread_local std::vector<char> buf;
  if (buf.size() < len) buf.resize(len);
  return buf;
}

}  // namespace

int64_t PlainStore::now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void PlainStore::probe_xattrs() {
  std::string probe = dir_ + "/.xattr-probe";
  int fd = open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool ok = fd >= 0 && fsetxattr(fd, BlockSums::kXattr, "", 0, 0) == 0;
  int e = errno;
  if (fd >= 0) close(fd);
  unlink(probe.c_str());
  sums_on_ = ok;
  if (!ok)
    sd_warn("%s keeps no user xattrs (%s): objects there get no block checksums",
            dir_.c_str(), std::strerror(e));
}

std::optional<BlockSums> PlainStore::load_sums(int fd, uint64_t oid) const {
  uint8_t raw[BlockSums::kMaxSize];
  ssize_t n = fgetxattr(fd, BlockSums::kXattr, raw, sizeof(raw));
  if (n < 0) return std::nullopt;  // none (ENODATA), or too large to be ours
  auto sums = BlockSums::decode(raw, size_t(n));
  if (!sums && mismatch_log.allow())
    sd_err("%016" PRIx64 ": its block checksums are garbled; served unchecked", oid);
  return sums;
}

Status PlainStore::save_sums(int fd, const BlockSums& sums, uint64_t oid) const {
  std::vector<uint8_t> raw = sums.encode();
  if (fsetxattr(fd, BlockSums::kXattr, raw.data(), raw.size(), 0) == 0) return {};
  int e = errno;
  sd_err("%016" PRIx64 ": cannot save its block checksums: %s", oid, std::strerror(e));
  fremovexattr(fd, BlockSums::kXattr);  // unchecked beats failing every read
  return err(res_from_errno(e));
}

void PlainStore::report_corruption(uint64_t oid, uint64_t block, const char* what) const {
  uint64_t skipped = 0;
  if (mismatch_log.allow(&skipped))
    sd_err("%016" PRIx64 ": block %" PRIu64 " does not match its checksum (%s, %s)%s", oid,
           block, what, dir_.c_str(), skipped ? " (more not logged)" : "");
  if (corruption_hook_) corruption_hook_(oid);
}

Status PlainStore::read_checked(uint64_t oid, int fd, const BlockSums& sums, void* buf,
                                uint32_t len, uint64_t offset, const char* what) const {
  BlockSums::Range r = sums.cover(offset, len);
  char* target = static_cast<char*>(buf);
  bool direct = r.offset == offset && r.len == len;
  if (!direct) target = scratch(r.len).data();
  if (int e = pread_padded(fd, target, r.len, r.offset)) {
    sd_err("read %016" PRIx64 " failed: %s", oid, std::strerror(e));
    return e == EIO ? io_error(e, "read", oid) : err(Res::Eio);
  }
  int64_t bad = sums.first_bad(target, r.len, r.offset);
  if (bad >= 0) {
    report_corruption(oid, uint64_t(bad), what);
    return err(Res::Eio);
  }
  if (!direct) {
    // Only what the sums cover comes from the checked blocks; bytes past
    // them (none for files this store made: sums cover the whole file) are
    // read as they are.
    const uint64_t covered_end = r.offset + r.len;
    const uint64_t copy = covered_end > offset ? std::min<uint64_t>(len, covered_end - offset) : 0;
    if (copy) std::memcpy(buf, target + (offset - r.offset), copy);
    if (offset + len > covered_end) {
      uint64_t from = std::max(offset, covered_end);
      if (int e = pread_padded(fd, static_cast<char*>(buf) + (from - offset),
                               offset + len - from, from))
        return err(res_from_errno(e));
    }
  }
  return {};
}

Status PlainStore::write_checked(uint64_t oid, int fd, BlockSums& sums, const void* buf,
                                 uint32_t len, uint64_t offset) {
  const uint64_t bs = sums.block_size();
  const auto* src = static_cast<const char*>(buf);
  BlockSums::Range r = sums.cover(offset, len);
  const BlockSums old = sums;
  if (!r.len) return pwrite_full(fd, buf, len, offset);  // past the sums (not ours)
  // Pending sums left by a sheep killed in a write: those of the blocks
  // written now are replaced; the others stay until their blocks are.
  sums.clear_pending(uint32_t(r.offset / bs), uint32_t((r.offset + r.len) / bs - 1));
  std::vector<char> block;
  for (uint64_t start = r.offset; start < r.offset + r.len; start += bs) {
    uint32_t blk = uint32_t(start / bs);
    if (start >= offset && start + bs <= offset + len) {
      sums.set(blk, BlockSums::crc32c(src + (start - offset), bs));
      continue;
    }
    // A block written in part: its other bytes come from the file, and are
    // checked first. If they do not match, the block keeps its old
    // checksum, so that it stays found (and repaired) rather than having
    // the bad bytes sealed in.
    block.resize(bs);
    if (int e = pread_padded(fd, block.data(), bs, start)) {
      sd_err("read %016" PRIx64 " failed: %s", oid, std::strerror(e));
      return e == EIO ? io_error(e, "read", oid) : err(Res::Eio);
    }
    if (!old.matches(blk, BlockSums::crc32c(block.data(), bs))) {
      report_corruption(oid, blk, "write");
      continue;
    }
    uint64_t from = std::max(start, offset), to = std::min(start + bs, offset + len);
    std::memcpy(block.data() + (from - start), src + (from - offset), to - from);
    sums.set(blk, BlockSums::crc32c(block.data(), bs));
  }
  // The new sums go in as pending ones first: a sheep killed after the
  // bytes and before the final sums leaves blocks that match either.
  // (Writes of more than kMaxPending blocks, 1.5 MiB, go without.)
  if (old.pending() + r.len / bs <= BlockSums::kMaxPending) {
    BlockSums pending = old;
    for (uint64_t start = r.offset; start < r.offset + r.len; start += bs) {
      uint32_t blk = uint32_t(start / bs);
      if (sums.crc(blk) != old.crc(blk)) pending.add_pending(blk, sums.crc(blk));
    }
    SD_TRY(save_sums(fd, pending, oid));
  }
  SD_TRY(pwrite_full(fd, buf, len, offset));
  written_ms_[lock_slot(oid)] = now_ms();
  return save_sums(fd, sums, oid);
}

Status PlainStore::verify(uint64_t oid, bool* sealed) const {
  if (sealed) *sealed = false;
  auto fd = object_fd(oid);
  if (!fd.ok()) return err(fd.code());
  std::shared_lock<std::shared_mutex> lk(sum_lock(oid));
  auto sums = load_sums((*fd)->fd, oid);
  if (!sums) return {};
  if (sealed) *sealed = true;
  // A block at a time: the scrubber keeps its memory small.
  std::unique_ptr<char[]> block(new char[sums->block_size()]);
  for (uint32_t b = 0; b < sums->blocks(); b++) {
    uint64_t off = uint64_t(b) << sums->shift();
    SD_TRY(read_checked(oid, (*fd)->fd, *sums, block.get(), sums->block_size(), off, "scrub"));
  }
  return {};
}

Status PlainStore::seal(uint64_t oid) {
  if (!sums_on_) return {};
  uint64_t replaced = replaced_[lock_slot(oid)].load();
  auto fd = object_fd(oid);
  if (!fd.ok()) return err(fd.code());
  std::unique_lock<std::shared_mutex> lk(sum_lock(oid));
  if (replaced_[lock_slot(oid)].load() != replaced) return {};  // a new file: its own sums
  // An attribute that is there but garbled is damage too: it stays, for
  // the log and the next look, rather than being replaced by sums of
  // whatever the bytes are now.
  if (fgetxattr((*fd)->fd, BlockSums::kXattr, nullptr, 0) >= 0 || errno != ENODATA) return {};
  struct stat st;
  if (fstat((*fd)->fd, &st) < 0) return err(res_from_errno(errno));
  if (st.st_size <= 0 || uint64_t(st.st_size) > (uint64_t(BlockSums::kMaxBlocks) << BlockSums::kMaxShift))
    return {};  // nothing to cover, or more than sums can
  BlockSums sums = BlockSums::zeros(uint64_t(st.st_size));
  std::unique_ptr<char[]> block(new char[sums.block_size()]);
  for (uint32_t b = 0; b < sums.blocks(); b++) {
    uint64_t off = uint64_t(b) << sums.shift();
    if (int e = pread_padded((*fd)->fd, block.get(), sums.block_size(), off))
      return err(res_from_errno(e));
    sums.set(b, BlockSums::crc32c(block.get(), sums.block_size()));
  }
  SD_TRY(save_sums((*fd)->fd, sums, oid));
  if (!nosync_ && fsync((*fd)->fd) < 0) return err(res_from_errno(errno));
  return {};
}

Result<PlainStore::Repair> PlainStore::repair_blocks(uint64_t oid, const void* good, uint64_t size,
                                                     int64_t read_at_ms) {
  uint64_t replaced = replaced_[lock_slot(oid)].load();
  auto fd = object_fd(oid);
  if (!fd.ok()) return err(fd.code());
  std::unique_lock<std::shared_mutex> lk(sum_lock(oid));
  // A write after the good copy was read may be in it or not: ours could
  // be newer in places. Asked again later, the two agree. (Likewise when
  // the file was replaced meanwhile.)
  if (written_ms_[lock_slot(oid)].load() >= read_at_ms ||
      replaced_[lock_slot(oid)].load() != replaced)
    return err(Res::Again);
  auto sums = load_sums((*fd)->fd, oid);
  if (!sums) return err(Res::NoSupport);
  Repair out;
  const uint64_t bs = sums->block_size();
  const auto* src = static_cast<const char*>(good);
  std::unique_ptr<char[]> block(new char[bs]);
  for (uint32_t b = 0; b < sums->blocks(); b++) {
    uint64_t off = uint64_t(b) * bs;
    if (off >= size) break;
    uint64_t n = std::min(bs, size - off);
    if (int e = pread_padded((*fd)->fd, block.get(), bs, off)) return err(res_from_errno(e));
    uint32_t crc = BlockSums::crc32c(block.get(), bs);
    if (sums->matches(b, crc)) {
      sums->set(b, crc);  // a pending sum becomes the block's own
      if (std::memcmp(block.get(), src + off, n) != 0) out.differing++;
      continue;
    }
    std::memcpy(block.get(), src + off, n);
    SD_TRY(pwrite_full((*fd)->fd, block.get(), n, off));
    sums->set(b, BlockSums::crc32c(block.get(), bs));
    out.repaired++;
  }
  if (!out.repaired) return out;
  sums->clear_pending();  // every block's sum is its bytes' now
  SD_TRY(save_sums((*fd)->fd, *sums, oid));
  if (!nosync_ && fsync((*fd)->fd) < 0) return err(res_from_errno(errno));
  return out;
}

}  // namespace sd
