// Erasure-coded strips on one node: the store's piece files and their
// stale copies (store/plain_store.h), the audit's per-position ownership
// (recovery/ownership_audit.h), and the gateway's stripe locks
// (gateway/stripe_locks.h).
#include <doctest/doctest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "daemon_rig.h"
#include "gateway/stripe_locks.h"

using namespace sdtest;

namespace {

bool file_exists(const std::string& p) { return std::filesystem::exists(p); }

}  // namespace

TEST_CASE("object file names: <oid> and <oid>_<i>, nothing else") {
  uint64_t oid = 0;
  int piece = 0;
  CHECK(sd::parse_object_name("0001e5c000000003", &oid, &piece));
  CHECK(oid == 0x0001e5c000000003ull);
  CHECK(piece == sd::kWholeObject);
  CHECK(sd::parse_object_name("0001e5c000000003_0", &oid, &piece));
  CHECK(piece == 0);
  CHECK(sd::parse_object_name("0001e5c000000003_30", &oid, &piece));
  CHECK(piece == 30);
  for (const char* bad : {"0001e5c000000003_31", "0001e5c000000003_", "0001e5c000000003_01",
                          "0001e5c000000003_1x", "0001e5c000000003_100", "0001e5c00000000_1",
                          "0001e5c000000003.tmp.12", "0001e5c000000003-1"})
    CHECK_MESSAGE(!sd::parse_object_name(bad, &oid, &piece), bad);
  CHECK(sd::object_file_name(0x0001e5c000000003ull, 4) == "0001e5c000000003_4");
  CHECK(sd::object_file_name(0x0001e5c000000003ull, sd::kWholeObject) == "0001e5c000000003");
}

TEST_CASE("store: one live piece per object, its stale copies named by piece") {
  DaemonRig rig;
  const std::string dir = rig.dir.path + "/obj/";
  uint64_t oid = sd::vid_to_data_oid(7, 3);
  REQUIRE(rig.store.create_and_write(oid, 1024, "abcd", 4, 0, 2).ok());
  CHECK(file_exists(dir + sd::object_file_name(oid, 2)));
  CHECK(rig.store.piece_of(oid) == 2);
  CHECK(rig.store.exists(oid));
  char got[5] = {};
  REQUIRE(rig.store.read(oid, got, 4, 0).ok());
  CHECK(std::string(got) == "abcd");
  // Another strip index replaces it: never two pieces of one object live;
  // the old one is set aside in .stale as of epoch 0, not lost.
  REQUIRE(rig.store.create_and_write(oid, 1024, "wxyz", 4, 0, 5).ok());
  CHECK(!file_exists(dir + sd::object_file_name(oid, 2)));
  CHECK(file_exists(dir + ".stale/" + sd::object_file_name(oid, 2) + ".0"));
  CHECK(rig.store.newest_stale(oid, 0, 2) == 0u);
  CHECK(file_exists(dir + sd::object_file_name(oid, 5)));
  CHECK(rig.store.piece_of(oid) == 5);
  CHECK(rig.store.list() == std::vector<uint64_t>{oid});
  // Stale: .stale/<oid>_5.<epoch>, read and restored as strip 5.
  REQUIRE(rig.store.move_to_stale(oid, 9).ok());
  CHECK(file_exists(dir + ".stale/" + sd::object_file_name(oid, 5) + ".9"));
  CHECK(!rig.store.exists(oid));
  CHECK(rig.store.newest_stale(oid, 0, 5) == 9u);
  CHECK(!rig.store.newest_stale(oid, 0, 4));
  CHECK(rig.store.newest_stale(oid) == 9u);
  std::memset(got, 0, sizeof(got));
  REQUIRE(rig.store.read_stale(oid, 9, got, 4, 0).ok());
  CHECK(std::string(got) == "wxyz");
  CHECK(rig.store.read_stale(oid, 9, got, 4, 0, 2).code() == sd::Res::NoObj);
  REQUIRE(rig.store.restore_stale(oid, 9).ok());
  CHECK(rig.store.piece_of(oid) == 5);
  CHECK(file_exists(dir + sd::object_file_name(oid, 5)));
  // Reads and writes name the piece they mean.
  CHECK(rig.store.read(oid, got, 4, 0, 5).ok());
  CHECK(rig.store.read(oid, got, 4, 0, 2).code() == sd::Res::NoObj);
  CHECK(rig.store.write(oid, "x", 1, 0, sd::kWholeObject).code() == sd::Res::NoObj);
  REQUIRE(rig.store.remove(oid).ok());
  CHECK(!rig.store.exists(oid));
  CHECK(rig.store.list().empty());
  REQUIRE(rig.store.remove_stale(oid).ok());
  CHECK(!file_exists(dir + ".stale/" + sd::object_file_name(oid, 2) + ".0"));
}

TEST_CASE("store: a restart finds the strips, and sets two pieces of one object aside") {
  DaemonRig rig;
  const std::string dir = rig.dir.path + "/obj/";
  uint64_t a = sd::vid_to_data_oid(7, 1), b = sd::vid_to_data_oid(7, 2);
  REQUIRE(rig.store.create_and_write(a, 1024, "aaaa", 4, 0, 3).ok());
  REQUIRE(rig.store.create_and_write(b, 1024, "bbbb", 4, 0, 1).ok());
  REQUIRE(rig.store.move_to_stale(b, 4).ok());
  REQUIRE(rig.store.create_and_write(b, 1024, "cccc", 4, 0, 0).ok());
  // A crash between a new piece and the removal of the old one.
  std::filesystem::copy_file(dir + sd::object_file_name(b, 0), dir + sd::object_file_name(b, 2));
  sd::PlainStore again(rig.dir.path + "/obj", true);
  REQUIRE(again.init().ok());
  CHECK(again.piece_of(a) == 3);
  CHECK(!again.exists(b));
  CHECK(!file_exists(dir + sd::object_file_name(b, 0)));
  CHECK(!file_exists(dir + sd::object_file_name(b, 2)));
  CHECK(again.stale_piece(b, 4) == 1);
  // Both kept as stale copies of epoch 0, for recovery to use.
  CHECK(again.stale_piece(b, 0, 0) == 0);
  CHECK(again.stale_piece(b, 0, 2) == 2);
  CHECK(file_exists(dir + ".stale/" + sd::object_file_name(b, 0) + ".0"));
}

