// Bitmaps, inode headers and allocation maps read the way upstream dog
// reads them (docs/PROTOCOL.md §11.2; §5.4 for hyper volumes).
#include "vdi_inventory.h"

#include <algorithm>
#include <cstring>

#include "client/client_map_io.h"
#include "client/requests.h"
#include "hyper_map.h"
#include "oid.h"

namespace dog {

namespace {

sd::Status walk_btree(sd::SheepClient& c, uint32_t vid, const sd::InodeHeader& hdr,
                      const std::function<void(uint64_t, uint32_t)>& fn) {
  sd::ClientMapIo io(c, hdr.nr_copies);
  sd::HyperMap map(io, vid, 1);  // leaves are visited once each, in order
  SD_TRY(map.load());
  return map.for_each([&](uint32_t idx, uint32_t owner) {
    if (owner) fn(idx, owner);
  });
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
  if (hdr.store_policy == 1) return walk_btree(c, vid, hdr, fn);
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
