// dog vdi backup / vdi restore: incremental backups between two snapshots.
//
// The stream (native little-endian) is a header {u32 version = 1, u32 magic
// = 0x11921192}, then one record per object that differs between the -F
// snapshot and the -s snapshot: {u32 idx, u32 offset, u32 length,
// u32 reserved} followed by `length` bytes, where the all-zero 512-byte
// sectors at the start and the end of the object are left out; then a
// record with idx 0xFFFFFFFF ends the stream.
//
// restore replaces the working VDI by a new one on top of the -s snapshot
// (as rollback does), writes the records into it, and snapshots it, so a
// new snapshot appears branching from the chosen one; as upstream, the new
// working VDI (a new vid) starts again from the old working VDI's parent.
//
// On a terminal both show a progress bar on stderr (progress.h): backup
// through the objects it reads, restore through the stream it consumes
// (its size known when stdin is a file, else settled at the end).
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "client/vdi.h"
#include "oid.h"
#include "progress.h"
#include "proto/inode.h"
#include "vdi.h"
#include "vdi_inventory.h"

namespace dog {

namespace {

constexpr uint32_t kBackupVersion = 1;
constexpr uint32_t kBackupMagic = 0x11921192;
constexpr uint32_t kEndIdx = 0xFFFFFFFF;
constexpr uint32_t kSector = 512;

struct BackupHeader {
  uint32_t version;
  uint32_t magic;
};
struct BackupRecord {
  uint32_t idx;
  uint32_t offset;
  uint32_t length;
  uint32_t reserved;
};

bool write_out(const void* buf, size_t len) { return std::fwrite(buf, 1, len, stdout) == len; }

// Reads exactly len bytes of stdin, adding what it read to *consumed.
bool read_in(void* buf, size_t len, uint64_t* consumed) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(STDIN_FILENO, static_cast<char*>(buf) + got, len - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    got += size_t(n);
    *consumed += uint64_t(n);
  }
  return true;
}

// What is left of stdin when it is a file; kUnknownTotal for a pipe.
uint64_t stdin_bytes_left() {
  struct stat st;
  if (fstat(STDIN_FILENO, &st) != 0 || !S_ISREG(st.st_mode)) return ProgressBar::kUnknownTotal;
  off_t at = lseek(STDIN_FILENO, 0, SEEK_CUR);
  if (at < 0 || at > st.st_size) return ProgressBar::kUnknownTotal;
  return uint64_t(st.st_size - at);
}

bool zero_sector(const char* p) {
  for (uint32_t i = 0; i < kSector; i++)
    if (p[i]) return false;
  return true;
}

}  // namespace

int vdi_backup(Context& ctx) {
  const std::string& name = ctx.args[0];
  if (!vdi_opts.has_from || (!vdi_opts.snapid && vdi_opts.tag.empty())) {
    err("Please specify snapshots with '-F' and '-s' options");
    return kExitUsage;
  }
  sd::SheepClient* c = client_for(ctx.ep);
  if (!c) return kExitSysfail;
  auto from_vid = open_vdi_id(*c, name, vdi_opts.from_tag, vdi_opts.from_snapid);
  if (!from_vid.ok()) return kExitFailure;
  auto to_vid = open_vdi_id(*c, name, vdi_opts.tag, vdi_opts.snapid);
  if (!to_vid.ok()) return kExitFailure;
  auto from = read_full_inode(*c, *from_vid);
  auto to = from.ok() ? read_full_inode(*c, *to_vid) : sd::err(from.code());
  if (!to.ok()) {
    err("Failed to read an inode of %s: %s", name.c_str(), sd::strerror(shown_res(to.code())));
    return kExitFailure;
  }
  const sd::InodeHeader& th = (*to)->hdr;
  const uint64_t osz = vdi_object_size(th);
  // The blocks `to` names that `from` does not name the same way (flat
  // maps or hyper volumes' B-trees alike).
  std::unordered_map<uint64_t, uint32_t> before;
  std::vector<std::pair<uint64_t, uint32_t>> changed;
  sd::Status walk = for_each_allocated(*c, *from_vid, (*from)->hdr,
                                       [&](uint64_t idx, uint32_t owner) { before[idx] = owner; });
  if (walk.ok())
    walk = for_each_allocated(*c, *to_vid, th, [&](uint64_t idx, uint32_t owner) {
      auto it = before.find(idx);
      if (it == before.end() || it->second != owner) changed.push_back({idx, owner});
    });
  if (!walk.ok()) {
    err("Failed to read an inode of %s: %s", name.c_str(), sd::strerror(shown_res(walk.code())));
    return kExitFailure;
  }

  BackupHeader hdr{kBackupVersion, kBackupMagic};
  if (!write_out(&hdr, sizeof(hdr))) return kExitSysfail;
  std::vector<char> buf(osz);
  ProgressBar bar(uint64_t(changed.size()) * osz, ctx.raw);
  bar.update(0);
  for (const auto& [idx, owner] : changed) {
    uint64_t oid = sd::vid_to_data_oid(owner, idx);
    sd::Status st = c->read_obj(oid, buf.data(), uint32_t(osz), 0);
    if (!st.ok()) {
      err("Failed to read object %016llx %s", static_cast<unsigned long long>(oid),
          sd::strerror(shown_res(st.code())));
      return kExitFailure;
    }
    uint64_t start = 0, end = osz;
    while (start < end && zero_sector(buf.data() + start)) start += kSector;
    while (end > start && zero_sector(buf.data() + end - kSector)) end -= kSector;
    BackupRecord rec{uint32_t(idx), uint32_t(start), uint32_t(end - start), 0};
    if (!write_out(&rec, sizeof(rec)) || !write_out(buf.data() + start, end - start))
      return kExitSysfail;
    bar.advance(osz);
  }
  BackupRecord last{kEndIdx, 0, 0, 0};
  if (!write_out(&last, sizeof(last))) return kExitSysfail;
  bar.finish();
  return kExitSuccess;
}

