// dog vdi read / vdi write: stream a byte range of a VDI to stdout or from
// stdin through sd::Vdi (which does allocation and copy-on-write).
//
// Data moves one chunk at a time: at most 4 MiB and never across an object
// boundary, so a 1 GiB range never sits in memory. A range reaching past
// the end of the VDI is cut at the end; an offset past the end is an error.
// A short stdin is zero-padded to the end of the current chunk, which is
// written, and the write stops there (upstream's behaviour). On a terminal
// both show a progress bar on stderr (progress.h).
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "client/vdi.h"
#include "oid.h"
#include "progress.h"
#include "size.h"
#include "vdi.h"

namespace dog {

namespace {

constexpr uint64_t kMaxChunk = 4ull << 20;

struct Range {
  uint64_t offset = 0;
  uint64_t len = 0;
  bool has_len = false;
};

// "<vdiname> [<offset> [<len>]]"
bool parse_range(const Context& ctx, Range* r) {
  if (ctx.args.size() > 1) {
    if (!sd::parse_size(ctx.args[1].c_str(), &r->offset)) {
      report_invalid_size(ctx.args[1].c_str());
      return false;
    }
  }
  if (ctx.args.size() > 2) {
    if (!sd::parse_size(ctx.args[2].c_str(), &r->len)) {
      report_invalid_size(ctx.args[2].c_str());
      return false;
    }
    r->has_len = true;
  }
  return true;
}

sd::Result<std::unique_ptr<sd::Vdi>> open_vdi(const Context& ctx, const std::string& name,
                                              const std::string& tag, uint32_t snapid) {
  sd::SheepClient* c = client_for(ctx.ep);
  if (!c) return sd::err(sd::Res::Eio);
  return sd::Vdi::open(*c, name, tag, snapid);
}

// The next chunk of [offset, end): up to the object boundary and kMaxChunk.
uint64_t chunk_len(uint64_t offset, uint64_t end, uint64_t object_size) {
  uint64_t to_boundary = object_size - offset % object_size;
  return std::min({end - offset, to_boundary, kMaxChunk});
}

// Reads up to len bytes from stdin; fewer only at EOF. -1 on error.
ssize_t read_stdin(char* buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(STDIN_FILENO, buf + got, len - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) break;
    got += size_t(n);
  }
  return ssize_t(got);
}

}  // namespace

int vdi_read(Context& ctx) {
  const std::string& name = ctx.args[0];
  Range r;
  if (!parse_range(ctx, &r)) return kExitUsage;
  auto vdi = open_vdi(ctx, name, vdi_opts.tag, vdi_opts.snapid);
  if (!vdi.ok()) {
    report_open_failure(name, vdi.code());
    return kExitFailure;
  }
  const uint64_t size = (*vdi)->size();
  if (r.offset > size) {
    err("Read offset is beyond the end of the VDI");
    return kExitFailure;
  }
  if (!r.has_len || r.len > size - r.offset) r.len = size - r.offset;

  const uint64_t osz = (*vdi)->object_size();
  const uint64_t end = r.offset + r.len;
  std::vector<char> buf(std::min(r.len, kMaxChunk));
  ProgressBar bar(r.len, ctx.raw);
  for (uint64_t off = r.offset; off < end;) {
    bar.update(off - r.offset);
    uint64_t n = chunk_len(off, end, osz);
    sd::Status st = (*vdi)->read(buf.data(), n, off);
    if (!st.ok()) {
      uint64_t idx = off / osz;
      auto entry = (*vdi)->map_entry(idx);
      uint32_t owner = entry.ok() ? *entry : 0;
      err("Failed to read object %016llx %s",
          static_cast<unsigned long long>(sd::vid_to_data_oid(owner, idx)),
          sd::strerror(shown_res(st.code())));
      err("Failed to read VDI");
      return kExitFailure;
    }
    if (std::fwrite(buf.data(), 1, n, stdout) != n) {
      err("Failed to write to stdout: %s", std::strerror(errno));
      return kExitSysfail;
    }
    off += n;
  }
  bar.finish();
  return kExitSuccess;
}

int vdi_write(Context& ctx) {
  const std::string& name = ctx.args[0];
  Range r;
  if (!parse_range(ctx, &r)) return kExitUsage;
  auto vdi = open_vdi(ctx, name, "", 0);
  if (!vdi.ok()) {
    report_open_failure(name, vdi.code());
    return kExitFailure;
  }
  const uint64_t size = (*vdi)->size();
  if (r.offset > size) {
    err("Write offset is beyond the end of the VDI");
    return kExitFailure;
  }
  if (!r.has_len || r.len > size - r.offset) r.len = size - r.offset;

  const uint64_t osz = (*vdi)->object_size();
  const uint64_t end = r.offset + r.len;
  std::vector<char> buf(std::min(r.len, kMaxChunk));
  ProgressBar bar(r.len, ctx.raw);
  for (uint64_t off = r.offset; off < end;) {
    bar.update(off - r.offset);
    uint64_t n = chunk_len(off, end, osz);
    ssize_t got = read_stdin(buf.data(), n);
    if (got < 0) {
      err("Failed to read from stdin: %s", std::strerror(errno));
      return kExitSysfail;
    }
    bool last = uint64_t(got) < n;
    if (last) std::memset(buf.data() + got, 0, n - uint64_t(got));
    sd::Status st = (*vdi)->write(buf.data(), n, off);
    if (!st.ok()) {
      err("Failed to write object %016llx: %s",
          static_cast<unsigned long long>(sd::vid_to_data_oid((*vdi)->vid(), off / osz)),
          sd::strerror(shown_res(st.code())));
      err("Failed to write VDI");
      return kExitFailure;
    }
    if (last) {
      // A short stdin: the work ends with this chunk.
      bar.set_total(off + uint64_t(got) - r.offset);
      break;
    }
    off += n;
  }
  bar.finish();
  return kExitSuccess;
}

}  // namespace dog
