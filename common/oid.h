// Object ids: the 64-bit oid layout and the object kinds it encodes
// (docs/PROTOCOL.md §5.1), plus per-kind object sizes (§5.2).
#pragma once
#include <cstdint>

#include "proto/inode.h"

namespace sd {

inline constexpr uint64_t kVdiBit = 1ull << 63;
inline constexpr uint64_t kVmstateBit = 1ull << 62;
inline constexpr uint64_t kVdiAttrBit = 1ull << 61;
inline constexpr uint64_t kVdiBtreeBit = 1ull << 60;
inline constexpr uint64_t kLedgerBit = 1ull << 59;
inline constexpr uint64_t kVidMask = 0x00FFFFFF00000000ull;
inline constexpr int kVidShift = 32;

inline constexpr uint64_t vid_to_vdi_oid(uint32_t vid) { return kVdiBit | (uint64_t(vid) << kVidShift); }
inline constexpr uint64_t vid_to_data_oid(uint32_t vid, uint64_t idx) {
  return (uint64_t(vid) << kVidShift) | (idx & 0xFFFFFFFFull);
}
inline constexpr uint64_t vid_to_attr_oid(uint32_t vid, uint32_t attr_id) {
  return (uint64_t(vid) << kVidShift) | kVdiAttrBit | attr_id;
}
inline constexpr uint64_t vid_to_vmstate_oid(uint32_t vid, uint32_t idx) {
  return kVmstateBit | (uint64_t(vid) << kVidShift) | idx;
}
inline constexpr uint64_t vid_to_btree_oid(uint32_t vid, uint32_t n) {
  return (uint64_t(vid) << kVidShift) | kVdiBtreeBit | n;
}
inline constexpr uint64_t data_oid_to_ledger_oid(uint64_t oid) { return kLedgerBit | oid; }

inline constexpr uint32_t oid_to_vid(uint64_t oid) { return uint32_t((oid & kVidMask) >> kVidShift); }
inline constexpr uint32_t data_oid_to_idx(uint64_t oid) { return uint32_t(oid & 0xFFFFFFFFull); }

inline constexpr bool is_vdi_obj(uint64_t oid) { return oid & kVdiBit; }
inline constexpr bool is_vmstate_obj(uint64_t oid) { return oid & kVmstateBit; }
inline constexpr bool is_vdi_attr_obj(uint64_t oid) { return oid & kVdiAttrBit; }
inline constexpr bool is_vdi_btree_obj(uint64_t oid) { return oid & kVdiBtreeBit; }
inline constexpr bool is_ledger_obj(uint64_t oid) { return oid & kLedgerBit; }
inline constexpr bool is_data_obj(uint64_t oid) {
  return !(oid & (kVdiBit | kVmstateBit | kVdiAttrBit | kVdiBtreeBit | kLedgerBit));
}

// Size of the object an oid names; data and vmstate objects use the VDI's
// block_size_shift.
inline constexpr uint64_t object_size(uint64_t oid, uint8_t block_size_shift) {
  if (is_vdi_obj(oid)) return kInodeSize;
  if (is_vdi_attr_obj(oid)) return kAttrObjSize;
  if (is_vdi_btree_obj(oid)) return kBtreeNodeSize;
  if (is_ledger_obj(oid)) return kLedgerObjSize;
  // (A shift that names no layout, from damaged bytes, is not believed.)
  return 1ull << (block_size_shift && valid_block_size_shift(block_size_shift)
                      ? block_size_shift
                      : kDefaultBlockSizeShift);
}

}  // namespace sd
