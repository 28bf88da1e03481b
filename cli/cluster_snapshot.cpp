// dog cluster snapshot save|list|load|show: snapshots of the whole cluster
// (or of some VDIs) into a local directory, upstream's "farm".
//
// save TAG PATH [VDI...] reads every VDI in the in-use bitmap (working
// VDIs, snapshots, clones; deleted ones as their inode only), or the named
// VDIs and their ancestors, and stores their objects by content in PATH
// (cli/farm_store.h owns the layout): the inode, the data objects its map
// names (whoever owns them), vmstate objects, and a hyper volume's B-tree
// leaves. Objects are read by a few threads (eight with -m).
//
// load TAG|IDX PATH [VDI...] formats the cluster with the settings saved in
// the snapshot (copies, copy policy, object size, flags, store), then puts
// every object back under its original oid, so vids, snapshot chains and
// clones come back as they were. The cluster learns each VDI through
// NOTIFY_VDI_ADD, sent twice per VDI: before its objects are written (the
// vid, its copies, copy policy and object size, and its in-use bit; the
// VDI is a writable one then), and after all objects are written, when the
// daemon reads the inode to learn what it is (snapshot, deleted, parent,
// hyper volume).
//
// On a terminal, save and load show a progress bar on stderr through the
// bytes of the objects they copy (progress.h).
//
// list PATH prints the snapshot log; show TAG|IDX PATH [VDI...] names the
// VDIs a snapshot holds, as upstream's sd_info lines (on stderr).
#include <sys/time.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "client/client_map_io.h"
#include "client/requests.h"
#include "client/vdi.h"
#include "dog.h"
#include "farm_store.h"
#include "hyper_map.h"
#include "oid.h"
#include "progress.h"
#include "proto/inode.h"
#include "vdi_inventory.h"

namespace dog {

namespace {

bool g_multithread = false;  // -m

// How a saved object is written back.
struct ObjectSpec {
  uint8_t copies = 0;
  uint8_t copy_policy = 0;
  uint8_t block_size_shift = 0;
};

ObjectSpec spec_of(const sd::InodeHeader& h) {
  return {h.nr_copies, h.copy_policy, h.block_size_shift};
}

std::string name_of(const sd::InodeHeader& h) {
  return std::string(h.name, strnlen(h.name, sizeof(h.name)));
}
std::string tag_of(const sd::InodeHeader& h) {
  return std::string(h.tag, strnlen(h.tag, sizeof(h.tag)));
}

// Runs job(i) for i in [0, n) on `threads` threads; stops handing out work
// at the first failure and returns it.
sd::Status run_parallel(size_t n, unsigned threads, const std::function<sd::Status(size_t)>& job) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  sd::Status first;
  auto worker = [&] {
    for (;;) {
      if (failed.load()) return;
      size_t i = next.fetch_add(1);
      if (i >= n) return;
      sd::Status st = job(i);
      if (!st.ok()) {
        std::lock_guard<std::mutex> lk(mu);
        if (!failed.exchange(true)) first = st;
      }
    }
  };
  threads = unsigned(std::max<size_t>(1, std::min<size_t>(threads, n)));
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; t++) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  return first;
}

// Upstream's rule for "TAG|IDX": a leading number is an index, anything
// else a tag (index 0, which no snapshot has).
uint32_t parse_index(const std::string& text) {
  const char* p = text.c_str();
  char* end = nullptr;
  long v = std::strtol(p, &end, 10);
  return end == p ? 0 : uint32_t(v);
}

// ---- save -------------------------------------------------------------

struct ClusterVdi {
  sd::InodeHeader hdr;
  bool deleted;
};

