// The B-tree block map of hyper volumes (common/hyper_map.h),
// against objects kept in memory.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <numeric>
#include <random>
#include <vector>

#include "hyper_map.h"
#include "oid.h"
#include "proto/inode.h"

namespace {

// Objects as byte vectors; reads past the end are zeros; counts the bytes
// written, to check that updates write only what changed.
struct MemoryObjects : sd::HyperMapIo {
  std::map<uint64_t, std::vector<uint8_t>> objects;
  size_t bytes_written = 0;
  int fail_write = -1;  // the write (counting from 0) that fails with EIO
  int writes = 0;
  sd::Status read(uint64_t oid, void* buf, uint32_t len, uint32_t offset) override {
    auto it = objects.find(oid);
    if (it == objects.end()) return sd::err(sd::Res::NoObj);
    std::memset(buf, 0, len);
    if (offset < it->second.size())
      std::memcpy(buf, it->second.data() + offset,
                  std::min<size_t>(len, it->second.size() - offset));
    return {};
  }
  sd::Status write(uint64_t oid, const void* buf, uint32_t len, uint32_t offset) override {
    if (writes++ == fail_write) return sd::err(sd::Res::Eio);
    auto it = objects.find(oid);
    if (it == objects.end()) return sd::err(sd::Res::NoObj);
    if (it->second.size() < offset + len) it->second.resize(offset + len);
    std::memcpy(it->second.data() + offset, buf, len);
    bytes_written += len;
    return {};
  }
  sd::Status create(uint64_t oid, const void* buf, uint32_t len, uint32_t offset) override {
    objects[oid].assign(offset + len, 0);
    std::memcpy(objects[oid].data() + offset, buf, len);
    bytes_written += len;
    return {};
  }
};

constexpr uint32_t kVid = 0x00abcd;

MemoryObjects with_inode() {
  MemoryObjects m;
  m.objects[sd::vid_to_vdi_oid(kVid)] = std::vector<uint8_t>(sd::kInodeHeaderSize + 64, 0);
  return m;
}

uint32_t u32_at(MemoryObjects& m, uint64_t oid, size_t off) {
  uint32_t v = 0;
  std::memcpy(&v, m.objects[oid].data() + off, 4);
  return v;
}

}  // namespace

TEST_CASE("hyper map: an all-zero root is empty; entries land as upstream lays them out") {
  MemoryObjects m = with_inode();
  sd::HyperMap map(m, kVid);
  REQUIRE(map.load().ok());
  CHECK(map.depth() == 1);
  CHECK(*map.lookup(7) == 0u);
  REQUIRE(map.init_empty().ok());
  const uint64_t inode = sd::vid_to_vdi_oid(kVid);
  CHECK(u32_at(m, inode, sd::kInodeHeaderSize) == 0x00016274u);  // magic, depth 1
  REQUIRE(map.set(5, 0x1234).ok());
  REQUIRE(map.set(3, 0x99).ok());
  CHECK(u32_at(m, inode, sd::kInodeHeaderSize + 4) == 2u);  // entries
  CHECK(u32_at(m, inode, sd::kInodeHeaderSize + 8) == 3u);  // sorted by idx
  CHECK(u32_at(m, inode, sd::kInodeHeaderSize + 12) == 0x99u);
  CHECK(u32_at(m, inode, sd::kInodeHeaderSize + 16) == 5u);
  CHECK(u32_at(m, inode, sd::kInodeHeaderSize + 20) == 0x1234u);
  CHECK(*map.lookup(5) == 0x1234u);
  CHECK(*map.lookup(4) == 0u);
  // An update writes its entry and the header, nothing else.
  size_t before = m.bytes_written;
  REQUIRE(map.set(3, 0x77).ok());
  CHECK(m.bytes_written - before == 16);
  sd::HyperMap again(m, kVid);
  REQUIRE(again.load().ok());
  CHECK(*again.lookup(3) == 0x77u);
  CHECK(*again.lookup(5) == 0x1234u);
}

