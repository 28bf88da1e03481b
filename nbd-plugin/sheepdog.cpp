// nbdkit plugin "sheepdog": serves a Sheepdog VDI (or a snapshot of it)
// as an NBD export; without vdi= the export name selects the VDI and
// clients can list the VDIs.
//
// The plugin connects to a sheep once, in .get_ready, and opens the VDI
// there, so that a wrong address or a missing VDI stops nbdkit at start-up
// with a clear message. Every NBD connection then shares that one
// sd::SheepClient (requests from all connections are pipelined on it) and
// one sd::Vdi per VDI (one inode state, so multi-conn is safe). Sheep only
// acknowledges a write once it is durable on every replica, so flush has
// nothing to do and FUA is native.
//
// A writable export holds the VDI's lock (export_lock.h) on a connection of
// its own, which carries its writes through the sheep: a second writer,
// through any sheep, is refused at start-up (or at open, for export
// names), and a writer whose lock was broken gets EROFS. With direct=
// (client/direct_io.h) writes of existing blocks go to their first owner
// with the lock's token, and reads of blocks the sheep holds no copy of
// to an owner; whatever fails there goes through the sheep.
//
// Usage and config keys: see nbd-plugin/README.md and plugin_config.h.
#define NBDKIT_API_VERSION 2
#include <malloc.h>
#include <nbdkit-plugin.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <vector>
#include <string>
#include <vector>

#include <unistd.h>

#include "client/auth_handshake.h"
#include "client/client_pool.h"
#include "client/direct_io.h"
#include "client/requests.h"
#include "client/sheep_client.h"
#include "client/vdi.h"
#include "export_lock.h"
#include "plugin_config.h"
#include "net.h"
#include "proto/inode.h"
#include "proto/results.h"
#include "size.h"

#define THREAD_MODEL NBDKIT_THREAD_MODEL_PARALLEL

