// ObjectStore's disk set: plugging and unplugging disks, dropping failed
// ones, the record of the disks in use (META/obj/.md_disks), and the
// rebalancer that moves every object to its own disk after a change.
#include <sys/stat.h>

#include <algorithm>
#include <cinttypes>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>

#include "base/file_util.h"
#include "base/log.h"
#include "store/object_store.h"

namespace sd {

std::vector<std::string> ObjectStore::split_paths(const std::string& paths) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= paths.size()) {
    size_t comma = paths.find(',', pos);
    if (comma == std::string::npos) comma = paths.size();
    std::string p = paths.substr(pos, comma - pos);
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    if (!p.empty()) out.push_back(p);
    pos = comma + 1;
  }
  return out;
}

void ObjectStore::save_disk_list() const {
  std::string text;
  {
    auto lk = read_lock();
    text = "vdisk " + std::to_string(vdisk_size_) + "\n";
    for (auto& d : disks_) text += (d->draining ? "draining " : "disk ") + d->path + "\n";
  }
  if (!write_file_atomic(meta_dir_ + "/obj/.md_disks", text.data(), text.size()).ok())
    sd_err("cannot record the disks in use in %s/obj/.md_disks", meta_dir_.c_str());
}

std::vector<ObjectStore::DiskInfo> ObjectStore::disk_info() const {
  auto lk = read_lock();
  std::vector<DiskInfo> out;
  for (auto& d : disks_) {
    if (d->draining) continue;
    DiskInfo i;
    i.path = d->path;
    i.free = d->store->fs_free();
    i.used = d->store->used_bytes();
    out.push_back(std::move(i));
  }
  return out;
}

std::vector<ObjectStore::DiskUsage> ObjectStore::usage() const {
  std::vector<std::pair<DiskPtr, uint64_t>> disks;  // held: a disk dropped meanwhile stays valid
  {
    auto lk = read_lock();
    for (auto& d : disks_)
      if (!d->draining) disks.emplace_back(d, d->capacity);
  }
  std::vector<DiskUsage> out;
  for (auto& [d, capacity] : disks) {
    PlainStore::Usage u = d->store->usage();
    out.push_back({d->path, capacity, u.objects, u.bytes, d->store->fs_free()});
  }
  return out;
}

std::vector<ObjectStore::FailedDisk> ObjectStore::failed_disks() const {
  auto lk = read_lock();
  return failed_disks_;
}

Res ObjectStore::plug(const std::string& paths) {
  std::lock_guard<std::mutex> one_change(change_mu_);
  std::vector<DiskPtr> added;
  bool undrained = false;
  for (const std::string& p : split_paths(paths)) {
    // A disk still draining, named again: it stays, nothing is purged.
    {
      auto lk = write_lock();
      auto it = std::find_if(disks_.begin(), disks_.end(),
                             [&](const DiskPtr& x) { return x->path == p && x->draining; });
      if (it != disks_.end()) {
        sd_info("disk %s is in use again", p.c_str());
        (*it)->draining = false;
        undrained = true;
        continue;
      }
    }
    std::vector<DiskId> others = disk_ids();
    for (auto& d : added) others.push_back(d->id);
    if (others.size() >= kMaxDisks) {
      sd_err("cannot plug %s: a node has at most %zu disks", p.c_str(), kMaxDisks);
      continue;
    }
    // Plugged disks are purged (docs/CLI.md, node md plug).
    if (DiskPtr d = open_disk(p, true, others, std::max<size_t>(64, fd_budget(4096) / kMaxDisks)))
      added.push_back(std::move(d));
  }
  if (added.empty() && !undrained) return Res::InvalidParms;
  {
    auto lk = write_lock();
    for (auto& d : added) {
      sd_info("disk %s plugged, %" PRIu64 " bytes", d->path.c_str(), d->capacity);
      disks_.push_back(d);
    }
    rebuild_ring();
    generation_++;
    settled_ = false;
  }
  save_disk_list();
  if (listener_ && !added.empty()) listener_->on_disk_plugged();
  start_rebalance();
  return Res::Success;
}

Res ObjectStore::unplug(const std::string& paths) {
  std::lock_guard<std::mutex> one_change(change_mu_);
  size_t n = 0;
  {
    auto lk = write_lock();
    size_t in_use = 0;
    for (auto& d : disks_) in_use += !d->draining;
    for (const std::string& p : split_paths(paths)) {
      auto it = std::find_if(disks_.begin(), disks_.end(),
                             [&](const DiskPtr& x) { return x->path == p && !x->draining; });
      if (it == disks_.end()) {
        sd_warn("disk %s is not in use", p.c_str());
        continue;
      }
      sd_info("disk %s unplugged: its objects move to the other disks", p.c_str());
      (*it)->draining = true;
      n++;
    }
    if (!n) return Res::InvalidParms;
    rebuild_ring();
    generation_++;
    settled_ = false;
    // As upstream: with no disk left the node goes down.
    if (in_use == n) all_failed_ = true;
  }
  if (all_failed_.load()) {
    sd_warn("no disks plugged, going down");
    if (listener_) listener_->on_all_disks_failed("no disks plugged");
    return Res::Success;
  }
  save_disk_list();
  start_rebalance();
  return Res::Success;
}