// The VDIs to save: every vid of the in-use bitmap, or the live VDIs named
// and all their ancestors (whose objects their maps may name).
sd::Result<std::map<uint32_t, ClusterVdi>> collect_vdis(const Context& ctx, sd::SheepClient& c,
                                                        const std::vector<std::string>& names) {
  auto inuse = read_vdi_bitmap(ctx.ep, sd::kOpReadVdis);
  if (!inuse.ok()) return sd::err(inuse.code());
  auto deleted = read_vdi_bitmap(ctx.ep, sd::kOpReadDelVdis);
  if (!deleted.ok()) return sd::err(deleted.code());
  std::map<uint32_t, ClusterVdi> all;
  for (uint32_t vid = 1; vid < sd::kNrVdis; vid++) {
    if (!inuse->bytes[vid >> 3]) {
      vid |= 7;
      continue;
    }
    if (!inuse->test(vid)) continue;
    auto hdr = sd::read_inode_header(c, vid);
    if (!hdr.ok()) {
      err("Failed to read object %016llx %s",
          static_cast<unsigned long long>(sd::vid_to_vdi_oid(vid)), sd::strerror(hdr.code()));
      return sd::err(hdr.code());
    }
    all[vid] = ClusterVdi{*hdr, deleted->test(vid) || sd::inode_is_deleted(*hdr)};
  }
  if (names.empty()) return all;

  std::map<uint32_t, ClusterVdi> chosen;
  for (const auto& [vid, v] : all) {
    if (v.deleted || std::find(names.begin(), names.end(), name_of(v.hdr)) == names.end())
      continue;
    for (uint32_t cur = vid; cur && !chosen.count(cur);) {
      auto it = all.find(cur);
      if (it == all.end()) break;
      chosen[cur] = it->second;
      cur = it->second.hdr.parent_vdi_id;
    }
  }
  return chosen;
}

// Every object of the chosen VDIs, each once, with how it is written back.
sd::Result<std::map<uint64_t, ObjectSpec>> collect_objects(
    sd::SheepClient& c, const std::map<uint32_t, ClusterVdi>& vdis) {
  std::map<uint64_t, ObjectSpec> objects;
  for (const auto& [vid, v] : vdis) {
    const sd::InodeHeader& h = v.hdr;
    objects[sd::vid_to_vdi_oid(vid)] = spec_of(h);
    if (v.deleted) continue;  // only the inode: its objects may be gone

    sd::Status st = for_each_allocated(c, vid, h, [&](uint64_t idx, uint32_t owner) {
      auto it = vdis.find(owner);
      objects[sd::vid_to_data_oid(owner, idx)] = spec_of(it != vdis.end() ? it->second.hdr : h);
    });
    if (!st.ok()) {
      err("Failed to read the block map of VDI %s: %s", name_of(h).c_str(),
          sd::strerror(st.code()));
      return sd::err(st.code());
    }
    const uint64_t osz = vdi_object_size(h);
    for (uint64_t i = 0; i < (h.vm_state_size + osz - 1) / osz; i++)
      objects[sd::vid_to_vmstate_oid(vid, uint32_t(i))] = spec_of(h);
    if (h.store_policy == 1) {
      sd::ClientMapIo io(c, h.nr_copies);
      sd::HyperMap tree(io, vid, 1);
      if (sd::Status ts = tree.load(); !ts.ok()) {
        err("Failed to read the B-tree of VDI %s: %s", name_of(h).c_str(),
            sd::strerror(ts.code()));
        return sd::err(ts.code());
      }
      for (uint64_t oid : tree.leaf_oids()) objects[oid] = spec_of(h);
    }
  }
  return objects;
}

size_t trimmed_size(const std::vector<uint8_t>& buf) {
  size_t n = buf.size();
  while (n && buf[n - 1] == 0) n--;
  return n;
}

