// The sheep's side of hyper volumes (store_policy 1; docs/PROTOCOL.md
// §5.4): what NEW_VDI and DEL_VDI do with a B-tree block map. Clients
// allocate and update the tree themselves (common/hyper_map.h); the sheep
// only starts a tree, copies one for a snapshot or clone (duplicating the
// leaves under the new vid, as upstream's sheep does), and frees the
// objects of a deleted volume.
//
// Folder vdi/ may use base/, peers/, group/ and gateway/.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "result.h"

namespace sd {

class Gateway;

class HyperTree {
 public:
  explicit HyperTree(Gateway& gateway) : gateway_(gateway) {}

  // The 8-byte header of an empty depth-1 root.
  static void empty_root(char out[8]);

  // Fills `root` (the start of the new inode's data area, 4 MiB) with a
  // copy of base_vid's tree for new_vid: a depth-1 root as it is; a
  // depth-2 root with every leaf duplicated as new_vid's B-tree objects
  // 0..n-1 (written here, with `copies`). Returns the bytes of root used;
  // *counter is new_vid's btree_counter.
  Result<uint32_t> copy_for(uint32_t base_vid, uint32_t new_vid, uint8_t copies, char* root,
                            uint32_t* counter);

  // Frees a deleted hyper volume's objects: every data object it owns
  // that none of `readers` (its live descendants: (vid, copies)) names.
  // Once nothing is kept for a reader, its B-tree goes too (leaves, then
  // the root is emptied); otherwise the tree stays, so that the objects
  // kept can be freed when the last reader goes. Returns true when the
  // tree is gone. Failures are logged and leave objects behind (a leak,
  // never a loss).
  bool free_objects(uint32_t vid, uint8_t copies,
                    const std::vector<std::pair<uint32_t, uint8_t>>& readers);

 private:
  Gateway& gateway_;
};

}  // namespace sd