void ObjectStore::drop_failed_disks() {
  {
    auto lk = read_lock();
    bool any = false;
    for (auto& d : disks_) any |= d->store->failed();
    if (!any) return;
  }
  std::string why;
  bool dropped = false;
  {
    auto lk = write_lock();
    for (auto it = disks_.begin(); it != disks_.end();) {
      if (!(*it)->store->failed()) {
        ++it;
        continue;
      }
      sd_err("disk %s removed from the store: its objects will be recovered from other nodes",
             (*it)->path.c_str());
      {
        std::lock_guard<std::mutex> fl(failure_mu_);
        why = "disk " + (*it)->path + " failed: " + (*it)->failure;
        failed_disks_.push_back({(*it)->path, (*it)->failure});
      }
      it = disks_.erase(it);
      dropped = true;
    }
    if (!dropped) return;
    while (failed_disks_.size() > kMaxDisks) failed_disks_.erase(failed_disks_.begin());
    rebuild_ring();
    generation_++;
    settled_ = false;
    if (ring_.empty()) all_failed_ = true;  // (what drains has nowhere to go)
  }
  if (all_failed_.load()) {
    sd_err("There isn't any available disk!");
    if (listener_) listener_->on_all_disks_failed(why);
    return;
  }
  save_disk_list();
  start_rebalance();
  if (listener_) listener_->on_objects_lost();
}

void ObjectStore::start_rebalance() {
  std::lock_guard<std::mutex> lk(rebalance_mu_);
  rebalance_wanted_ = true;
  rebalance_cv_.notify_all();
}

void ObjectStore::rebalance_loop() {
  log::set_thread_name("md");
  std::unique_lock<std::mutex> lk(rebalance_mu_);
  for (;;) {
    rebalance_cv_.wait(lk, [&] { return stopping_ || rebalance_wanted_; });
    if (stopping_) return;
    rebalance_wanted_ = false;
    lk.unlock();
    bool done = rebalance_pass();
    drop_failed_disks();
    lk.lock();
    if (!done && !rebalance_wanted_) {
      // Something could not move (a full disk?): try again in a while.
      rebalance_cv_.wait_for(lk, std::chrono::seconds(1), [&] { return stopping_; });
      rebalance_wanted_ = true;
    }
  }
}

bool ObjectStore::rebalance_pass() {
  uint64_t gen;
  std::vector<DiskPtr> disks;
  {
    auto lk = read_lock();
    gen = generation_;
    disks = disks_;
  }
  auto stopping = [&] {
    std::lock_guard<std::mutex> lk(rebalance_mu_);
    return stopping_;
  };
  size_t moved = 0, left = 0;
  std::vector<std::vector<uint64_t>> lists;
  uint64_t total = 0;
  for (auto& d : disks) {
    lists.push_back(d->store->list());
    total += lists.back().size();
  }
  moves_done_ = 0;
  moves_total_ = total;
  for (size_t di = 0; di < disks.size(); di++) {
    auto& d = disks[di];
    for (uint64_t oid : lists[di]) {
      if (++moves_done_ % 4096 == 0 && stopping()) return false;
      auto lk = read_lock();
      if (generation_ != gen || ring_.empty()) return false;
      Disk& home = home_of(oid);
      if (&home == d.get()) continue;
      std::lock_guard<std::mutex> g(oid_lock(oid));
      if (!d->store->exists(oid)) continue;  // moved or removed meanwhile
      // The copy on the object's own disk is the newer one: every write
      // since the change went there.
      Status st = home.store->exists(oid) ? d->store->remove(oid)
                                          : d->store->move_object_to(oid, *home.store);
      if (st.ok() || st.code() == Res::NoObj) {
        moved++;
      } else {
        left++;
      }
      if (moved % 1024 == 0 && stopping()) return false;
    }
    if (!d->draining) continue;
    for (const StaleCopy& c : d->store->stale_list()) {
      auto lk = read_lock();
      if (generation_ != gen || ring_.empty()) return false;
      std::lock_guard<std::mutex> g(oid_lock(c.oid));
      if (!d->store->move_stale_to(c, *home_of(c.oid).store).ok()) left++;
    }
  }
  if (moved) sd_info("%zu objects moved to their own disks", moved);
  if (left) {
    sd_warn("%zu objects could not be moved to their own disks yet", left);
    return false;
  }
  bool changed = false;
  {
    auto lk = write_lock();
    if (generation_ != gen) return false;
    for (auto it = disks_.begin(); it != disks_.end();) {
      if ((*it)->draining && (*it)->store->list().empty() && (*it)->store->stale_list().empty()) {
        sd_info("disk %s is empty and no longer used", (*it)->path.c_str());
        it = disks_.erase(it);
        changed = true;
      } else {
        ++it;
      }
    }
    if (changed) generation_++;
    settled_ = true;
  }
  if (changed) save_disk_list();
  return true;
}

}  // namespace sd