// Reads one object and stores it as a blob.
sd::Status save_object(sd::SheepClient& c, FarmStore& farm, uint64_t oid, const ObjectSpec& spec,
                       TrunkEntry* out) {
  const uint64_t size = sd::object_size(oid, spec.block_size_shift);
  std::vector<uint8_t> buf(size);
  sd::Status st = c.read_obj(oid, buf.data(), uint32_t(size), 0);
  if (st.ok()) {
    size_t keep = trimmed_size(buf);
    auto sha = farm.put_blob(buf.data(), keep);
    if (sha.ok()) {
      *out = TrunkEntry{};
      out->oid = oid;
      out->object_size = uint32_t(size);
      out->stored_size = uint32_t(keep);
      out->copies = spec.copies;
      out->copy_policy = spec.copy_policy;
      out->block_size_shift = spec.block_size_shift;
      std::memcpy(out->sha1, sha->data(), sha->size());
      return {};
    }
    st = sd::err(sha.code());
  }
  err("Fail to save object, oid %llx", static_cast<unsigned long long>(oid));
  return st;
}

sd::Status fill_cluster_settings(const Context& ctx, TrunkHeader* h) {
  auto cinfo = std::make_unique<sd::ClusterInfo>();
  std::memset(cinfo.get(), 0, sizeof(sd::ClusterInfo));
  auto rsp = request(ctx.ep, sd::request::cluster_info(), nullptr, cinfo.get());
  if (!rsp.ok()) return sd::err(rsp.code());
  if (sd::Res(rsp->result) != sd::Res::Success) {
    err("%s", sd::strerror(sd::Res(rsp->result)));
    return sd::err(sd::Res(rsp->result));
  }
  h->copies = cinfo->nr_copies;
  h->copy_policy = cinfo->copy_policy;
  h->block_size_shift = cinfo->block_size_shift;
  h->cluster_flags = ctx.cluster_flags ? ctx.cluster_flags : cinfo->flags;
  std::memcpy(h->store, cinfo->default_store, sizeof(h->store) - 1);
  return {};
}

sd::Status do_save(Context& ctx, FarmStore& farm, const std::string& tag,
                   const std::vector<std::string>& names) {
  sd::SheepClient* c = client_for(ctx.ep);
  if (!c) return sd::err(sd::Res::Eio);
  Trunk trunk;
  SD_TRY(fill_cluster_settings(ctx, &trunk.header));

  auto vdis = collect_vdis(ctx, *c, names);
  if (!vdis.ok()) return sd::err(vdis.code());
  if (vdis->empty()) {
    err("Cannot execute. It may be caused by:");
    err(names.empty() ? "1. The cluster is empty." : "1. The specified VDIs are not found.");
    return sd::err(sd::Res::NoVdi);
  }
  auto objects = collect_objects(*c, *vdis);
  if (!objects.ok()) return sd::err(objects.code());

  std::vector<std::pair<uint64_t, ObjectSpec>> list(objects->begin(), objects->end());
  trunk.entries.resize(list.size());
  uint64_t total = 0;
  for (const auto& [oid, spec] : list) total += sd::object_size(oid, spec.block_size_shift);
  ProgressBar bar(total, ctx.raw);
  bar.update(0);
  SD_TRY(run_parallel(list.size(), g_multithread ? 8 : 1, [&](size_t i) {
    sd::Status st = save_object(*c, farm, list[i].first, list[i].second, &trunk.entries[i]);
    if (st.ok()) bar.advance(sd::object_size(list[i].first, list[i].second.block_size_shift));
    return st;
  }));
  bar.finish();
  SD_TRY(farm.sync_blobs());
  auto trunk_sha = farm.put_trunk(trunk);
  if (!trunk_sha.ok()) return sd::err(trunk_sha.code());
  auto rec = farm.append_log(tag, *trunk_sha);
  if (!rec.ok()) return sd::err(rec.code());
  return {};
}