namespace {

using plugin_config::cfg;

std::unique_ptr<sd::SheepClient> client;
// Reads spread over connections of their own (connections=), one per
// nbdkit thread, so no reply is handed from thread to thread.
std::unique_ptr<sd::ClientPool> read_pool;
// Writes straight to the owners (direct=), shared by every VDI served.
std::unique_ptr<sd::DirectIo> direct;
std::unique_ptr<sd::LocalReader> local;  // before the VDIs that use it

// One VDI being served, shared by every connection to it: vdi= names the
// one export, or each export name opens one (exports below).
struct Export {
  std::unique_ptr<sd::Vdi> vdi;
  std::unique_ptr<ExportLock> lock;  // while a writable connection is open
  int writers = 0;                   // open writable connections (export names)
};
Export the_export;  // with vdi=

// The handle of every connection.
struct Handle {
  Export* exp;
  bool writer;  // counted in exp->writers
};

// sd::Res → errno for nbdkit (which turns it into an NBD error).
int res_to_errno(sd::Res r) {
  switch (r) {
    case sd::Res::Readonly:
    case sd::Res::VdiLocked:         // another client holds the VDI's lock
    case sd::Res::InodeInvalidated:  // our lock was broken
    case sd::Res::NoVdi:             // the VDI was deleted
      return EROFS;
    case sd::Res::NoSpace: return ENOSPC;
    case sd::Res::NoMem: return ENOMEM;
    case sd::Res::InvalidParms: return EINVAL;
    default: return EIO;
  }
}

int fail(const char* what, uint64_t len, uint64_t offset, sd::Res r) {
  if (r == sd::Res::NetworkError)
    nbdkit_error("%s of %" PRIu64 " bytes at offset %" PRIu64 " failed: %s (lost the connection "
                 "to sheep at %s)",
                 what, len, offset, sd::strerror(r), client->endpoint().str().c_str());
  else
    nbdkit_error("%s of %" PRIu64 " bytes at offset %" PRIu64 " failed: %s", what, len, offset,
                 sd::strerror(r));
  nbdkit_set_error(res_to_errno(r));
  return -1;
}

std::string vdi_desc() {
  std::string s = "VDI '" + cfg.vdi + "'";
  if (!cfg.tag.empty()) s += " tag '" + cfg.tag + "'";
  if (cfg.snapid) s += " snapshot " + std::to_string(cfg.snapid);
  return s;
}

void release_lock(Export& e) {
  if (e.lock) e.lock->release();
}

void sheepdog_unload() {
  release_lock(the_export);
  the_export.vdi.reset();
  the_export.lock.reset();
  if (local)
    nbdkit_debug("local reads: %" PRIu64 ", reads through the sheep instead: %" PRIu64,
                 local->local_reads(), local->fallbacks());
  local.reset();
  if (direct)
    nbdkit_debug("direct requests: %" PRIu64 ", through the sheep instead: %" PRIu64,
                 direct->direct_requests(), direct->fallbacks());
  direct.reset();
  read_pool.reset();
  client.reset();
}
// Connects and opens the VDI once, before any NBD client is accepted.
// Threads may only be started after nbdkit has forked into the background.
int sheepdog_after_fork() {
  if (cfg.socket.empty() || !cfg.local_read) return 0;
  std::string dir = cfg.socket.substr(0, cfg.socket.find_last_of('/') + 1);
  if (dir.empty()) dir = ".";
  local = sd::LocalReader::open(dir);
  if (!local) {
    nbdkit_debug("local reads off: no read lease in %s", dir.c_str());
    return 0;
  }
  nbdkit_debug("local reads on: object files of the sheep in %s", dir.c_str());
  if (the_export.vdi) the_export.vdi->set_local_reader(local.get());
  return 0;
}

sd::Endpoint endpoint() {
  sd::Endpoint ep;
  ep.host = cfg.address;
  ep.port = cfg.port;
  ep.unix_path = cfg.socket;
  return ep;
}

// Direct I/O for the export's VDI (direct=): writes prove the lock the
// export holds at the time (none while it has no writable connection:
// only reads then, and nbdkit refuses writes).
void use_direct_io(Export& e) {
  if (direct) e.vdi->set_direct_io(direct.get(), [&e] { return e.lock ? e.lock->token() : 0; });
}

// The lock of a writable export, on its own connection; false (logged)
// when it cannot be had.
bool lock_export(Export& e, const std::string& name) {
  auto lock = ExportLock::open(endpoint(), name, cfg.shared_lock);
  if (!lock || !lock->acquire()) return false;
  e.vdi->set_write_client(&lock->writer());
  e.vdi->set_shared_writer(cfg.shared_lock);
  e.lock = std::move(lock);
  return true;
}

int sheepdog_get_ready() {
  // Buffers of a megabyte or more (object reads, a hyper volume's B-tree
  // leaves) are mapped and unmapped, never kept in a thread's malloc arena:
  // otherwise glibc's moving threshold lets each of nbdkit's threads keep
  // some 4 MiB blocks it freed, and the resident size grows with threads.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  sd::Endpoint ep = endpoint();
  client = sd::SheepClient::connect(ep);
  if (!client) {
    if (errno == EACCES)
      nbdkit_error("sheepdog: cannot connect to %s: the sheep refused our cluster key, or does "
                   "not hold it (auth-key=)", ep.str().c_str());
    else if (errno == EPROTONOSUPPORT)
      nbdkit_error("sheepdog: cannot connect to %s: the sheep does not use a cluster key (drop "
                   "auth-key=)", ep.str().c_str());
    else
      nbdkit_error("sheepdog: cannot connect to %s: %s", ep.str().c_str(), std::strerror(errno));
    return -1;
  }
  read_pool = std::make_unique<sd::ClientPool>(ep, *client, cfg.connections);
  if (cfg.direct) direct = std::make_unique<sd::DirectIo>(*client);
  if (cfg.vdi.empty()) return 0;  // the export name picks the VDI per client
  auto v = sd::Vdi::open(*client, cfg.vdi, cfg.tag, cfg.snapid);
  if (!v.ok()) {
    sd::Res r = v.code();
    if (r == sd::Res::NoVdi || r == sd::Res::NoTag)
      nbdkit_error("sheepdog: %s not found: %s", vdi_desc().c_str(), sd::strerror(r));
    else
      nbdkit_error("sheepdog: cannot open %s on %s: %s", vdi_desc().c_str(), ep.str().c_str(),
                   sd::strerror(r));
    direct.reset();
    read_pool.reset();
    client.reset();
    return -1;
  }
  auto& vdi = the_export.vdi;
  vdi = std::move(*v);
  vdi->set_read_pool(read_pool.get());
  use_direct_io(the_export);
  nbdkit_debug("%s is vid %" PRIx32 ", %" PRIu64 " bytes, %" PRIu64 "-byte objects%s",
               vdi_desc().c_str(), vdi->vid(), vdi->size(), vdi->object_size(),
               vdi->is_snapshot() || cfg.readonly ? ", read-only" : "");
  if (!vdi->is_snapshot() && !cfg.readonly && !lock_export(the_export, cfg.vdi)) {
    vdi.reset();
    direct.reset();
    read_pool.reset();
    client.reset();
    return -1;
  }
  return 0;
}

// VDIs opened by export name, shared by every connection to the same one.
std::mutex exports_mu;
std::map<std::string, std::unique_ptr<Export>> exports;  // guarded by exports_mu

sd::Vdi* V(void* h) { return static_cast<Handle*>(h)->exp->vdi.get(); }

void* sheepdog_open(int readonly) {
  if (the_export.vdi) return new Handle{&the_export, false};
  std::string name = nbdkit_export_name() ? nbdkit_export_name() : "";
  if (name.empty()) {
    nbdkit_error("sheepdog: no export name: without vdi= the export name selects the VDI");
    return nullptr;
  }
  std::lock_guard<std::mutex> lk(exports_mu);
  auto it = exports.find(name);
  if (it == exports.end()) {
    auto v = sd::Vdi::open(*client, name);
    if (!v.ok()) {
      nbdkit_error("sheepdog: VDI '%s' %s: %s", name.c_str(),
                   v.code() == sd::Res::NoVdi ? "not found" : "cannot be opened",
                   sd::strerror(v.code()));
      return nullptr;
    }
    if (local) (*v)->set_local_reader(local.get());
    (*v)->set_read_pool(read_pool.get());
    auto e = std::make_unique<Export>();
    e->vdi = std::move(*v);
    use_direct_io(*e);
    it = exports.emplace(name, std::move(e)).first;
  }
  Export& e = *it->second;
  // The first writable connection takes the lock; the last one to close
  // releases it. Read-only connections need none.
  bool writer = !readonly && !cfg.readonly && !e.vdi->is_snapshot();
  if (writer && !e.lock && !lock_export(e, name)) return nullptr;
  if (writer) e.writers++;
  return new Handle{&e, writer};
}

void sheepdog_close(void* h) {
  Handle* handle = static_cast<Handle*>(h);
  if (handle->exp != &the_export) {
    std::lock_guard<std::mutex> lk(exports_mu);
    Export& e = *handle->exp;
    if (handle->writer && --e.writers == 0 && e.lock) {
      release_lock(e);
      e.vdi->set_write_client(nullptr);
      e.lock.reset();
    }
  }
  delete handle;
}

// Writes need the lock (taken up again if its connection was lost).
// Exports without one are read-only (snapshots, readonly=true, a read-only
// connection), and nbdkit refuses their writes before they get here.
bool write_allowed(void* h) {
  Export& e = *static_cast<Handle*>(h)->exp;
  if (!e.lock) {
    nbdkit_set_error(EROFS);
    return false;
  }
  if (e.lock->ensure()) return true;
  nbdkit_set_error(EROFS);
  return false;
}

// Runs one write (write, trim or zero) under the lock: when the lock's
// connection was lost under it, once more after the lock is back (a write
// is idempotent); when the sheep refused it for the lock, the lock is gone.
template <typename Fn>
sd::Status locked_write(void* h, Fn fn) {
  Export& e = *static_cast<Handle*>(h)->exp;
  sd::Status st = fn();
  if (st.code() == sd::Res::NetworkError && e.lock->writer().broken() && e.lock->ensure())
    st = fn();
  if (st.code() == sd::Res::VdiLocked) e.lock->lost();
  return st;
}

// Without vdi=, clients may list the VDIs (working ones, not snapshots).
int sheepdog_list_exports(int /*readonly*/, int /*is_tls*/, struct nbdkit_exports* out) {
  if (!cfg.vdi.empty()) return nbdkit_add_export(out, cfg.vdi.c_str(), nullptr);
  auto inuse = sd::read_vdi_bitmap(*client, false);
  auto deleted = sd::read_vdi_bitmap(*client, true);
  if (!inuse.ok() || !deleted.ok()) {
    nbdkit_error("sheepdog: cannot list the VDIs");
    return -1;
  }
  for (uint32_t w = 0; w < inuse->size() / 8; w++) {
    uint64_t in, del;
    std::memcpy(&in, inuse->data() + 8 * w, 8);
    std::memcpy(&del, deleted->data() + 8 * w, 8);
    uint64_t bits = in & ~del;
    while (bits) {
      uint32_t vid = w * 64 + uint32_t(__builtin_ctzll(bits));
      bits &= bits - 1;
      auto h = sd::read_inode_header(*client, vid);
      if (!h.ok() || h->name[0] == 0 || sd::inode_is_snapshot(*h)) continue;
      std::string name(h->name, strnlen(h->name, sd::kMaxVdiLen));
      if (nbdkit_add_export(out, name.c_str(), nullptr) == -1) return -1;
    }
  }
  return 0;
}

int64_t sheepdog_get_size(void* h) { return int64_t(V(h)->size()); }

int sheepdog_can_write(void* h) { return V(h)->is_snapshot() || cfg.readonly ? 0 : 1; }

int sheepdog_can_flush(void*) { return 1; }

// Every write is durable on all replicas when sheep acknowledges it.
int sheepdog_can_fua(void*) { return NBDKIT_FUA_NATIVE; }

// All connections share one client and one inode state.
int sheepdog_can_multi_conn(void*) { return 1; }

int sheepdog_is_rotational(void*) { return 0; }

// A shared writer cannot know which blocks the other allocated.
int sheepdog_can_extents(void*) { return cfg.shared_lock ? 0 : 1; }

int sheepdog_pread(void* h, void* buf, uint32_t count, uint64_t offset, uint32_t /*flags*/) {
  sd::Status st = V(h)->read(buf, count, offset);
  if (!st.ok()) return fail("read", count, offset, st.code());
  return 0;
}

int sheepdog_pwrite(void* h, const void* buf, uint32_t count, uint64_t offset,
                    uint32_t /*flags*/) {
  if (!write_allowed(h)) return -1;
  sd::Status st = locked_write(h, [&] { return V(h)->write(buf, count, offset); });
  if (!st.ok()) return fail("write", count, offset, st.code());
  return 0;
}

int sheepdog_flush(void*, uint32_t /*flags*/) { return 0; }

int sheepdog_can_zero(void*) { return 1; }

// Any 512-byte aligned request works; 4 KiB avoids read-modify-write in
// clients; one request is at most one 4 MiB object's worth.
int sheepdog_block_size(void*, uint32_t* minimum, uint32_t* preferred, uint32_t* maximum) {
  *minimum = 512;
  *preferred = 4096;
  *maximum = 4u << 20;
  return 0;
}
int sheepdog_can_trim(void* h) { return V(h)->is_snapshot() || cfg.readonly ? 0 : 1; }

int sheepdog_can_fast_zero(void*) { return 1; }

// Unallocated blocks already read as zeros and are left alone; allocated
// ones get zeros written (a fast zero refuses those with ENOTSUP).
// Trim unmaps whole objects (freeing them once nothing references them)
// and writes zeros inside partial ones.
int sheepdog_trim(void* h, uint32_t count, uint64_t offset, uint32_t) {
  if (!write_allowed(h)) return -1;
  sd::Status st = locked_write(h, [&] { return V(h)->discard(count, offset); });
  if (!st.ok()) return fail("trim", count, offset, st.code());
  return 0;
}

int sheepdog_zero(void* h, uint32_t count, uint64_t offset, uint32_t flags) {
  static const std::vector<char> zeros(1u << 20);
  if (!write_allowed(h)) return -1;
  const uint64_t osz = V(h)->object_size();
  const uint64_t end = offset + count;
  for (uint64_t pos = offset; pos < end;) {
    uint64_t stop = std::min(end, (pos / osz + 1) * osz);
    auto owner = V(h)->map_entry(pos / osz);
    if (!owner.ok()) return fail("zero", count, offset, owner.code());
    if (*owner && (flags & NBDKIT_FLAG_MAY_TRIM) && pos % osz == 0 && stop - pos == osz) {
      // A whole object may simply be unmapped: it then reads as zeros.
      sd::Status st = locked_write(h, [&] { return V(h)->discard(osz, pos); });
      if (!st.ok()) return fail("zero", uint32_t(osz), pos, st.code());
    } else if (*owner) {
      if (flags & NBDKIT_FLAG_FAST_ZERO) {
        nbdkit_set_error(ENOTSUP);
        return -1;
      }
      for (uint64_t p = pos; p < stop;) {
        uint64_t n = std::min<uint64_t>(stop - p, zeros.size());
        sd::Status st = locked_write(h, [&] { return V(h)->write(zeros.data(), n, p); });
        if (!st.ok()) return fail("zero", n, p, st.code());
        p += n;
      }
    }
    pos = stop;
  }
  return 0;
}

// Unallocated blocks (map entry 0, or no B-tree entry) read as zeros:
// report them as holes so that nbdcopy and friends can skip them. A hole
// runs to the next allocated block, found without visiting each index.
int sheepdog_extents(void* h, uint32_t count, uint64_t offset, uint32_t flags,
                     struct nbdkit_extents* extents) {
  constexpr uint32_t kHole = NBDKIT_EXTENT_HOLE | NBDKIT_EXTENT_ZERO;
  const uint64_t osz = V(h)->object_size();
  const uint64_t end = offset + count;
  uint64_t start = offset;
  while (start < end) {
    uint64_t idx = start / osz;
    auto next = V(h)->next_allocated(idx);
    if (!next.ok()) return fail("extents", count, offset, next.code());
    uint32_t type;
    uint64_t stop;
    if (*next != idx) {
      type = kHole;
      stop = *next == sd::Vdi::kNoBlock ? end : std::min(end, *next * osz);
    } else {
      // A run of allocated blocks.
      type = 0;
      stop = (idx + 1) * osz;
      while (stop < end) {
        auto n = V(h)->next_allocated(stop / osz);
        if (!n.ok()) return fail("extents", count, offset, n.code());
        if (*n != stop / osz) break;
        stop += osz;
      }
    }
    if (stop > end) stop = end;
    if (nbdkit_add_extent(extents, start, stop - start, type) == -1) return -1;
    if (flags & NBDKIT_FLAG_REQ_ONE) break;
    start = stop;
  }
  return 0;
}

struct nbdkit_plugin make_plugin() {
  // Assigned field by field: C++ designated initializers would have to
  // follow the header's declaration order exactly.
  struct nbdkit_plugin p {};
  p.name = "sheepdog";
  p.longname = "nbdkit sheepdog plugin";
  p.version = SD_VERSION;
  p.description = "Serve a Sheepdog VDI over NBD";
  p.unload = sheepdog_unload;
  p.config = plugin_config::config;
  p.config_complete = plugin_config::config_complete;
  p.config_help = sheepdog_config_help;
  p.magic_config_key = "vdi";
  p.get_ready = sheepdog_get_ready;
  p.after_fork = sheepdog_after_fork;
  p.open = sheepdog_open;
  p.close = sheepdog_close;
  p.list_exports = sheepdog_list_exports;
  p.get_size = sheepdog_get_size;
  p.can_write = sheepdog_can_write;
  p.can_flush = sheepdog_can_flush;
  p.can_fua = sheepdog_can_fua;
  p.can_multi_conn = sheepdog_can_multi_conn;
  p.is_rotational = sheepdog_is_rotational;
  p.can_extents = sheepdog_can_extents;
  p.pread = sheepdog_pread;
  p.pwrite = sheepdog_pwrite;
  p.flush = sheepdog_flush;
  p.extents = sheepdog_extents;
  p.can_zero = sheepdog_can_zero;
  p.can_fast_zero = sheepdog_can_fast_zero;
  p.zero = sheepdog_zero;
  p.can_trim = sheepdog_can_trim;
  p.block_size = sheepdog_block_size;
  p.trim = sheepdog_trim;
  p.errno_is_preserved = 0;
  return p;
}

struct nbdkit_plugin plugin = make_plugin();

}  // namespace

NBDKIT_REGISTER_PLUGIN(plugin)