int vdi_restore(Context& ctx) {
  const std::string& name = ctx.args[0];
  if (!vdi_opts.snapid && vdi_opts.tag.empty()) {
    err("We can restore a backup file only to snapshots");
    err("Please specify the '-s' option");
    return kExitUsage;
  }
  if (isatty(STDIN_FILENO)) {
    err("stdin must be pipe");
    return kExitFailure;
  }
  sd::SheepClient* c = client_for(ctx.ep);
  if (!c) return kExitSysfail;
  auto snap_vid = sd::lookup_vdi(*c, name, vdi_opts.tag, vdi_opts.snapid);
  if (!snap_vid.ok()) {
    report_open_failure(name, snap_vid.code());
    err("Snapshot ID %d or tag %s doesn't exist", int(vdi_opts.snapid), vdi_opts.tag.c_str());
    return kExitFailure;
  }
  auto snap = sd::read_inode_header(*c, *snap_vid);
  if (!snap.ok()) {
    err("Failed to read an inode of %s: %s", name.c_str(), sd::strerror(shown_res(snap.code())));
    return kExitFailure;
  }
  uint64_t consumed = 0;
  ProgressBar bar(stdin_bytes_left(), ctx.raw);
  BackupHeader hdr{};
  if (!read_in(&hdr, sizeof(hdr), &consumed) || hdr.version != kBackupVersion ||
      hdr.magic != kBackupMagic) {
    err("The backup file is corrupted");
    return kExitFailure;
  }

  // The current state goes away, as with rollback; the working VDI made at
  // the end starts again from its parent.
  auto cur = sd::lookup_vdi(*c, name);
  uint32_t cur_parent = 0;
  if (cur.ok()) {
    auto h = sd::read_inode_header(*c, *cur);
    if (!h.ok() || !delete_vdi(*c, name, "", 0, *cur, *h)) {
      err("Failed to delete the current state");
      return kExitFailure;
    }
    cur_parent = h->parent_vdi_id;
  }
  uint32_t vid = 0;
  sd::Status st = new_vdi(*c, name, *snap, *snap_vid, 0, &vid);
  if (!st.ok()) {
    err("Failed to create VDI %s: %s", name.c_str(), sd::strerror(shown_res(st.code())));
    return kExitFailure;
  }
  auto vdi = sd::Vdi::open(*c, name);
  if (!vdi.ok()) {
    report_open_failure(name, vdi.code());
    return kExitFailure;
  }
  const uint64_t osz = (*vdi)->object_size();
  std::vector<char> buf(osz);
  for (;;) {
    BackupRecord rec{};
    bar.update(consumed);
    if (!read_in(&rec, sizeof(rec), &consumed)) {
      err("The backup file is corrupted");
      return kExitFailure;
    }
    if (rec.idx == kEndIdx) break;
    if (uint64_t(rec.offset) + rec.length > osz || !read_in(buf.data(), rec.length, &consumed)) {
      err("The backup file is corrupted");
      return kExitFailure;
    }
    if (!rec.length) continue;
    st = (*vdi)->write(buf.data(), rec.length, uint64_t(rec.idx) * osz + rec.offset);
    if (!st.ok()) {
      err("Failed to write object %016llx: %s",
          static_cast<unsigned long long>(sd::vid_to_data_oid(vid, rec.idx)),
          sd::strerror(shown_res(st.code())));
      return kExitFailure;
    }
  }
  bar.set_total(consumed);
  bar.finish();
  // The restored VDI becomes a snapshot; as upstream, the new working VDI
  // is based on the old working VDI's parent, not on the restored state.
  uint32_t base = cur_parent ? cur_parent : vid;
  auto h = sd::read_inode_header(*c, base);
  uint32_t new_vid = 0;
  st = h.ok() ? new_vdi(*c, name, *h, base, 1, &new_vid) : sd::Status(sd::err(h.code()));
  if (!st.ok()) {
    err("Failed to create snapshot for %s: %s", name.c_str(), sd::strerror(shown_res(st.code())));
    return kExitFailure;
  }
  return kExitSuccess;
}

}  // namespace dog