int snapshot_save(Context& ctx) {
  const std::string tag = ctx.args[0];
  {
    const char* p = tag.c_str();
    char* end = nullptr;
    (void)std::strtol(p, &end, 10);
    if (end != p) {
      err("Tag should not start with number.");
      return kExitUsage;
    }
  }
  if (ctx.args.size() < 2) {
    err("Please specify the path to save snapshot.");
    return kExitUsage;
  }
  const std::string path = ctx.args[1];
  std::vector<std::string> names(ctx.args.begin() + 2, ctx.args.end());

  FarmStore farm;
  bool ok = farm.open(path).ok();
  if (ok) {
    auto log = farm.read_log();
    ok = log.ok();
    if (ok && FarmStore::find(*log, 0, tag)) {
      err("Snapshot tag has already been used for another snapshot, please, use another one.");
      ok = false;
    }
  }
  if (ok) ok = do_save(ctx, farm, tag, names).ok();
  if (!ok) {
    err("Fail to save snapshot to path: %s.", path.c_str());
    return kExitSysfail;
  }
  return kExitSuccess;
}

// ---- list -------------------------------------------------------------

int snapshot_list(Context& ctx) {
  FarmStore farm;
  if (farm.open(ctx.args[0]).ok()) {
    auto log = farm.read_log();
    if (log.ok()) {
      std::printf("Index\t\tTag\t\tSnapshot Time\n");
      for (const auto& r : *log) {
        time_t t = time_t(r.time);
        std::printf("%d\t\t%s\t\t%s", int(r.idx), r.tag, std::ctime(&t));
      }
      return kExitSuccess;
    }
  }
  err("Fail to list snapshot.");
  return kExitSysfail;
}

// ---- the saved snapshot, for load and show ----------------------------

struct SavedVdi {
  sd::InodeHeader hdr;
  bool deleted;
};

struct OpenedSnapshot {
  Trunk trunk;
  std::map<uint32_t, SavedVdi> vdis;  // from the trunk's inode objects
};

// Finds TAG|IDX in PATH and reads its trunk and inode headers. Prints
// "Snapshot index or tag does not exist." when there is no such snapshot.
sd::Status open_snapshot(FarmStore& farm, const Context& ctx, OpenedSnapshot* out) {
  const std::string& tag = ctx.args[0];
  SD_TRY(farm.open(ctx.args[1]));
  auto log = farm.read_log();
  if (!log.ok()) return sd::err(log.code());
  const SnapRecord* rec = FarmStore::find(*log, parse_index(tag), tag);
  if (!rec) {
    err("Snapshot index or tag does not exist.");
    return sd::err(sd::Res::NoTag);
  }
  Sha1Digest sha;
  std::memcpy(sha.data(), rec->trunk_sha1, sha.size());
  auto trunk = farm.get_trunk(sha);
  if (!trunk.ok()) return sd::err(trunk.code());
  out->trunk = std::move(*trunk);
  for (const TrunkEntry& e : out->trunk.entries) {
    if (!sd::is_vdi_obj(e.oid)) continue;
    Sha1Digest blob;
    std::memcpy(blob.data(), e.sha1, blob.size());
    auto data = farm.get_blob(blob);
    if (!data.ok()) {
      err("Fail to load vdi object, oid %llx", static_cast<unsigned long long>(e.oid));
      return sd::err(data.code());
    }
    SavedVdi v{};
    std::memcpy(&v.hdr, data->data(), std::min(data->size(), sizeof(v.hdr)));
    v.deleted = sd::inode_is_deleted(v.hdr);
    out->vdis[sd::oid_to_vid(e.oid)] = v;
  }
  return {};
}

// ---- show -------------------------------------------------------------

int snapshot_show(Context& ctx) {
  if (ctx.args.size() < 2) {
    err("Please specify the path to show snapshot.");
    return kExitUsage;
  }
  std::vector<std::string> names(ctx.args.begin() + 2, ctx.args.end());
  FarmStore farm;
  OpenedSnapshot snap;
  if (!open_snapshot(farm, ctx, &snap).ok()) {
    err("Fail to show snapshot");
    return kExitSysfail;
  }
  // As upstream: with no names every inode is listed (deleted ones too),
  // else the live VDIs of those names.
  int seq = 0;
  for (const auto& [vid, v] : snap.vdis) {
    if (!names.empty() &&
        (v.deleted || std::find(names.begin(), names.end(), name_of(v.hdr)) == names.end()))
      continue;
    err("%d. VDI id: %x, name: %s, tag: %s", ++seq, vid, name_of(v.hdr).c_str(),
        tag_of(v.hdr).c_str());
  }
  return kExitSuccess;
}