TEST_CASE("hyper map: splits to depth 2, leaves split, and everything reads back") {
  MemoryObjects m = with_inode();
  sd::HyperMap::Limits small{4, 256};
  sd::HyperMap map(m, kVid, 2, small);
  REQUIRE(map.init_empty().ok());
  std::vector<uint32_t> order(200);
  std::iota(order.begin(), order.end(), 0u);
  std::mt19937 rng(42);
  std::shuffle(order.begin(), order.end(), rng);
  for (uint32_t idx : order) REQUIRE(map.set(idx * 3, idx + 1).ok());
  CHECK(map.depth() == 2);
  CHECK(map.cached_leaves() <= 2);
  CHECK(map.btree_counter() >= 2);
  // btree_counter is in the inode, where upstream keeps it.
  CHECK(u32_at(m, sd::vid_to_vdi_oid(kVid), offsetof(sd::InodeHeader, btree_counter)) ==
        map.btree_counter());
  for (uint32_t idx = 0; idx < 600; idx++)
    CHECK(*map.lookup(idx) == (idx % 3 == 0 ? idx / 3 + 1 : 0u));
  // Appends past the last leaf and updates in the middle.
  for (uint32_t idx = 1000; idx < 1020; idx++) REQUIRE(map.set(idx, 7).ok());
  REQUIRE(map.set(30, 0).ok());
  // A fresh map on the same objects sees the same tree, in order.
  sd::HyperMap again(m, kVid, 3, small);
  REQUIRE(again.load().ok());
  std::vector<std::pair<uint32_t, uint32_t>> seen;
  REQUIRE(again.for_each([&](uint32_t i, uint32_t o) { seen.push_back({i, o}); }).ok());
  CHECK(seen.size() == 220);
  CHECK(std::is_sorted(seen.begin(), seen.end()));
  CHECK(*again.lookup(30) == 0u);
  CHECK(*again.lookup(33) == 12u);
  CHECK(*again.lookup(1019) == 7u);
  CHECK(*again.lookup(1020) == 0u);
  // Every leaf is a B-tree object of this vid with a depth-1 header.
  for (const auto& [oid, bytes] : m.objects) {
    if (!sd::is_vdi_btree_obj(oid)) continue;
    CHECK(sd::oid_to_vid(oid) == kVid);
    CHECK(u32_at(m, oid, 0) == 0x00016274u);
  }
}

TEST_CASE("hyper map: a root or leaf that breaks the format is refused, not trusted") {
  MemoryObjects m = with_inode();
  const uint64_t inode = sd::vid_to_vdi_oid(kVid);
  uint32_t bad_magic = 0x00011234;
  std::memcpy(m.objects[inode].data() + sd::kInodeHeaderSize, &bad_magic, 4);
  sd::HyperMap map(m, kVid);
  CHECK(map.load().code() == sd::Res::Eio);
  // A count beyond what 4 MiB holds: refused before anything is sized by it.
  uint32_t header[2] = {0x00016274u, sd::kBtreeMaxLeafEntries + 1};
  std::memcpy(m.objects[inode].data() + sd::kInodeHeaderSize, header, 8);
  CHECK(map.load().code() == sd::Res::Eio);
  uint32_t depth3[2] = {0x00036274u, 1};
  std::memcpy(m.objects[inode].data() + sd::kInodeHeaderSize, depth3, 8);
  CHECK(map.load().code() == sd::Res::Eio);
  // A depth-2 root naming a leaf with a bad header.
  uint8_t root[8 + 16] = {};
  uint32_t h2[2] = {0x00026274u, 1};
  std::memcpy(root, h2, 8);
  uint32_t max_idx = 100;
  uint64_t leaf = sd::vid_to_btree_oid(kVid, 0);
  std::memcpy(root + 8, &max_idx, 4);
  std::memcpy(root + 16, &leaf, 8);
  std::memcpy(m.objects[inode].data() + sd::kInodeHeaderSize, root, sizeof(root));
  m.objects[leaf] = std::vector<uint8_t>(64, 0xff);
  REQUIRE(map.load().ok());
  CHECK(map.lookup(5).code() == sd::Res::Eio);
}

