// VdiTable: what every sheep knows about every VDI id without reading
// inodes: the in-use and deleted bitmaps (2^24 bits each, served raw by
// READ_VDIS / READ_DEL_VDIS) and each vid's redundancy, object size,
// snapshot flag and parent.
//
// Rebuilt from the local inode objects at start-up and kept in step on
// every node by cluster messages (VDI added, VDI deleted, format).
#pragma once
#include <cstdint>
#include <optional>
#include <shared_mutex>
#include <unordered_map>
#include <vector>

#include "proto/inode.h"

namespace sd {

struct VdiInfo {
  uint8_t copies = 0;
  uint8_t copy_policy = 0;
  uint8_t block_size_shift = 0;
  uint8_t store_policy = 0;  // 1: a hyper volume (its block map is a B-tree)
  bool snapshot = false;  // decided in the cluster's order (VDI added)
  bool deleted = false;
  uint32_t parent = 0;
  // This node (the master) is making it a snapshot: its data takes no more
  // writes here. Local only: every decision made in the cluster's order
  // reads `snapshot`.
  bool frozen = false;
};

// What an inode says its VDI is (start-up, NOTIFY_VDI_ADD).
VdiInfo vdi_info_of(const InodeHeader& h);

class VdiTable {
 public:
  VdiTable();
  void clear();
  void add(uint32_t vid, const VdiInfo& info, bool set_inuse);
  void mark_snapshot(uint32_t vid);
  // ALTER_VDI_COPY: the VDI's objects keep `copies` copies from now on.
  void set_copies(uint32_t vid, uint8_t copies);
  // See VdiInfo::frozen.
  void freeze(uint32_t vid);
  void unfreeze(uint32_t vid);  // the snapshot that froze it failed
  void mark_deleted(uint32_t vid);
  std::optional<VdiInfo> get(uint32_t vid) const;
  bool in_use(uint32_t vid) const;
  bool deleted(uint32_t vid) const;
  // First clear in-use bit in [from, 2^24); 0 when there is none.
  uint32_t next_free(uint32_t from) const;
  // Number of VDIs that are not deleted and name `vid` as their parent.
  int live_children(uint32_t vid) const;
  // The root of vid's family (following parents) and every descendant of
  // that root, root first.
  std::vector<uint32_t> family(uint32_t vid) const;
  // Forgets a vid: its bits are cleared and it may be allocated again
  // (recycled VIDs, format -R).
  void release(uint32_t vid);
  // Raw bitmaps (kVdiBitmapBytes each).
  void copy_inuse(void* out) const;
  void copy_deleted(void* out) const;
  std::vector<std::pair<uint32_t, VdiInfo>> all() const;

 private:
  mutable std::shared_mutex mu_;
  std::vector<uint64_t> inuse_;
  std::vector<uint64_t> deleted_;
  std::unordered_map<uint32_t, VdiInfo> info_;
};

}  // namespace sd
