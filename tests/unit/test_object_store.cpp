// ObjectStore: objects over several disks (daemon/store/object_store.h):
// spread by capacity, moved when disks are plugged and unplugged, found
// when misplaced, and a failed disk dropped.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/file_util.h"
#include "fake_peers.h"
#include "client/requests.h"
#include "oid.h"
#include "store/object_store.h"

namespace {

using sdtest::TempDir;

// Called from the request's thread or the rebalancer's, whichever drops
// the disk first.
struct Listener : sd::DiskListener {
  std::atomic<int> lost{0};
  std::atomic<int> all_failed{0};
  void on_objects_lost() override { lost++; }
  void on_all_disks_failed(const std::string&) override { all_failed++; }
};

void set_capacity(const std::string& dir, uint64_t bytes) {
  sd::make_dirs(dir, 0700);
  REQUIRE(setxattr(dir.c_str(), "user.md.size", &bytes, sizeof(bytes), 0) == 0);
}

bool has_file(const std::string& dir, uint64_t oid) {
  return access((dir + "/" + sd::oid_name(oid)).c_str(), F_OK) == 0;
}

bool eventually(const std::function<bool()>& cond) {
  for (int i = 0; i < 500; i++) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

bool wait_settled(sd::ObjectStore& s) {
  for (int i = 0; i < 500; i++) {
    if (s.settled()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

constexpr uint32_t kObj = 4096;

std::vector<char> content(uint64_t oid, char salt = 0) {
  std::vector<char> b(kObj);
  for (size_t i = 0; i < b.size(); i++) b[i] = char(oid * 31 + i + salt);
  return b;
}

uint64_t oid_of(uint32_t i) { return sd::vid_to_data_oid(0x1234, i); }

// Objects 0..n-1, each with its own content.
void fill(sd::ObjectStore& s, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    auto c = content(oid_of(i));
    REQUIRE(s.create_and_write(oid_of(i), kObj, c.data(), kObj, 0).ok());
  }
}

// Which disk holds each object (exactly one, or the test fails).
std::map<uint64_t, int> where(const std::vector<std::string>& disks, uint32_t n) {
  std::map<uint64_t, int> out;
  for (uint32_t i = 0; i < n; i++) {
    int found = -1, count = 0;
    for (size_t d = 0; d < disks.size(); d++)
      if (has_file(disks[d], oid_of(i))) {
        found = int(d);
        count++;
      }
    CHECK(count == 1);
    out[oid_of(i)] = found;
  }
  return out;
}

}  // namespace

TEST_CASE("object store: objects spread by capacity, move on unplug and plug, stay on restart") {
  TempDir t;
  std::string a = t.path + "/a", b = t.path + "/b";
  set_capacity(a, 4ull << 30);
  set_capacity(b, 12ull << 30);
  constexpr uint32_t kN = 2000;
  std::map<uint64_t, int> first;
  {
    sd::ObjectStore s(t.path, {a, b}, true);
    REQUIRE(s.init().ok());
    CHECK(s.capacity() == (16ull << 30));
    fill(s, kN);
    first = where({a, b}, kN);
    size_t on_b = 0;
    for (auto& [oid, d] : first) on_b += d == 1;
    // 3/4 expected on b: 1500. b's share of the ring (768 of 1024 vdisks)
    // varies by about 0.014 with the hashes of the paths (28 objects), the
    // count by 19 more: ±150 is over 4 sigma.
    CHECK(on_b > 1350);
    CHECK(on_b < 1650);
    CHECK(s.list().size() == kN);

    // Unplug b: everything moves to a, nothing changes.
    CHECK(s.unplug(b) == sd::Res::Success);
    REQUIRE(wait_settled(s));
    for (uint32_t i = 0; i < kN; i++) {
      CHECK(has_file(a, oid_of(i)));
      CHECK_FALSE(has_file(b, oid_of(i)));
      std::vector<char> got(kObj);
      REQUIRE(s.read(oid_of(i), got.data(), kObj, 0).ok());
      CHECK(got == content(oid_of(i)));
    }
    CHECK(s.disk_info().size() == 1);
    CHECK(s.unplug(b) == sd::Res::InvalidParms);  // not a disk any more

    // Plug it back: the same ring, so the same placement as before.
    CHECK(s.plug(b) == sd::Res::Success);
    CHECK(s.plug(b) == sd::Res::InvalidParms);  // already in use
    REQUIRE(wait_settled(s));
    CHECK(where({a, b}, kN) == first);
  }
  // A restart finds every object where it was.
  sd::ObjectStore again(t.path, {a, b}, true);
  REQUIRE(again.init().ok());
  REQUIRE(wait_settled(again));
  CHECK(where({a, b}, kN) == first);
  std::vector<char> got(kObj);
  REQUIRE(again.read(oid_of(7), got.data(), kObj, 0).ok());
  CHECK(got == content(oid_of(7)));
}

TEST_CASE("object store: a misplaced object is found and moved home; the copy at home wins") {
  TempDir t;
  std::string a = t.path + "/a", b = t.path + "/b";
  set_capacity(a, 1ull << 30);
  set_capacity(b, 1ull << 30);
  std::map<uint64_t, int> home;
  {
    sd::ObjectStore s(t.path, {a, b}, true);
    REQUIRE(s.init().ok());
    fill(s, 64);
    home = where({a, b}, 64);
  }
  const std::string disks[2] = {a, b};
  // Object 0 put on the wrong disk (a crash in the middle of a move);
  // object 1 on both, the copy away from home being older.
  uint64_t o0 = oid_of(0), o1 = oid_of(1);
  std::string h0 = disks[home[o0]], w0 = disks[1 - home[o0]];
  REQUIRE(rename((h0 + "/" + sd::oid_name(o0)).c_str(), (w0 + "/" + sd::oid_name(o0)).c_str()) == 0);
  std::string h1 = disks[home[o1]], w1 = disks[1 - home[o1]];
  auto old1 = content(o1, 5);
  REQUIRE(sd::write_file_atomic(w1 + "/" + sd::oid_name(o1), old1.data(), old1.size()).ok());

  sd::ObjectStore s(t.path, {a, b}, true);
  REQUIRE(s.init().ok());
  std::vector<char> got(kObj);
  REQUIRE(s.read(o0, got.data(), kObj, 0).ok());
  CHECK(got == content(o0));
  REQUIRE(wait_settled(s));
  CHECK(has_file(h0, o0));
  CHECK_FALSE(has_file(w0, o0));
  CHECK(has_file(h1, o1));
  CHECK_FALSE(has_file(w1, o1));
  REQUIRE(s.read(o1, got.data(), kObj, 0).ok());
  CHECK(got == content(o1));
}

TEST_CASE("object store: a disk given again after it left is purged") {
  TempDir t;
  std::string a = t.path + "/a", b = t.path + "/b";
  set_capacity(a, 1ull << 30);
  set_capacity(b, 1ull << 30);
  {
    sd::ObjectStore s(t.path, {a, b}, true);
    REQUIRE(s.init().ok());
    fill(s, 32);
  }
  std::set<uint64_t> on_b;
  for (uint32_t i = 0; i < 32; i++)
    if (has_file(b, oid_of(i))) on_b.insert(oid_of(i));
  REQUIRE(!on_b.empty());
  {
    // A restart without b: its objects are missing (recovered elsewhere).
    sd::ObjectStore s(t.path, {a}, true);
    REQUIRE(s.init().ok());
    REQUIRE(wait_settled(s));
    for (uint64_t oid : on_b) CHECK_FALSE(s.exists(oid));
  }
  // b comes back with what are now old copies: purged, not believed.
  sd::ObjectStore s(t.path, {a, b}, true);
  REQUIRE(s.init().ok());
  REQUIRE(wait_settled(s));
  for (uint64_t oid : on_b) {
    CHECK_FALSE(has_file(b, oid));
    CHECK_FALSE(s.exists(oid));
  }
}

TEST_CASE("object store: plug refuses a directory holding other files, and relative paths") {
  TempDir t;
  std::string a = t.path + "/a", x = t.path + "/x";
  set_capacity(a, 1ull << 30);
  sd::make_dirs(x, 0755);
  REQUIRE(sd::write_file_atomic(x + "/precious", "data", 4).ok());
  sd::ObjectStore s(t.path, {a}, true);
  REQUIRE(s.init().ok());
  CHECK(s.plug(x) == sd::Res::InvalidParms);
  CHECK(access((x + "/precious").c_str(), F_OK) == 0);
  struct stat st;
  REQUIRE(stat(x.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0755);  // not tightened either: untouched
  CHECK(s.plug("relative/dir") == sd::Res::InvalidParms);
  CHECK(s.plug(t.path + "/a/../x") == sd::Res::InvalidParms);
  CHECK(s.plug(t.path + "/new\nline") == sd::Res::InvalidParms);
  // The disk in use under other names, a directory inside it or around
  // it, the meta directory: all would purge or share what is in use.
  std::string alias = t.path + "/alias";
  REQUIRE(symlink(a.c_str(), alias.c_str()) == 0);
  CHECK(s.plug(a + "/.") == sd::Res::InvalidParms);
  CHECK(s.plug(t.path + "//a") == sd::Res::InvalidParms);
  CHECK(s.plug(alias) == sd::Res::InvalidParms);
  CHECK(s.plug(a + "/sub") == sd::Res::InvalidParms);
  CHECK(s.plug(t.path) == sd::Res::InvalidParms);
  CHECK(s.plug(t.path + "/obj") == sd::Res::InvalidParms);
  CHECK(s.disk_info().size() == 1);
}

TEST_CASE("object store: a disk still draining at a restart is drained, not purged") {
  TempDir t;
  std::string a = t.path + "/a", b = t.path + "/b";
  set_capacity(a, 1ull << 30);
  set_capacity(b, 1ull << 30);
  {
    sd::ObjectStore s(t.path, {a, b}, true);
    REQUIRE(s.init().ok());
    fill(s, 64);
  }
  // As if the sheep died right after `md unplug b`.
  auto rec = sd::read_file(t.path + "/obj/.md_disks");
  REQUIRE(rec.ok());
  std::string text(rec->begin(), rec->end());
  size_t at = text.find("disk " + b + "\n");
  REQUIRE(at != std::string::npos);
  text.replace(at, 5, "draining ");
  REQUIRE(sd::write_file_atomic(t.path + "/obj/.md_disks", text.data(), text.size()).ok());
  sd::ObjectStore s(t.path, {a, b}, true);
  REQUIRE(s.init().ok());
  REQUIRE(wait_settled(s));
  for (uint32_t i = 0; i < 64; i++) {
    CHECK(has_file(a, oid_of(i)));
    std::vector<char> got(kObj);
    REQUIRE(s.read(oid_of(i), got.data(), kObj, 0).ok());
    CHECK(got == content(oid_of(i)));
  }
  CHECK(s.disk_info().size() == 1);
  // Plugging it back while nothing is on it: in use again.
  CHECK(s.plug(b) == sd::Res::Success);
  REQUIRE(wait_settled(s));
  CHECK(s.disk_info().size() == 2);
}

TEST_CASE("object store: a failed disk is dropped, the request runs on the new disk, the last "
          "one fails the store") {
  TempDir t;
  std::string a = t.path + "/a", b = t.path + "/b";
  set_capacity(a, 1ull << 30);
  set_capacity(b, 1ull << 30);
  Listener l;
  sd::ObjectStore s(t.path, {a, b}, true);
  s.set_listener(&l);
  REQUIRE(s.init().ok());
  REQUIRE(wait_settled(s));
  fill(s, 64);
  auto home = where({a, b}, 64);
  uint64_t on_b = 0, on_a = 0;
  for (auto& [oid, d] : home) (d ? on_b : on_a) = oid;
  REQUIRE(on_a);
  REQUIRE(on_b);
  // b's directory is taken away (a filesystem unmounted from under it).
  REQUIRE(rename(b.c_str(), (t.path + "/b-gone").c_str()) == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // past the 100 ms dir check
  auto c = content(on_b);
  // The write meets the failure, b is dropped, and it runs again on a,
  // where the object is missing (recovery fetches it from other nodes).
  CHECK(s.write(on_b, c.data(), kObj, 0).code() == sd::Res::NoObj);
  CHECK(eventually([&] { return l.lost == 1; }));
  CHECK(l.all_failed == 0);
  CHECK_FALSE(s.failed());
  REQUIRE(s.failed_disks().size() == 1);
  CHECK(s.failed_disks()[0].path == b);
  CHECK(s.failed_disks()[0].why.find("gone") != std::string::npos);
  CHECK(s.disk_info().size() == 1);
  std::vector<char> got(kObj);
  REQUIRE(s.read(on_a, got.data(), kObj, 0).ok());
  CHECK(got == content(on_a));
  REQUIRE(s.create_and_write(on_b, kObj, c.data(), kObj, 0).ok());  // recovered onto a
  CHECK(has_file(a, on_b));

  REQUIRE(rename(a.c_str(), (t.path + "/a-gone").c_str()) == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  CHECK_FALSE(s.write(on_a, c.data(), kObj, 0).ok());
  CHECK(eventually([&] { return l.all_failed == 1; }));
  CHECK(s.failed());
}

TEST_CASE("object store: removing an object while objects move removes every copy") {
  TempDir t;
  std::string a = t.path + "/a", b = t.path + "/b";
  set_capacity(a, 1ull << 30);
  set_capacity(b, 1ull << 30);
  {
    sd::ObjectStore s(t.path, {a, b}, true);
    REQUIRE(s.init().ok());
    fill(s, 16);
  }
  // Both disks hold object 3 (a move cut short).
  uint64_t o = oid_of(3);
  std::string src = has_file(a, o) ? a : b, other = src == a ? b : a;
  auto c = content(o);
  REQUIRE(sd::write_file_atomic(other + "/" + sd::oid_name(o), c.data(), c.size()).ok());
  sd::ObjectStore s(t.path, {a, b}, true);
  REQUIRE(s.init().ok());
  CHECK(s.remove(o).ok());
  REQUIRE(wait_settled(s));
  CHECK_FALSE(has_file(a, o));
  CHECK_FALSE(has_file(b, o));
  CHECK_FALSE(s.exists(o));
}