TEST_CASE("hyper map: a full root refuses more leaves with NO_SPACE and keeps what it has") {
  MemoryObjects m = with_inode();
  sd::HyperMap map(m, kVid, 4, sd::HyperMap::Limits{2, 2});
  REQUIRE(map.init_empty().ok());
  uint32_t idx = 0;
  sd::Status st;
  for (; idx < 100 && (st = map.set(idx, idx + 10)).ok(); idx++) {
  }
  CHECK(st.code() == sd::Res::NoSpace);
  CHECK(idx == 3);  // the root split into leaves [0] and [1, 2]; 3 needs a third leaf
  sd::HyperMap again(m, kVid, 4, sd::HyperMap::Limits{2, 2});
  REQUIRE(again.load().ok());
  for (uint32_t i = 0; i < idx; i++) CHECK(*again.lookup(i) == i + 10);
  CHECK(*again.lookup(idx) == 0u);
}

namespace {
void put(std::vector<uint8_t>& v, size_t off, const void* p, size_t n) {
  if (v.size() < off + n) v.resize(off + n);
  std::memcpy(v.data() + off, p, n);
}
void put32(std::vector<uint8_t>& v, size_t off, uint32_t x) { put(v, off, &x, 4); }
void put64(std::vector<uint8_t>& v, size_t off, uint64_t x) { put(v, off, &x, 8); }
}  // namespace

TEST_CASE("hyper map: a depth-2 tree built byte by byte as upstream writes it is read right") {
  // Root: header 0x6274, depth 2, 2 entries; indirect entries of 16 bytes
  // (max idx u32, 4 pad bytes, leaf oid u64). Leaves: depth-1 headers and
  // 8-byte (idx, vid) entries. Pad bytes hold garbage, as nothing reads
  // them.
  MemoryObjects m = with_inode();
  const uint64_t inode = sd::vid_to_vdi_oid(kVid);
  const uint64_t leaf0 = sd::vid_to_btree_oid(kVid, 0), leaf1 = sd::vid_to_btree_oid(kVid, 1);
  auto& root = m.objects[inode];
  const size_t r = sd::kInodeHeaderSize;
  put32(root, offsetof(sd::InodeHeader, btree_counter), 2);
  put32(root, r, 0x00026274);  // magic, depth 2
  put32(root, r + 4, 2);
  put32(root, r + 8, 2000);
  put32(root, r + 12, 0xdeadbeef);
  put64(root, r + 16, leaf0);
  put32(root, r + 24, 5000000);
  put32(root, r + 28, 0xdeadbeef);
  put64(root, r + 32, leaf1);
  std::vector<uint8_t> l0, l1;
  put32(l0, 0, 0x00016274);
  put32(l0, 4, 3);
  const uint32_t e0[][2] = {{0, kVid}, {7, 0x42}, {2000, 0}};
  for (int i = 0; i < 3; i++) put32(l0, 8 + 8 * i, e0[i][0]), put32(l0, 12 + 8 * i, e0[i][1]);
  put32(l1, 0, 0x00016274);
  put32(l1, 4, 2);
  const uint32_t e1[][2] = {{1048576, kVid}, {5000000, kVid}};
  for (int i = 0; i < 2; i++) put32(l1, 8 + 8 * i, e1[i][0]), put32(l1, 12 + 8 * i, e1[i][1]);
  m.objects[leaf0] = l0;
  m.objects[leaf1] = l1;

  sd::HyperMap map(m, kVid, 1);
  REQUIRE(map.load().ok());
  CHECK(map.depth() == 2);
  uint32_t peeked = 1;
  CHECK_FALSE(map.peek(7, &peeked));  // its leaf is not read yet
  CHECK(map.peek(6000000, &peeked));  // beyond every leaf: known without one
  CHECK(peeked == 0u);
  CHECK(map.root_entries() == 2);
  CHECK(map.btree_counter() == 2);
  CHECK(*map.lookup(0) == kVid);
  CHECK(*map.lookup(7) == 0x42u);
  CHECK(map.peek(7, &peeked));  // now it is cached
  CHECK(peeked == 0x42u);
  CHECK(*map.lookup(8) == 0u);
  CHECK(*map.lookup(2000) == 0u);  // an entry naming nothing (discarded)
  CHECK(*map.lookup(1048576) == kVid);
  CHECK(*map.lookup(5000000) == kVid);
  CHECK(*map.lookup(5000001) == 0u);
  // Holes are skipped, entries naming nothing included.
  CHECK(*map.next_allocated(1) == 7u);
  CHECK(*map.next_allocated(8) == 1048576u);
  CHECK(*map.next_allocated(1048577) == 5000000u);
  CHECK(*map.next_allocated(5000001) == sd::HyperMap::kNoBlock);
  CHECK(map.cached_leaves() == 1);  // bounded as asked
  // An insert into the second leaf lands as upstream would lay it out.
  REQUIRE(map.set(3000000, 0x42).ok());
  CHECK(u32_at(m, leaf1, 4) == 3u);
  CHECK(u32_at(m, leaf1, 16) == 3000000u);
  CHECK(u32_at(m, leaf1, 20) == 0x42u);
  CHECK(u32_at(m, leaf1, 24) == 5000000u);
}

