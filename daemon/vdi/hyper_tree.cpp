// NEW_VDI's and DEL_VDI's part of hyper volumes (see hyper_tree.h).
#include "vdi/hyper_tree.h"

#include <cinttypes>
#include <cstring>
#include <vector>

#include "base/log.h"
#include "gateway/gateway.h"
#include "hyper_map.h"
#include "oid.h"
#include "proto/inode.h"

namespace sd {

namespace {

constexpr uint32_t kRootOffset = uint32_t(kInodeHeaderSize);

// HyperMap's object I/O through the gateway, with the volume's copies.
class GatewayMapIo : public HyperMapIo {
 public:
  GatewayMapIo(Gateway& g, uint8_t copies) : g_(g), copies_(copies) {}
  Status read(uint64_t oid, void* buf, uint32_t len, uint32_t offset) override {
    return g_.read(oid, buf, len, offset, copies_);
  }
  Status write(uint64_t oid, const void* buf, uint32_t len, uint32_t offset) override {
    return g_.write(oid, buf, len, offset, copies_);
  }
  Status create(uint64_t oid, const void* buf, uint32_t len, uint32_t offset) override {
    return g_.create_and_write(oid, buf, len, offset, copies_);
  }

 private:
  Gateway& g_;
  uint8_t copies_;
};

}  // namespace

void HyperTree::empty_root(char out[8]) { put_btree_header(out, 1, 0); }

Result<uint32_t> HyperTree::copy_for(uint32_t base_vid, uint32_t new_vid, uint8_t copies,
                                     char* root, uint32_t* counter) {
  const uint64_t base_inode = vid_to_vdi_oid(base_vid);
  *counter = 0;
  SD_TRY(gateway_.read(base_inode, root, kBtreeHeaderSize, kRootOffset));
  uint32_t first;
  std::memcpy(&first, root, 4);
  if (first == 0) {  // the base never had a tree: the copy starts empty
    empty_root(root);
    return uint32_t(kBtreeHeaderSize);
  }
  BtreeHeader h = get_btree_header(root);
  if (h.magic != kBtreeMagic || (h.depth != 1 && h.depth != 2) ||
      h.entries > (h.depth == 1 ? kBtreeMaxLeafEntries : kBtreeMaxIndirectEntries)) {
    sd_err("vid %" PRIx32 " has a malformed B-tree root", base_vid);
    return err(Res::Eio);
  }
  const uint32_t esize = h.depth == 1 ? 8 : 16;
  const uint32_t body = h.entries * esize;
  if (body) SD_TRY(gateway_.read(base_inode, root + kBtreeHeaderSize, body,
                                 kRootOffset + uint32_t(kBtreeHeaderSize)));
  if (h.depth == 1) return uint32_t(kBtreeHeaderSize + body);
  // Depth 2: each leaf is copied whole under the new vid, so later
  // updates of either volume never touch the other's leaves.
  std::vector<char> leaf(kBtreeNodeSize);
  for (uint32_t i = 0; i < h.entries; i++) {
    char* entry = root + kBtreeHeaderSize + i * 16;
    uint64_t oid;
    std::memcpy(&oid, entry + 8, 8);
    if (!is_vdi_btree_obj(oid)) return err(Res::Eio);
    SD_TRY(gateway_.read(oid, leaf.data(), kBtreeHeaderSize, 0));
    BtreeHeader lh = get_btree_header(leaf.data());
    if (lh.magic != kBtreeMagic || lh.depth != 1 || lh.entries > kBtreeMaxLeafEntries) {
      sd_err("B-tree node %016" PRIx64 " is malformed", oid);
      return err(Res::Eio);
    }
    const uint32_t used = uint32_t(kBtreeHeaderSize) + lh.entries * 8;
    if (lh.entries)
      SD_TRY(gateway_.read(oid, leaf.data() + kBtreeHeaderSize, lh.entries * 8,
                           uint32_t(kBtreeHeaderSize)));
    const uint64_t copy = vid_to_btree_oid(new_vid, i);
    SD_TRY(gateway_.create_and_write(copy, leaf.data(), used, 0, copies));
    std::memcpy(entry + 8, &copy, 8);
  }
  *counter = h.entries;
  return uint32_t(kBtreeHeaderSize + body);
}

bool HyperTree::free_objects(uint32_t vid, uint8_t copies,
                               const std::vector<std::pair<uint32_t, uint8_t>>& readers) {
  GatewayMapIo io(gateway_, copies);
  HyperMap map(io, vid, 1);
  if (Status st = map.load(); !st.ok()) {
    sd_err("cannot read the B-tree of vid %" PRIx32 ": %s", vid, strerror(st.code()));
    return false;
  }
  // Candidates are checked in batches against one descendant's tree at a
  // time, so memory stays bounded (a batch, this tree's root and leaf, one
  // descendant's root and leaf) however many descendants there are.
  constexpr size_t kBatch = 65536;
  std::vector<uint32_t> batch;
  size_t freed = 0, kept = 0, failed = 0;
  bool readers_ok = true;
  auto settle = [&]() {
    std::vector<bool> named(batch.size(), false);
    for (const auto& [v, c] : readers) {
      if (!readers_ok) break;
      GatewayMapIo rio(gateway_, c);
      HyperMap reader(rio, v, 1);
      if (Status st = reader.load(); !st.ok()) {
        sd_err("cannot read the B-tree of vid %" PRIx32 ": %s; nothing more of %" PRIx32
               " freed", v, strerror(st.code()), vid);
        readers_ok = false;
        break;
      }
      for (size_t i = 0; i < batch.size(); i++) {
        if (named[i]) continue;
        auto owner = reader.lookup(batch[i]);
        named[i] = !owner.ok() || *owner == vid;  // unreadable: kept
      }
    }
    for (size_t i = 0; i < batch.size(); i++) {
      if (!readers_ok || named[i]) {
        kept++;
        continue;
      }
      const uint64_t oid = vid_to_data_oid(vid, batch[i]);
      Status st = gateway_.remove(oid, copies);
      if (!st.ok() && st.code() != Res::NoObj) {
        sd_err("failed to free %016" PRIx64 ": %s", oid, strerror(st.code()));
        failed++;
      } else {
        freed++;
      }
    }
    batch.clear();
  };
  Status walk = map.for_each([&](uint32_t idx, uint32_t owner) {
    if (owner != vid) return;  // an ancestor's block: not ours to free
    batch.push_back(idx);
    if (batch.size() == kBatch) settle();
  });
  if (walk.ok() && !batch.empty()) settle();
  if (!walk.ok()) {
    // Leaves not walked keep their objects (and themselves).
    sd_err("walking the B-tree of vid %" PRIx32 " failed: %s", vid, strerror(walk.code()));
    return false;
  }
  sd_info("freed %zu data objects of hyper volume %" PRIx32 " (%zu still used by others)", freed,
          vid, kept);
  if (kept || failed) return false;
  for (uint32_t n = 0; n < map.btree_counter(); n++) {
    const uint64_t oid = vid_to_btree_oid(vid, n);
    Status st = gateway_.remove(oid, copies);
    if (!st.ok() && st.code() != Res::NoObj)
      sd_err("failed to free B-tree node %016" PRIx64 ": %s", oid, strerror(st.code()));
  }
  const char empty[kBtreeHeaderSize] = {};
  if (Status st = gateway_.write(vid_to_vdi_oid(vid), empty, sizeof(empty), kRootOffset, copies);
      !st.ok())
    sd_err("cannot empty the B-tree root of vid %" PRIx32 ": %s", vid, strerror(st.code()));
  return true;
}

}  // namespace sd
