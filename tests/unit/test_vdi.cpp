// client/vdi.h: byte ranges to object requests, allocation, copy-on-write
// and the READONLY re-lookup, against an in-memory fake sheep.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "client/vdi.h"
#include "fake_sheep.h"
#include "oid.h"

namespace {

const uint64_t kObj = sd::kDataObjSize;  // 4 MiB, the default shift

std::vector<char> bytes(size_t n, int seed) {
  std::vector<char> v(n);
  for (size_t i = 0; i < n; i++) v[i] = char((i * 13 + size_t(seed) * 101 + 1) & 0xff);
  return v;
}

struct Fixture {
  sdtest::FakeSheep sheep;
  std::unique_ptr<sd::SheepClient> client = sd::SheepClient::connect(sheep.endpoint());
};

// The object requests in the log (everything but GET_VDI_INFO and reads of
// the inode).
std::vector<sdtest::LoggedReq> io_log(sdtest::FakeSheep& s) {
  std::vector<sdtest::LoggedReq> out;
  for (auto& l : s.log()) {
    if (l.opcode == sd::kOpGetVdiInfo) continue;
    if (l.opcode == sd::kOpReadObj && sd::is_vdi_obj(l.oid)) continue;
    out.push_back(l);
  }
  return out;
}

}  // namespace

TEST_CASE("open looks the name up and reads the inode header and map") {
  Fixture f;
  REQUIRE(f.client);
  uint32_t vid = f.sheep.create_vdi("alpha", 10 * kObj);
  auto v = sd::Vdi::open(*f.client, "alpha");
  REQUIRE(v.ok());
  sd::Vdi& vdi = **v;
  CHECK(vdi.vid() == vid);
  CHECK(vdi.size() == 10 * kObj);
  CHECK(vdi.object_size() == kObj);
  CHECK_FALSE(vdi.is_snapshot());
  CHECK(std::string(vdi.header().name) == "alpha");

  auto log = f.sheep.log();
  REQUIRE(log.size() == 3);
  CHECK(log[0].opcode == sd::kOpGetVdiInfo);
  CHECK(log[0].len == 512);  // name and tag: always the 512-byte form
  CHECK(log[1].opcode == sd::kOpReadObj);
  CHECK(log[1].oid == sd::vid_to_vdi_oid(vid));
  CHECK(log[1].offset == 0);
  CHECK(log[1].len == sd::kInodeHeaderSize);
  CHECK(log[2].opcode == sd::kOpReadObj);
  CHECK(log[2].offset == sd::kInodeHeaderSize);
  CHECK(log[2].len == 10 * 4);
}

TEST_CASE("open reports a missing VDI or tag") {
  Fixture f;
  REQUIRE(f.client);
  f.sheep.create_vdi("alpha", kObj);
  CHECK(sd::Vdi::open(*f.client, "beta").code() == sd::Res::NoVdi);
  CHECK(sd::Vdi::open(*f.client, "alpha", "nosuchtag").code() == sd::Res::NoTag);
  CHECK(sd::lookup_vdi(*f.client, std::string(300, 'x')).code() == sd::Res::InvalidParms);
}

TEST_CASE("unallocated blocks read as zeros without a request") {
  Fixture f;
  REQUIRE(f.client);
  f.sheep.create_vdi("alpha", 4 * kObj);
  auto v = sd::Vdi::open(*f.client, "alpha");
  REQUIRE(v.ok());
  f.sheep.clear_log();
  std::vector<char> buf(2 * kObj, 'x');
  REQUIRE((*v)->read(buf.data(), buf.size(), kObj / 2).ok());
  CHECK(std::all_of(buf.begin(), buf.end(), [](char c) { return c == 0; }));
  CHECK(f.sheep.log().empty());
}

