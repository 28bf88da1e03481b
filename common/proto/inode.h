// The inode (VDI) object and VDI attribute object layouts, and the object
// sizes and limits that go with them (docs/PROTOCOL.md §5).
//
// A full inode object is 12,587,576 bytes: a 4,664-byte header, the
// data_vdi_id map (2^20 u32) and the gref array (2^20 × 8 bytes). Clients
// normally touch only the header and the map entries of their range.
#pragma once
#include <cstddef>
#include <cstdint>

namespace sd {

inline constexpr uint32_t kDefaultBlockSizeShift = 22;
inline constexpr uint32_t kMinBlockSizeShift = 20;
inline constexpr uint32_t kMaxBlockSizeShift = 31;
// Whether a block_size_shift read from bytes (an inode, a message) names a
// layout: 0 (the cluster's default) or kMinBlockSizeShift..kMaxBlockSizeShift.
inline constexpr bool valid_block_size_shift(uint32_t shift) {
  return shift == 0 || (shift >= kMinBlockSizeShift && shift <= kMaxBlockSizeShift);
}
inline constexpr uint64_t kDataObjSize = 1ull << 22;
inline constexpr uint64_t kInodeDataIndex = 1ull << 20;  // map slots in a flat inode
inline constexpr uint64_t kMaxDataObjs = 1ull << 32;
inline constexpr uint64_t kOldMaxVdiSize = kDataObjSize * kInodeDataIndex;  // 4 TiB
inline constexpr uint64_t kMaxVdiSize = kDataObjSize * kMaxDataObjs;        // 16 PiB
inline constexpr uint32_t kNrVdis = 1u << 24;
inline constexpr size_t kMaxVdiLen = 256;
inline constexpr size_t kMaxVdiTagLen = 256;
inline constexpr size_t kMaxAttrKeyLen = 256;
inline constexpr size_t kMaxAttrValueLen = 65536;
inline constexpr uint8_t kDefaultCopies = 3;
inline constexpr uint8_t kMaxCopies = 31;
inline constexpr uint16_t kDefaultVnodes = 128;
inline constexpr size_t kInodeHeaderSize = 4664;
inline constexpr size_t kInodeMapSize = 4 * kInodeDataIndex;  // 4 MiB
inline constexpr size_t kInodeGrefOffset = kInodeHeaderSize + kInodeMapSize;
inline constexpr size_t kInodeSize = kInodeGrefOffset + 8 * kInodeDataIndex;
inline constexpr size_t kAttrObjSize = 66320;
inline constexpr size_t kLedgerObjSize = 1u << 22;
inline constexpr size_t kBtreeNodeSize = 1u << 22;
inline constexpr size_t kVdiBitmapBytes = kNrVdis / 8;  // 2 MiB
static_assert(kInodeSize == 12587576);

struct InodeHeader {
  char name[kMaxVdiLen];
  char tag[kMaxVdiTagLen];
  uint64_t create_time;
  uint64_t snap_ctime;  // non-zero: this inode is a snapshot
  uint64_t vm_clock_nsec;
  uint64_t vdi_size;
  uint64_t vm_state_size;
  uint8_t copy_policy;
  uint8_t store_policy;
  uint8_t nr_copies;
  uint8_t block_size_shift;
  uint32_t snap_id;
  uint32_t vdi_id;
  uint32_t parent_vdi_id;
  uint32_t btree_counter;
  uint32_t unused[1023];
};
static_assert(sizeof(InodeHeader) == kInodeHeaderSize);
static_assert(offsetof(InodeHeader, tag) == 256 && offsetof(InodeHeader, create_time) == 512);
static_assert(offsetof(InodeHeader, snap_ctime) == 520);
static_assert(offsetof(InodeHeader, vm_clock_nsec) == 528);
static_assert(offsetof(InodeHeader, vdi_size) == 536);
static_assert(offsetof(InodeHeader, vm_state_size) == 544);
static_assert(offsetof(InodeHeader, copy_policy) == 552);
static_assert(offsetof(InodeHeader, store_policy) == 553);
static_assert(offsetof(InodeHeader, nr_copies) == 554);
static_assert(offsetof(InodeHeader, block_size_shift) == 555);
static_assert(offsetof(InodeHeader, snap_id) == 556 && offsetof(InodeHeader, vdi_id) == 560);
static_assert(offsetof(InodeHeader, parent_vdi_id) == 564);
static_assert(offsetof(InodeHeader, btree_counter) == 568);
// Bytes of the header the VDI lookup reads (up to btree_counter).
inline constexpr size_t kInodeLookupBytes = offsetof(InodeHeader, btree_counter);

struct GenerationRef {
  int32_t generation;
  int32_t count;
};
static_assert(sizeof(GenerationRef) == 8);

inline constexpr size_t inode_map_offset(uint64_t idx) { return kInodeHeaderSize + 4 * idx; }
inline constexpr size_t inode_gref_offset(uint64_t idx) { return kInodeGrefOffset + 8 * idx; }

struct VdiAttr {
  char name[kMaxVdiLen];
  char tag[kMaxVdiTagLen];
  uint64_t ctime;
  uint32_t snap_id;
  uint32_t value_len;
  char key[kMaxAttrKeyLen];
  char value[kMaxAttrValueLen];
};
static_assert(sizeof(VdiAttr) == kAttrObjSize);
static_assert(offsetof(VdiAttr, ctime) == 512 && offsetof(VdiAttr, snap_id) == 520);
static_assert(offsetof(VdiAttr, value_len) == 524 && offsetof(VdiAttr, key) == 528);
static_assert(offsetof(VdiAttr, value) == 784);

inline bool inode_is_snapshot(const InodeHeader& h) { return h.snap_ctime != 0; }
inline bool inode_is_deleted(const InodeHeader& h) { return h.name[0] == '\0'; }

// Timestamps in inodes and the cluster ctime: (seconds << 32) | (usec * 1000).
uint64_t now_timestamp();

}  // namespace sd