TEST_CASE("local replica: a strip is served only as the piece asked for, at its position") {
  DaemonRig rig;
  FakePeer p1(1), p2(2), p3(3), p4(4), p5(5), p6(6);
  auto first = rig.epoch(1, {p1.node(), p2.node(), p3.node(), p4.node(), p5.node()}, true, true);
  rig.audit.reset(1);
  sd::VdiInfo info;
  info.copies = 6;
  info.copy_policy = 0x22;  // 4:2
  rig.vdis.add(9, info, true);
  // An object whose strip index here changes when p6 joins (we stay an owner).
  std::vector<sd::SdNode> second = first;
  second.push_back(p6.node());
  sd::sort_nodes(second);
  sd::VnodeRing r1(first), r2(second);
  uint64_t oid = 0;
  int position = -1;
  for (uint32_t idx = 0; idx < 100000 && !oid; idx++) {
    uint64_t o = sd::vid_to_data_oid(9, idx);
    int a = r1.position(o, 6, r1.find(rig.self.nid)), b = r2.position(o, 6, r2.find(rig.self.nid));
    if (a >= 0 && b >= 0 && a != b) {
      oid = o;
      position = a;
    }
  }
  REQUIRE(oid);
  CHECK(rig.policy.piece_size(oid, position) == (4u << 20) / 4);
  REQUIRE(rig.replica.create(oid, 1, "strp", 4, 0, position).ok());
  char got[5] = {};
  CHECK(rig.replica.read(oid, got, 4, 0, position).ok());
  CHECK(std::string(got) == "strp");
  CHECK(rig.replica.read(oid, got, 4, 0, (position + 1) % 6).code() == sd::Res::NoObj);
  // Pieces the object does not have, or ranges beyond the strip, are
  // refused (the VDI table may have changed since the request was checked).
  CHECK(rig.replica.read(oid, got, 4, 0, sd::kWholeObject).code() == sd::Res::InvalidParms);
  CHECK(rig.replica.create(oid, 1, "x", 1, 0, 6).code() == sd::Res::InvalidParms);
  CHECK(rig.replica.write(oid, "x", 1, 1u << 20, position).code() == sd::Res::InvalidParms);
  CHECK(rig.audit.has_current(oid, *rig.members.membership()));
  // At another position under the next ring, the strip here is not the
  // one this node must hold (writes of that epoch went to other nodes for
  // it): it moves to .stale, kept for recovery under its own index.
  rig.epoch(2, {p1.node(), p2.node(), p3.node(), p4.node(), p5.node(), p6.node()}, true, true);
  CHECK(!rig.audit.check(oid, *rig.members.membership()));
  CHECK(!rig.store.exists(oid));
  CHECK(rig.store.newest_stale(oid, 0, position) == 1u);
}

TEST_CASE("stripe locks: overlapping stripes wait, disjoint ones and other objects do not") {
  sd::StripeLocks locks;
  auto held = std::make_unique<sd::StripeLocks::Held>(locks.lock(1, 0, 1024));
  {
    auto other_range = locks.lock(1, 1024, 2048);  // disjoint: at once
    auto other_object = locks.lock(2, 0, 1024);    // another object: at once
  }
  std::atomic<bool> got{false};
  std::thread t([&] {
    auto h = locks.lock(1, 512, 1536);  // overlaps the first
    got = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(!got.load());
  held.reset();
  t.join();
  CHECK(got.load());
}

TEST_CASE("store: the tree layout puts meta objects in meta/ and data in the VID's bucket") {
  DaemonRig rig;
  const std::string dir = rig.dir.path + "/obj/";
  REQUIRE(rig.store.set_layout(sd::StoreLayout::Tree).ok());
  uint64_t inode = sd::vid_to_vdi_oid(0x0102ab), data = sd::vid_to_data_oid(0x0102ab, 5);
  REQUIRE(rig.store.create_and_write(inode, 4096, "ino", 3, 0).ok());
  REQUIRE(rig.store.create_and_write(data, 4096, "dat", 3, 0, 1).ok());
  CHECK(file_exists(dir + "meta/" + sd::object_file_name(inode, sd::kWholeObject)));
  CHECK(file_exists(dir + "ab/" + sd::object_file_name(data, 1)));
  CHECK(rig.store.list() == std::vector<uint64_t>{data, inode});
  // A restart (a new store on the same directory) finds both, and the
  // strip's piece, before and after the layout is set again.
  sd::PlainStore again(rig.dir.path + "/obj", true);
  REQUIRE(again.init().ok());
  CHECK(again.list().size() == 2);
  REQUIRE(again.set_layout(sd::StoreLayout::Tree).ok());
  CHECK(again.piece_of(data) == 1);
  char got[4] = {};
  REQUIRE(again.read(inode, got, 3, 0).ok());
  CHECK(std::string(got) == "ino");
  // Purge empties every directory, whatever the layout is now.
  REQUIRE(again.set_layout(sd::StoreLayout::Plain).ok());
  REQUIRE(again.purge().ok());
  CHECK(again.list().empty());
  CHECK(!file_exists(dir + "ab/" + sd::object_file_name(data, 1)));
}