// ---- load -------------------------------------------------------------

// `dog cluster format`'s prompt for a cluster that holds VDIs.
constexpr const char* kNotEmptyPrompt =
    "    __\n"
    "   ()'`;\n"
    "   /\\|`\n"
    "  /  |   Caution! The cluster is not empty.\n"
    "(/_)_|_  Are you sure you want to continue? [yes/no]: ";

// Formats the cluster as the snapshot's cluster was (upstream's load runs
// cluster format with the saved copies, copy policy and object size).
sd::Status format_cluster(Context& ctx, const TrunkHeader& saved) {
  auto inuse = read_vdi_bitmap(ctx.ep, sd::kOpReadVdis);
  if (!inuse.ok()) return sd::err(inuse.code());
  if (inuse->any()) confirm(kNotEmptyPrompt);
  std::set<uint32_t> zones;
  for (const auto& n : ctx.nodes) zones.insert(n.zone);
  if (saved.copies > zones.size()) {
    char text[256];
    std::snprintf(text, sizeof(text),
                  "Number of copies (%d) is larger than number of zones (%d).\n"
                  "Are you sure you want to continue? [yes/no]: ",
                  saved.copies, int(zones.size()));
    confirm(text);
  }

  char store[sd::kStoreLen] = {};
  std::memcpy(store, saved.store, sizeof(store) - 1);
  if (!store[0]) std::strcpy(store, "plain");
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  sd::request::Format fmt;
  fmt.copies = saved.copy_policy ? 0 : saved.copies;
  fmt.copy_policy = saved.copy_policy;
  fmt.block_size_shift = saved.block_size_shift;
  fmt.ctime = (uint64_t(tv.tv_sec) << 32) | (uint64_t(tv.tv_usec) * 1000);
  // -m turns on -t too, as upstream's option parser does (docs/CLI.md).
  fmt.flags = uint16_t(saved.cluster_flags | (g_multithread ? sd::kClusterStrict : 0));
  if (!saved.cluster_flags) fmt.flags |= sd::kClusterAutoVnodes | sd::kClusterUseLock;

  std::printf("using backend %s store\n", store);
  std::fflush(stdout);
  auto rsp = request(ctx.ep, sd::request::make_fs(fmt, uint32_t(std::strlen(store) + 1)), store,
                     nullptr);
  if (!rsp.ok()) return sd::err(rsp.code());
  if (sd::Res(rsp->result) != sd::Res::Success) {
    err("Format failed: %s", sd::strerror(sd::Res(rsp->result)));
    return sd::err(sd::Res(rsp->result));
  }
  return {};
}

sd::Status notify_vdi_add(sd::SheepClient& c, uint32_t vid, const sd::InodeHeader& h) {
  sd::SdReq req =
      sd::request::notify_vdi_add(vid, h.nr_copies, h.copy_policy, h.block_size_shift, true);
  sd::SdRsp rsp{};
  sd::Status st = c.exec(req, nullptr, nullptr, &rsp);
  if (!st.ok()) {
    err("Fail to notify vdi add event(%x, %d, %d): %s", vid, int(h.nr_copies),
        int(h.block_size_shift), sd::strerror(st.code()));
  }
  return st;
}

sd::Status load_object(sd::SheepClient& c, const FarmStore& farm, const TrunkEntry& e) {
  Sha1Digest sha;
  std::memcpy(sha.data(), e.sha1, sha.size());
  auto data = farm.get_blob(sha);
  sd::Status st;
  // The trunk's sizes must be what the object is (a farm directory is
  // anyone's files: no oversized buffer on its word).
  bool sane = (e.block_size_shift == 0 || (e.block_size_shift >= sd::kMinBlockSizeShift &&
                                            e.block_size_shift <= sd::kMaxBlockSizeShift)) &&
              e.object_size == sd::object_size(e.oid, e.block_size_shift);
  if (!sane || !data.ok() || data->size() != e.stored_size || e.stored_size > e.object_size) {
    st = sd::err(data.ok() ? sd::Res::Eio : data.code());
  } else {
    data->resize(e.object_size, 0);
    st = c.create_and_write_obj(e.oid, data->data(), e.object_size, 0, e.copies);
  }
  if (!st.ok())
    err("Fail to load object, oid %llx: %s", static_cast<unsigned long long>(e.oid),
        sd::strerror(st.code()));
  return st;
}