TEST_CASE("a write across an object boundary allocates both objects") {
  Fixture f;
  REQUIRE(f.client);
  uint32_t vid = f.sheep.create_vdi("alpha", 4 * kObj);
  auto v = sd::Vdi::open(*f.client, "alpha");
  REQUIRE(v.ok());
  sd::Vdi& vdi = **v;
  f.sheep.clear_log();

  const uint64_t off = kObj - 100;
  std::vector<char> data = bytes(300, 1);
  REQUIRE(vdi.write(data.data(), data.size(), off).ok());

  auto log = io_log(f.sheep);
  REQUIRE(log.size() == 4);
  // Block 0: CREATE of the tail, then the 4-byte inode entry at 4664.
  CHECK(log[0].opcode == sd::kOpCreateAndWriteObj);
  CHECK(log[0].oid == sd::vid_to_data_oid(vid, 0));
  CHECK(log[0].offset == kObj - 100);
  CHECK(log[0].len == 100);
  CHECK((log[0].flags & sd::kFlagCow) == 0);
  CHECK(log[1].opcode == sd::kOpWriteObj);
  CHECK(log[1].oid == sd::vid_to_vdi_oid(vid));
  CHECK(log[1].offset == 4664);
  CHECK(log[1].len == 4);
  CHECK(log[1].value == vid);
  // Block 1: CREATE of the head, then the entry at 4664 + 4.
  CHECK(log[2].opcode == sd::kOpCreateAndWriteObj);
  CHECK(log[2].oid == sd::vid_to_data_oid(vid, 1));
  CHECK(log[2].offset == 0);
  CHECK(log[2].len == 200);
  CHECK(log[3].opcode == sd::kOpWriteObj);
  CHECK(log[3].oid == sd::vid_to_vdi_oid(vid));
  CHECK(log[3].offset == 4664 + 4);
  CHECK(log[3].len == 4);
  CHECK(log[3].value == vid);

  CHECK(f.sheep.map_entry(vid, 0) == vid);
  CHECK(f.sheep.map_entry(vid, 1) == vid);
  CHECK(f.sheep.map_entry(vid, 2) == 0);
  CHECK(*vdi.map_entry(0) == vid);
  CHECK(*vdi.map_entry(1) == vid);

  // Reading back crosses the boundary too.
  std::vector<char> back(300);
  REQUIRE(vdi.read(back.data(), back.size(), off).ok());
  CHECK(back == data);

  // A second write to an owned block is a plain WRITE_OBJ, no inode update.
  f.sheep.clear_log();
  std::vector<char> more = bytes(50, 2);
  REQUIRE(vdi.write(more.data(), more.size(), 10).ok());
  log = io_log(f.sheep);
  REQUIRE(log.size() == 1);
  CHECK(log[0].opcode == sd::kOpWriteObj);
  CHECK(log[0].oid == sd::vid_to_data_oid(vid, 0));
  CHECK(log[0].offset == 10);
  CHECK(log[0].len == 50);

  // The object holds zeros around what was written.
  auto obj = f.sheep.object(sd::vid_to_data_oid(vid, 0));
  REQUIRE(obj.size() == kObj);
  CHECK(obj[0] == 0);
  CHECK(std::memcmp(obj.data() + 10, more.data(), 50) == 0);
  CHECK(std::memcmp(obj.data() + kObj - 100, data.data(), 100) == 0);
}

TEST_CASE("ranges beyond the end are rejected") {
  Fixture f;
  REQUIRE(f.client);
  f.sheep.create_vdi("alpha", 2 * kObj);
  auto v = sd::Vdi::open(*f.client, "alpha");
  REQUIRE(v.ok());
  char buf[16] = {};
  CHECK((*v)->read(buf, 16, 2 * kObj - 8).code() == sd::Res::InvalidParms);
  CHECK((*v)->write(buf, 16, 2 * kObj - 8).code() == sd::Res::InvalidParms);
  CHECK((*v)->read(buf, 16, UINT64_MAX - 4).code() == sd::Res::InvalidParms);
  CHECK((*v)->read(buf, 8, 2 * kObj - 8).ok());
}