TEST_CASE("hyper map: an insert that moves entries is one request; a failed one is forgotten") {
  MemoryObjects m = with_inode();
  sd::HyperMap map(m, kVid);
  REQUIRE(map.init_empty().ok());
  for (uint32_t idx : {10u, 20u, 30u}) REQUIRE(map.set(idx, 7).ok());
  // An insert before the end: header and every entry in one write, so a
  // crash between requests cannot push entry 30 out of the old count.
  m.writes = 0;
  REQUIRE(map.set(15, 8).ok());
  CHECK(m.writes == 1);
  // That write fails: the map must not answer from what it changed in
  // memory, and must still know every entry the objects hold.
  m.writes = 0;
  m.fail_write = 0;
  CHECK_FALSE(map.set(5, 9).ok());
  m.fail_write = -1;
  uint32_t owner = 1;
  CHECK_FALSE(map.peek(5, &owner));  // not trusted until read again
  CHECK(*map.lookup(5) == 0u);
  for (uint32_t idx : {10u, 15u, 20u, 30u}) CHECK(*map.lookup(idx) != 0u);
  REQUIRE(map.set(5, 9).ok());
  sd::HyperMap again(m, kVid);
  REQUIRE(again.load().ok());
  std::vector<uint32_t> seen;
  REQUIRE(again.for_each([&](uint32_t i, uint32_t) { seen.push_back(i); }).ok());
  CHECK(seen == std::vector<uint32_t>{5, 10, 15, 20, 30});
}

TEST_CASE("hyper map: a leaf split names the new leaf before the old one shrinks") {
  MemoryObjects m = with_inode();
  sd::HyperMap::Limits small{4, 256};
  sd::HyperMap map(m, kVid, 1, small);
  REQUIRE(map.init_empty().ok());
  for (uint32_t idx = 0; idx < 12; idx++) REQUIRE(map.set(idx * 10, 1).ok());
  REQUIRE(map.depth() == 2);
  // Every write of the next split fails in turn; whatever the objects
  // hold afterwards, no entry is lost (duplicates are allowed).
  for (int fail = 0; fail < 6; fail++) {
    MemoryObjects copy = m;
    copy.writes = 0;
    copy.fail_write = fail;
    sd::HyperMap torn(copy, kVid, 1, small);
    REQUIRE(torn.load().ok());
    (void)torn.set(55, 2);  // lands in a full leaf: a split
    copy.fail_write = -1;
    sd::HyperMap after(copy, kVid, 1, small);
    REQUIRE(after.load().ok());
    for (uint32_t idx = 0; idx < 12; idx++) CHECK(*after.lookup(idx * 10) == 1u);
  }
}
