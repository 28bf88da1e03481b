// VDI bitmaps and per-vid state.
#include "group/vdi_table.h"

#include <cstring>
#include <mutex>
#include <unordered_set>

#include "proto/inode.h"

namespace sd {

namespace {
inline bool test_bit(const std::vector<uint64_t>& bm, uint32_t n) { return bm[n / 64] >> (n % 64) & 1; }
inline void set_bit(std::vector<uint64_t>& bm, uint32_t n) { bm[n / 64] |= 1ull << (n % 64); }
}  // namespace

VdiTable::VdiTable() : inuse_(kNrVdis / 64), deleted_(kNrVdis / 64) {}

void VdiTable::clear() {
  std::unique_lock lk(mu_);
  std::fill(inuse_.begin(), inuse_.end(), 0);
  std::fill(deleted_.begin(), deleted_.end(), 0);
  info_.clear();
}

VdiInfo vdi_info_of(const InodeHeader& h) {
  VdiInfo info;
  info.copies = h.nr_copies;
  info.copy_policy = h.copy_policy;
  // A damaged inode's shift is not believed (objects of 2^236 bytes): its
  // VDI takes the cluster's default.
  info.block_size_shift = valid_block_size_shift(h.block_size_shift) ? h.block_size_shift : 0;
  info.store_policy = h.store_policy == 1 ? 1 : 0;
  info.snapshot = inode_is_snapshot(h);
  info.deleted = inode_is_deleted(h);
  info.parent = h.parent_vdi_id < kNrVdis ? h.parent_vdi_id : 0;
  return info;
}

void VdiTable::add(uint32_t vid, const VdiInfo& info, bool set_inuse) {
  if (vid >= kNrVdis) return;
  std::unique_lock lk(mu_);
  info_[vid] = info;
  if (set_inuse) set_bit(inuse_, vid);
  if (info.deleted) set_bit(deleted_, vid);
}

void VdiTable::mark_snapshot(uint32_t vid) {
  std::unique_lock lk(mu_);
  auto it = info_.find(vid);
  if (it != info_.end()) it->second.snapshot = true;
}

void VdiTable::set_copies(uint32_t vid, uint8_t copies) {
  std::unique_lock lk(mu_);
  auto it = info_.find(vid);
  if (it != info_.end()) it->second.copies = copies;
}

void VdiTable::freeze(uint32_t vid) {
  std::unique_lock lk(mu_);
  auto it = info_.find(vid);
  if (it != info_.end()) it->second.frozen = true;
}

void VdiTable::unfreeze(uint32_t vid) {
  std::unique_lock lk(mu_);
  auto it = info_.find(vid);
  if (it != info_.end()) it->second.frozen = false;
}

void VdiTable::mark_deleted(uint32_t vid) {
  if (vid >= kNrVdis) return;
  std::unique_lock lk(mu_);
  set_bit(deleted_, vid);
  auto it = info_.find(vid);
  if (it != info_.end()) it->second.deleted = true;
}

std::optional<VdiInfo> VdiTable::get(uint32_t vid) const {
  std::shared_lock lk(mu_);
  auto it = info_.find(vid);
  if (it == info_.end()) return std::nullopt;
  return it->second;
}

bool VdiTable::in_use(uint32_t vid) const {
  std::shared_lock lk(mu_);
  return vid < kNrVdis && test_bit(inuse_, vid);
}

bool VdiTable::deleted(uint32_t vid) const {
  std::shared_lock lk(mu_);
  return vid < kNrVdis && test_bit(deleted_, vid);
}

uint32_t VdiTable::next_free(uint32_t from) const {
  std::shared_lock lk(mu_);
  for (uint32_t n = from; n < kNrVdis;) {
    uint64_t word = inuse_[n / 64] >> (n % 64);
    if (~word == 0 && n % 64 == 0) {  // whole word in use
      n += 64;
      continue;
    }
    if (!(word & 1)) return n;
    n++;
  }
  return 0;
}

int VdiTable::live_children(uint32_t vid) const {
  std::shared_lock lk(mu_);
  int n = 0;
  for (const auto& [v, info] : info_)
    if (info.parent == vid && !info.deleted) n++;
  return n;
}

std::vector<uint32_t> VdiTable::family(uint32_t vid) const {
  std::shared_lock lk(mu_);
  uint32_t root = vid;
  for (int guard = 0; guard < 1 << 20; guard++) {
    auto it = info_.find(root);
    if (it == info_.end() || !it->second.parent || it->second.parent == root) break;
    root = it->second.parent;
  }
  // Each VDI once, even if parents loop (inodes read at start-up are
  // whatever the disks hold).
  std::vector<uint32_t> out{root};
  std::unordered_set<uint32_t> seen{root};
  for (size_t i = 0; i < out.size(); i++)
    for (const auto& [v, info] : info_)
      if (info.parent == out[i] && seen.insert(v).second) out.push_back(v);
  return out;
}

void VdiTable::release(uint32_t vid) {
  if (vid >= kNrVdis) return;
  std::unique_lock lk(mu_);
  inuse_[vid / 64] &= ~(1ull << (vid % 64));
  deleted_[vid / 64] &= ~(1ull << (vid % 64));
  info_.erase(vid);
}

void VdiTable::copy_inuse(void* out) const {
  std::shared_lock lk(mu_);
  std::memcpy(out, inuse_.data(), kVdiBitmapBytes);
}

void VdiTable::copy_deleted(void* out) const {
  std::shared_lock lk(mu_);
  std::memcpy(out, deleted_.data(), kVdiBitmapBytes);
}

std::vector<std::pair<uint32_t, VdiInfo>> VdiTable::all() const {
  std::shared_lock lk(mu_);
  return {info_.begin(), info_.end()};
}

}  // namespace sd