TEST_CASE("a block owned by a parent snapshot is copied on write") {
  Fixture f;
  REQUIRE(f.client);
  uint32_t parent = f.sheep.create_vdi("alpha", 4 * kObj);
  std::vector<char> old = bytes(kObj, 3);
  f.sheep.put_block(parent, 1, old);
  uint32_t vid = f.sheep.snapshot("alpha", "snap1");
  REQUIRE(vid != parent);
  CHECK(f.sheep.map_entry(vid, 1) == parent);

  auto v = sd::Vdi::open(*f.client, "alpha");
  REQUIRE(v.ok());
  sd::Vdi& vdi = **v;
  CHECK(vdi.vid() == vid);
  CHECK(*vdi.map_entry(1) == parent);

  // Reads of the shared block go to the parent's object.
  f.sheep.clear_log();
  std::vector<char> buf(64);
  REQUIRE(vdi.read(buf.data(), 64, kObj + 1000).ok());
  CHECK(std::memcmp(buf.data(), old.data() + 1000, 64) == 0);
  auto log = io_log(f.sheep);
  REQUIRE(log.size() == 1);
  CHECK(log[0].oid == sd::vid_to_data_oid(parent, 1));

  // A partial write: CREATE with COW from the parent's object.
  f.sheep.clear_log();
  std::vector<char> data = bytes(4096, 4);
  REQUIRE(vdi.write(data.data(), data.size(), kObj + 8192).ok());
  log = io_log(f.sheep);
  REQUIRE(log.size() == 2);
  CHECK(log[0].opcode == sd::kOpCreateAndWriteObj);
  CHECK(log[0].oid == sd::vid_to_data_oid(vid, 1));
  CHECK((log[0].flags & sd::kFlagCow) != 0);
  CHECK(log[0].cow_oid == sd::vid_to_data_oid(parent, 1));
  CHECK(log[0].offset == 8192);
  CHECK(log[0].len == 4096);
  CHECK(log[1].opcode == sd::kOpWriteObj);
  CHECK(log[1].oid == sd::vid_to_vdi_oid(vid));
  CHECK(log[1].offset == 4664 + 4);
  CHECK(log[1].value == vid);
  CHECK(f.sheep.map_entry(vid, 1) == vid);
  CHECK(*vdi.map_entry(1) == vid);

  // The new object is the old one with the write laid over it; the
  // snapshot's object is untouched.
  std::vector<char> want = old;
  std::memcpy(want.data() + 8192, data.data(), data.size());
  CHECK(f.sheep.object(sd::vid_to_data_oid(vid, 1)) == want);
  CHECK(f.sheep.object(sd::vid_to_data_oid(parent, 1)) == old);
  std::vector<char> back(kObj);
  REQUIRE(vdi.read(back.data(), kObj, kObj).ok());
  CHECK(back == want);
}

