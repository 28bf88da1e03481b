// Bitmaps, inode headers and allocation maps read the way upstream dog
// reads them (docs/PROTOCOL.md §11.2; §5.4 for hyper volumes).
#include "vdi_inventory.h"

#include <algorithm>
#include <cstring>

#include "client/requests.h"
#include "oid.h"

namespace dog {

namespace {

constexpr uint16_t kBtreeMagic = 0x6274;

struct BtreeHeader {
  uint16_t magic;
  uint16_t depth;
  uint32_t entries;
};
static_assert(sizeof(BtreeHeader) == 8);

struct BtreeLeafEntry {
  uint32_t idx;
  uint32_t vdi_id;
};
static_assert(sizeof(BtreeLeafEntry) == 8);

struct BtreeIndirectEntry {
  uint32_t idx;
  uint32_t pad;
  uint64_t oid;
};
static_assert(sizeof(BtreeIndirectEntry) == 16);

constexpr uint32_t kMaxLeafEntries = (sd::kBtreeNodeSize - sizeof(BtreeHeader)) / 8;
constexpr uint32_t kMaxIndirectEntries = (sd::kBtreeNodeSize - sizeof(BtreeHeader)) / 16;

sd::Status walk_leaf_entries(const std::vector<BtreeLeafEntry>& v,
                             const std::function<void(uint64_t, uint32_t)>& fn) {
  for (const auto& e : v)
    if (e.vdi_id) fn(e.idx, e.vdi_id);
  return {};
}

sd::Status walk_btree(sd::SheepClient& c, uint32_t vid,
                      const std::function<void(uint64_t, uint32_t)>& fn) {
  const uint64_t inode_oid = sd::vid_to_vdi_oid(vid);
  const uint32_t area = uint32_t(sd::kInodeHeaderSize);
  BtreeHeader root{};
  SD_TRY(c.read_obj(inode_oid, &root, sizeof(root), area));
  if (root.magic != kBtreeMagic || root.entries == 0) return {};  // not initialised
  if (root.depth == 1) {
    std::vector<BtreeLeafEntry> v(std::min(root.entries, kMaxLeafEntries));
    SD_TRY(c.read_obj(inode_oid, v.data(), uint32_t(v.size() * sizeof(v[0])),
                      area + uint32_t(sizeof(root))));
    return walk_leaf_entries(v, fn);
  }
  if (root.depth != 2) return sd::err(sd::Res::Eio);
  std::vector<BtreeIndirectEntry> ind(std::min(root.entries, kMaxIndirectEntries));
  SD_TRY(c.read_obj(inode_oid, ind.data(), uint32_t(ind.size() * sizeof(ind[0])),
                    area + uint32_t(sizeof(root))));
  for (const auto& e : ind) {
    BtreeHeader leaf{};
    SD_TRY(c.read_obj(e.oid, &leaf, sizeof(leaf), 0));
    if (leaf.magic != kBtreeMagic || leaf.entries == 0) continue;
    std::vector<BtreeLeafEntry> v(std::min(leaf.entries, kMaxLeafEntries));
    SD_TRY(c.read_obj(e.oid, v.data(), uint32_t(v.size() * sizeof(v[0])), sizeof(leaf)));
    SD_TRY(walk_leaf_entries(v, fn));
  }
  return {};
}

}  // namespace

bool VdiBitmap::any() const {
  for (uint8_t b : bytes)
    if (b) return true;
  return false;
}

sd::Result<VdiBitmap> read_vdi_bitmap(const sd::Endpoint& ep, uint8_t opcode) {
  VdiBitmap bm;
  bm.bytes.assign(sd::kVdiBitmapBytes, 0);
  sd::SdReq req = sd::request::vdi_bitmap(opcode == sd::kOpReadDelVdis);
  auto rsp = request(ep, req, nullptr, bm.bytes.data());
  if (!rsp.ok()) return sd::err(rsp.code());
  sd::Res res = sd::Res(rsp->result);
  if (res != sd::Res::Success) {
    err("%s", sd::strerror(res));
    return sd::err(res);
  }
  return bm;
}

uint64_t vdi_object_size(const sd::InodeHeader& hdr) {
  return 1ull << (hdr.block_size_shift ? hdr.block_size_shift : sd::kDefaultBlockSizeShift);
}

uint64_t vdi_object_count(const sd::InodeHeader& hdr) {
  const uint64_t osz = vdi_object_size(hdr);
  return (hdr.vdi_size + osz - 1) / osz;
}

sd::Status for_each_vdi(const sd::Endpoint& ep,
                        const std::function<void(uint32_t vid, const InodeHead& head)>& fn) {
  auto inuse = read_vdi_bitmap(ep, sd::kOpReadVdis);
  if (!inuse.ok()) return sd::err(inuse.code());
  auto deleted = read_vdi_bitmap(ep, sd::kOpReadDelVdis);
  if (!deleted.ok()) return sd::err(deleted.code());
  sd::SheepClient* c = client_for(ep);
  if (!c) return sd::err(sd::Res::Eio);

  auto head = std::make_unique<InodeHead>();
  for (uint32_t byte = 0; byte < sd::kVdiBitmapBytes; byte++) {
    if (!inuse->bytes[byte]) continue;
    for (uint32_t bit = 0; bit < 8; bit++) {
      uint32_t vid = byte * 8 + bit;
      if (!inuse->test(vid) || deleted->test(vid)) continue;
      uint64_t oid = sd::vid_to_vdi_oid(vid);
      std::memset(head.get(), 0, sizeof(InodeHead));
      sd::Status st = c->read_obj(oid, head.get(), sizeof(InodeHead), 0);
      if (!st.ok()) {
        err("Failed to read object %016llx %s", static_cast<unsigned long long>(oid),
            sd::strerror(st.code()));
        err("Failed to read inode header");
        continue;
      }
      if (head->hdr.name[0] == '\0') continue;
      fn(vid, *head);
    }
  }
  return {};
}

sd::Status for_each_allocated(sd::SheepClient& c, uint32_t vid, const sd::InodeHeader& hdr,
                              const std::function<void(uint64_t idx, uint32_t owner)>& fn) {
  if (hdr.store_policy == 1) return walk_btree(c, vid, fn);
  uint64_t nr = std::min<uint64_t>(vdi_object_count(hdr), sd::kInodeDataIndex);
  if (nr == 0) return {};
  std::vector<uint32_t> map(nr);
  SD_TRY(c.read_obj(sd::vid_to_vdi_oid(vid), map.data(), uint32_t(nr * 4),
                    uint32_t(sd::inode_map_offset(0))));
  for (uint64_t i = 0; i < nr; i++)
    if (map[i]) fn(i, map[i]);
  return {};
}

}  // namespace dog
