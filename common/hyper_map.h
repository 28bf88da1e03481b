// HyperMap: the block map of a hyper volume (store_policy 1), upstream's
// B-tree over the inode's data_vdi_id area (docs/PROTOCOL.md §4.8, "Hyper
// volumes"): looked up, walked and updated exactly as upstream's dog
// writes it, so either side reads the other's volumes.
//
// Layout. The root sits at the start of the inode's data area: an 8-byte
// header (magic 0x6274, depth, entries), then either leaf entries (depth
// 1: idx u32, vdi_id u32, sorted by idx) or indirect entries (depth 2:
// idx u32, 4 pad bytes, leaf oid u64; idx is the largest block index in
// that leaf, sorted). Leaves are B-tree objects (vid_to_btree_oid(vid, n),
// n from the inode's btree_counter) holding a depth-1 header and entries.
//
// Costs. The root is kept in memory (at most the 4 MiB data area); leaves
// are read whole on first use and kept in a small LRU (`max_leaves`, 4 MiB
// each), so a lookup costs at most one leaf read, and repeated lookups in
// a region none. Updates write only what changed: the header and the
// entries from the first one that moved (appends write one entry), a
// split writes the new leaves whole and the root.
//
// Not thread safe: the caller serialises (Vdi holds its lock around it).
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <climits>
#include <list>
#include <memory>
#include <vector>

#include "result.h"

namespace sd {

// The object I/O a HyperMap needs (a SheepClient in the client library, a
// map of buffers in the unit tests).
class HyperMapIo {
 public:
  virtual ~HyperMapIo() = default;
  virtual Status read(uint64_t oid, void* buf, uint32_t len, uint32_t offset) = 0;
  virtual Status write(uint64_t oid, const void* buf, uint32_t len, uint32_t offset) = 0;
  // Creates (or replaces) the object with [offset, offset+len) from buf,
  // zeros elsewhere.
  virtual Status create(uint64_t oid, const void* buf, uint32_t len, uint32_t offset) = 0;
};

inline constexpr uint16_t kBtreeMagic = 0x6274;
inline constexpr size_t kBtreeHeaderSize = 8;
// Entries a 4 MiB node holds: (4 MiB - 8) / 8 leaf entries, / 16 indirect.
inline constexpr uint32_t kBtreeMaxLeafEntries = 524287;
inline constexpr uint32_t kBtreeMaxIndirectEntries = 262143;

// A B-tree node's 8-byte header (the root's, or a leaf's).
struct BtreeHeader {
  uint16_t magic = 0, depth = 0;
  uint32_t entries = 0;
};
BtreeHeader get_btree_header(const void* p);
void put_btree_header(void* p, uint16_t depth, uint32_t entries);

class HyperMap {
 public:
  struct Limits {  // smaller limits only to exercise splits in tests
    uint32_t leaf_entries = kBtreeMaxLeafEntries;
    uint32_t indirect_entries = kBtreeMaxIndirectEntries;
  };
  HyperMap(HyperMapIo& io, uint32_t vid, size_t max_leaves, Limits limits);
  explicit HyperMap(HyperMapIo& io, uint32_t vid, size_t max_leaves = 4);

  // Reads the root and btree_counter from the inode. An all-zero root (a
  // volume nobody wrote) is an empty depth-1 tree.
  Status load();
  // Writes a fresh empty root (NEW_VDI of a hyper volume does the same).
  Status init_empty();

  // The vid owning block idx, 0 when unallocated.
  Result<uint32_t> lookup(uint32_t idx);
  // lookup() from what is in memory, changing nothing (safe under a shared
  // lock): false when it would have to read a leaf.
  bool peek(uint32_t idx, uint32_t* owner) const;
  // Sets block idx to owner (0 is stored as an entry too, as upstream's
  // dog does for discarded blocks); writes what changed. After a failure
  // the tree is read again before its next use, so it never answers with
  // an entry the objects do not hold.
  Status set(uint32_t idx, uint32_t owner);
  // Every entry in idx order (owner 0 included).
  Status for_each(const std::function<void(uint32_t idx, uint32_t owner)>& fn);
  // The first block at or after `from` that names an object: its index,
  // or kNoBlock when there is none (holes are skipped without reading
  // every index).
  static constexpr uint64_t kNoBlock = UINT64_MAX;
  Result<uint64_t> next_allocated(uint32_t from);

  // The leaf objects a depth-2 root names (none at depth 1).
  std::vector<uint64_t> leaf_oids() const {
    std::vector<uint64_t> out;
    for (const Indirect& e : indirect_) out.push_back(e.oid);
    return out;
  }
  int depth() const { return depth_; }
  size_t root_entries() const { return depth_ == 1 ? leaf_root_.size() : indirect_.size(); }
  uint32_t btree_counter() const { return counter_; }
  size_t cached_leaves() const { return leaves_.size(); }

  struct Entry {
    uint32_t idx;
    uint32_t owner;
  };
  struct Indirect {
    uint32_t idx;  // the largest block index in the leaf
    uint64_t oid;
  };

 private:
  struct Leaf {
    uint64_t oid;
    std::vector<Entry> entries;
  };
  Status load_tree();
  Status insert(uint32_t idx, uint32_t owner);  // set() without the recovery
  Result<Leaf*> leaf(uint64_t oid);
  // The entries [from, to) (to the end by default), then the header.
  Status write_root(size_t from, size_t to = SIZE_MAX);
  Status write_leaf(const Leaf& l, size_t from, bool create, size_t to = SIZE_MAX);
  Status bump_counter(uint32_t n, uint64_t* oid);  // a new leaf oid
  Status split_root();                           // depth 1 full -> depth 2
  Status insert_depth2(uint32_t idx, uint32_t owner);

  HyperMapIo& io_;
  uint32_t vid_;
  size_t max_leaves_;
  Limits limits_;
  int depth_ = 1;
  uint32_t counter_ = 0;
  std::vector<Entry> leaf_root_;    // depth 1
  std::vector<Indirect> indirect_;  // depth 2
  std::list<Leaf> leaves_;          // most recently used first
  // The tree in memory may differ from the objects (a load or an update
  // failed half way): every use reads it again first.
  bool stale_ = false;
};

}  // namespace sd
