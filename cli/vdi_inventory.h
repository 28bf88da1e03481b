// VDI inventory: the client-side walk over every VDI in the cluster that
// vdi list, node info (and later tree, graph, check, snapshot lookups) share.
//
// The in-use and deleted bitmaps come from READ_VDIS / READ_DEL_VDIS (each
// exactly 2 MiB, 2^24 bits, LSB first). A VDI is live when its bit is set in
// the first, clear in the second, and its inode has a non-empty name. The
// allocation map of an inode is either the flat data_vdi_id array or, for a
// hyper volume (store_policy 1), the B-tree rooted in that area.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "client/sheep_client.h"
#include "dog.h"
#include "proto/inode.h"
#include "result.h"

namespace dog {

class VdiBitmap {
 public:
  std::vector<uint8_t> bytes;  // kVdiBitmapBytes
  bool test(uint32_t vid) const { return (bytes[vid >> 3] >> (vid & 7)) & 1; }
  bool any() const;
};

// READ_VDIS (sd::kOpReadVdis) or READ_DEL_VDIS (sd::kOpReadDelVdis). A
// server error is printed (its sd_strerror text); a transport error was
// already reported by the connection layer.
sd::Result<VdiBitmap> read_vdi_bitmap(const sd::Endpoint& ep, uint8_t opcode);

// An inode header as dog reads it for listing: the header plus the first
// 8 bytes of the data area (the B-tree root header of a hyper volume).
struct InodeHead {
  sd::InodeHeader hdr;
  uint32_t area[2];
};
static_assert(sizeof(InodeHead) == sd::kInodeHeaderSize + 8);

// Calls fn(vid, head) for every live VDI in vid order. Inodes that cannot
// be read are reported ("Failed to read object %016x %s" / "Failed to read
// inode header") and skipped.
sd::Status for_each_vdi(const sd::Endpoint& ep,
                        const std::function<void(uint32_t vid, const InodeHead& head)>& fn);

// Calls fn(idx, owner_vid) for every allocated block index of the VDI
// whose inode is vid, in index order.
sd::Status for_each_allocated(sd::SheepClient& c, uint32_t vid, const sd::InodeHeader& hdr,
                              const std::function<void(uint64_t idx, uint32_t owner)>& fn);

// Number of data objects covering the VDI (ceil(vdi_size / object size)).
uint64_t vdi_object_count(const sd::InodeHeader& hdr);
uint64_t vdi_object_size(const sd::InodeHeader& hdr);

}  // namespace dog