TEST_CASE("READONLY after a snapshot behind our back: re-lookup and COW to the new vid") {
  Fixture f;
  REQUIRE(f.client);
  uint32_t old_vid = f.sheep.create_vdi("alpha", 4 * kObj);
  auto v = sd::Vdi::open(*f.client, "alpha");
  REQUIRE(v.ok());
  sd::Vdi& vdi = **v;
  std::vector<char> first = bytes(1000, 5);
  REQUIRE(vdi.write(first.data(), first.size(), 0).ok());
  CHECK(*vdi.map_entry(0) == old_vid);

  // Someone else snapshots the VDI: old_vid becomes read-only.
  uint32_t new_vid = f.sheep.snapshot("alpha", "backup");
  f.sheep.clear_log();
  std::vector<char> second = bytes(500, 6);
  REQUIRE(vdi.write(second.data(), second.size(), 200).ok());

  auto log = f.sheep.log();
  REQUIRE(log.size() >= 6);
  // The plain write to our old object is refused...
  CHECK(log[0].opcode == sd::kOpWriteObj);
  CHECK(log[0].oid == sd::vid_to_data_oid(old_vid, 0));
  // ...so the name is looked up again and the new inode read...
  CHECK(log[1].opcode == sd::kOpGetVdiInfo);
  CHECK(log[2].opcode == sd::kOpReadObj);
  CHECK(log[2].oid == sd::vid_to_vdi_oid(new_vid));
  size_t i = 3;
  while (i < log.size() && log[i].opcode == sd::kOpReadObj) i++;
  // ...and the write is redone as COW into the new vid.
  REQUIRE(i + 1 < log.size());
  CHECK(log[i].opcode == sd::kOpCreateAndWriteObj);
  CHECK(log[i].oid == sd::vid_to_data_oid(new_vid, 0));
  CHECK((log[i].flags & sd::kFlagCow) != 0);
  CHECK(log[i].cow_oid == sd::vid_to_data_oid(old_vid, 0));
  CHECK(log[i + 1].opcode == sd::kOpWriteObj);
  CHECK(log[i + 1].oid == sd::vid_to_vdi_oid(new_vid));
  CHECK(log[i + 1].offset == 4664);
  CHECK(log[i + 1].value == new_vid);

  CHECK(vdi.vid() == new_vid);
  CHECK_FALSE(vdi.is_snapshot());
  std::vector<char> want = first;
  std::memcpy(want.data() + 200, second.data(), second.size());
  std::vector<char> back(1000);
  REQUIRE(vdi.read(back.data(), back.size(), 0).ok());
  CHECK(back == want);
  // The snapshot still holds the first version.
  auto snap_obj = f.sheep.object(sd::vid_to_data_oid(old_vid, 0));
  CHECK(std::memcmp(snap_obj.data(), first.data(), first.size()) == 0);
}

TEST_CASE("a snapshot opened by tag or id is read-only") {
  Fixture f;
  REQUIRE(f.client);
  uint32_t snap_vid = f.sheep.create_vdi("alpha", 2 * kObj);
  f.sheep.put_block(snap_vid, 0, bytes(100, 7));
  f.sheep.snapshot("alpha", "t1");

  auto by_tag = sd::Vdi::open(*f.client, "alpha", "t1");
  REQUIRE(by_tag.ok());
  CHECK((*by_tag)->vid() == snap_vid);
  CHECK((*by_tag)->is_snapshot());
  char buf[100];
  REQUIRE((*by_tag)->read(buf, 100, 0).ok());
  CHECK(std::memcmp(buf, bytes(100, 7).data(), 100) == 0);
  f.sheep.clear_log();
  CHECK((*by_tag)->write(buf, 100, 0).code() == sd::Res::Readonly);
  CHECK(f.sheep.log().empty());

  auto by_id = sd::Vdi::open(*f.client, "alpha", "", 1);
  REQUIRE(by_id.ok());
  CHECK((*by_id)->vid() == snap_vid);
  CHECK((*by_id)->is_snapshot());
}

TEST_CASE("concurrent first writes to one block create it once") {
  Fixture f;
  REQUIRE(f.client);
  uint32_t vid = f.sheep.create_vdi("alpha", 2 * kObj);
  auto v = sd::Vdi::open(*f.client, "alpha");
  REQUIRE(v.ok());
  sd::Vdi& vdi = **v;
  f.sheep.clear_log();
  const int kThreads = 8;
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      std::vector<char> d = bytes(4096, 10 + t);
      if (vdi.write(d.data(), d.size(), uint64_t(t) * 4096).ok()) good++;
    });
  }
  for (auto& th : threads) th.join();
  CHECK(good == kThreads);
  int creates = 0, inode_updates = 0;
  for (auto& l : f.sheep.log()) {
    creates += l.opcode == sd::kOpCreateAndWriteObj;
    inode_updates += l.opcode == sd::kOpWriteObj && sd::is_vdi_obj(l.oid);
  }
  CHECK(creates == 1);
  CHECK(inode_updates == 1);
  auto obj = f.sheep.object(sd::vid_to_data_oid(vid, 0));
  for (int t = 0; t < kThreads; t++)
    CHECK(std::memcmp(obj.data() + t * 4096, bytes(4096, 10 + t).data(), 4096) == 0);
}