sd::Status do_load(Context& ctx, const std::vector<std::string>& names) {
  FarmStore farm;
  OpenedSnapshot snap;
  SD_TRY(open_snapshot(farm, ctx, &snap));

  // The VDIs to bring back: all of them, or the live ones named and their
  // ancestors (whose objects their maps name).
  std::set<uint32_t> chosen;
  for (const auto& [vid, v] : snap.vdis) {
    if (names.empty()) {
      chosen.insert(vid);
      continue;
    }
    if (v.deleted || std::find(names.begin(), names.end(), name_of(v.hdr)) == names.end())
      continue;
    for (uint32_t cur = vid; cur && snap.vdis.count(cur) && !chosen.count(cur);
         cur = snap.vdis[cur].hdr.parent_vdi_id)
      chosen.insert(cur);
  }
  if (!names.empty() && chosen.empty()) {
    err("Objects of specified VDIs are not found in local cluster snapshot storage.");
    return sd::err(sd::Res::NoVdi);
  }
  std::vector<const TrunkEntry*> to_write;
  for (const TrunkEntry& e : snap.trunk.entries)
    if (chosen.count(sd::oid_to_vid(e.oid))) to_write.push_back(&e);

  SD_TRY(format_cluster(ctx, snap.trunk.header));
  sd::SheepClient* c = client_for(ctx.ep);
  if (!c) return sd::err(sd::Res::Eio);
  for (uint32_t vid : chosen) SD_TRY(notify_vdi_add(*c, vid, snap.vdis[vid].hdr));
  uint64_t total = 0;
  for (const TrunkEntry* e : to_write) total += e->object_size;
  ProgressBar bar(total, ctx.raw);
  bar.update(0);
  SD_TRY(run_parallel(to_write.size(), 8, [&](size_t i) {
    sd::Status st = load_object(*c, farm, *to_write[i]);
    if (st.ok()) bar.advance(to_write[i]->object_size);
    return st;
  }));
  bar.finish();
  // Now that the inodes are back, the daemon reads what each VDI is.
  for (uint32_t vid : chosen) SD_TRY(notify_vdi_add(*c, vid, snap.vdis[vid].hdr));
  return {};
}

int snapshot_load(Context& ctx) {
  if (ctx.args.size() < 2) {
    err("Please specify the path to save snapshot.");
    return kExitUsage;
  }
  std::vector<std::string> names(ctx.args.begin() + 2, ctx.args.end());
  if (!do_load(ctx, names).ok()) {
    err("Fail to load snapshot");
    return kExitSysfail;
  }
  return kExitSuccess;
}

}  // namespace

void cluster_snapshot_use_threads() { g_multithread = true; }

const Subcommand kClusterSnapshotSubs[] = {
    {"save", nullptr, nullptr, "save snapshot to localpath", kNeedArg | kNeedNodelist,
     snapshot_save},
    {"list", nullptr, nullptr, "list snapshot of localpath", kNeedArg, snapshot_list},
    {"load", nullptr, nullptr, "load snapshot from localpath", kNeedArg | kNeedNodelist,
     snapshot_load},
    {"show", nullptr, nullptr, "show vdi list from snapshot", kNeedArg | kNeedNodelist,
     snapshot_show},
};
const size_t kNrClusterSnapshotSubs = sizeof(kClusterSnapshotSubs) / sizeof(kClusterSnapshotSubs[0]);

}  // namespace dog
