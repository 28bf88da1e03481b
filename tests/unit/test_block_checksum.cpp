// Block checksums: the CRC and attribute format (common/block_checksum.h)
// and the store's checked reads, writes, verification and repair
// (daemon/store/checksummed_io.cpp).
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "block_checksum.h"
#include "fake_peers.h"
#include "client/requests.h"
#include "sha1.h"
#include "store/plain_store.h"

namespace {

using sdtest::TempDir;

constexpr uint64_t kOid = 0x00abcdef00000001ull;  // a data object
constexpr uint64_t kSize = 4u << 20;

// Flips one byte of a file behind the store's back, as a bad disk would.
void flip_byte(const std::string& path, uint64_t off) {
  int fd = open(path.c_str(), O_RDWR);
  REQUIRE(fd >= 0);
  unsigned char c = 0;
  REQUIRE(pread(fd, &c, 1, off_t(off)) == 1);
  c ^= 0x5a;
  REQUIRE(pwrite(fd, &c, 1, off_t(off)) == 1);
  close(fd);
}

std::vector<char> pattern(size_t n, char seed) {
  std::vector<char> v(n);
  for (size_t i = 0; i < n; i++) v[i] = char(seed + i * 7);
  return v;
}

}  // namespace

TEST_CASE("block checksums: CRC32C, block sizes and the attribute's encoding") {
  CHECK(sd::BlockSums::crc32c("123456789", 9) == 0xe3069283u);  // the standard check value
  std::vector<char> z(8192, 0);
  CHECK(sd::BlockSums::zeros_crc(8192) == sd::BlockSums::crc32c(z.data(), z.size()));
  CHECK(sd::BlockSums::shift_for(4u << 20) == 13);
  CHECK(sd::BlockSums::shift_for(8u << 20) == 14);  // never more than 512 blocks
  CHECK(sd::BlockSums::shift_for(1000) == 13);

  auto data = pattern(10000, 3);
  sd::BlockSums b = sd::BlockSums::of(kSize, data.data(), uint32_t(data.size()), 5000);
  CHECK(b.blocks() == 512);
  auto raw = b.encode();
  CHECK(raw.size() == 8 + 512 * 4);
  auto back = sd::BlockSums::decode(raw.data(), raw.size());
  REQUIRE(back);
  for (uint32_t i = 0; i < 512; i++) CHECK(back->crc(i) == b.crc(i));
  // Block 0 holds zeros then data from 5000 on.
  std::vector<char> blk(8192, 0);
  std::memcpy(blk.data() + 5000, data.data(), 8192 - 5000);
  CHECK(b.crc(0) == sd::BlockSums::crc32c(blk.data(), blk.size()));
  CHECK(b.crc(3) == sd::BlockSums::zeros_crc(8192));

  // Garbled attributes are refused, never trusted.
  raw[0] = 2;
  CHECK(!sd::BlockSums::decode(raw.data(), raw.size()));
  raw[0] = 1;
  CHECK(!sd::BlockSums::decode(raw.data(), raw.size() - 1));
  uint32_t huge = 100000;
  std::memcpy(raw.data() + 4, &huge, 4);
  CHECK(!sd::BlockSums::decode(raw.data(), raw.size()));
  CHECK(!sd::BlockSums::decode(raw.data(), 3));
  // A block shift past 4 MiB blocks is refused: a forged attribute must not
  // make a small read allocate gigabytes.
  uint32_t fine = 512;
  std::memcpy(raw.data() + 4, &fine, 4);
  raw[1] = 23;
  CHECK(!sd::BlockSums::decode(raw.data(), raw.size()));
  raw[1] = 22;
  CHECK(sd::BlockSums::decode(raw.data(), raw.size()));
  CHECK(sd::BlockSums::shift_for(uint64_t(1) << 31) == 22);

  auto c = b.cover(9000, 100);
  CHECK(c.offset == 8192);
  CHECK(c.len == 8192);
  c = b.cover(8000, 400);
  CHECK(c.offset == 0);
  CHECK(c.len == 16384);
  CHECK(b.cover(kSize, 10).len == 0);
}

TEST_CASE("store: a flipped byte is never read back, and the hook hears of it") {
  TempDir dir;
  sd::PlainStore store(dir.path + "/obj", true);
  REQUIRE(store.init().ok());
  REQUIRE(store.checksums());
  std::vector<uint64_t> corrupt;
  store.set_corruption_hook([&](uint64_t oid) { corrupt.push_back(oid); });
  auto data = pattern(kSize, 1);
  REQUIRE(store.create_and_write(kOid, kSize, data.data(), uint32_t(kSize), 0).ok());
  // Partial-block writes keep the sums in step.
  auto patch = pattern(3000, 9);
  REQUIRE(store.write(kOid, patch.data(), 3000, 10000).ok());
  std::memcpy(data.data() + 10000, patch.data(), 3000);
  std::vector<char> got(4096);
  REQUIRE(store.read(kOid, got.data(), 4096, 9000).ok());
  CHECK(std::memcmp(got.data(), data.data() + 9000, 4096) == 0);
  bool sealed = false;
  CHECK(store.verify(kOid, &sealed).ok());
  CHECK(sealed);
  CHECK(corrupt.empty());

  std::string path = dir.path + "/obj/" + sd::oid_name(kOid);
  flip_byte(path, 100000);  // block 12
  CHECK(store.read(kOid, got.data(), 4096, 98304).code() == sd::Res::Eio);
  CHECK(corrupt.size() == 1);
  CHECK(!store.read_cached(kOid, got.data(), 4096, 98304, sd::kWholeObject));
  // Other blocks still read; the disk is not failed for it.
  REQUIRE(store.read(kOid, got.data(), 4096, 0).ok());
  CHECK(!store.failed());
  CHECK(store.verify(kOid).code() == sd::Res::Eio);

  // A write into part of the bad block does not seal the bad bytes in.
  REQUIRE(store.write(kOid, patch.data(), 100, 98400).ok());
  std::memcpy(data.data() + 98400, patch.data(), 100);
  CHECK(store.read(kOid, got.data(), 100, 98400).code() == sd::Res::Eio);

  // Repair from a good copy: only the bad block is rewritten.
  auto good = data;
  good[200000] ^= 1;  // a block that is fine here differs in "good": counted, not taken
  auto r = store.repair_blocks(kOid, good.data(), kSize, sd::PlainStore::now_ms() + 1);
  REQUIRE(r.ok());
  CHECK(r->repaired == 1);
  CHECK(r->differing == 1);
  CHECK(store.verify(kOid).ok());
  std::vector<char> all(kSize);
  REQUIRE(store.read(kOid, all.data(), uint32_t(kSize), 0).ok());
  CHECK(all == data);

  // A write since the good copy was read: ask again later.
  flip_byte(path, 5);
  int64_t before = sd::PlainStore::now_ms() - 1000;
  REQUIRE(store.write(kOid, patch.data(), 10, 4000000).ok());
  CHECK(store.repair_blocks(kOid, data.data(), kSize, before).code() == sd::Res::Again);
}

TEST_CASE("store: files without checksums are served, and sealed on demand") {
  TempDir dir;
  sd::PlainStore store(dir.path + "/obj", true);
  REQUIRE(store.init().ok());
  auto data = pattern(kSize, 4);
  REQUIRE(store.create_and_write(kOid, kSize, data.data(), uint32_t(kSize), 0).ok());
  std::string path = dir.path + "/obj/" + sd::oid_name(kOid);
  REQUIRE(removexattr(path.c_str(), sd::BlockSums::kXattr) == 0);  // as an older daemon wrote it
  flip_byte(path, 77);
  std::vector<char> got(100);
  CHECK(store.read(kOid, got.data(), 100, 0).ok());  // unchecked: nothing to tell
  bool sealed = true;
  CHECK(store.verify(kOid, &sealed).ok());
  CHECK(!sealed);
  REQUIRE(store.seal(kOid).ok());
  CHECK(store.verify(kOid, &sealed).ok());
  CHECK(sealed);
  flip_byte(path, 77);
  CHECK(store.read(kOid, got.data(), 100, 0).code() == sd::Res::Eio);
  // Garbled sums: served unchecked rather than failing every read.
  REQUIRE(setxattr(path.c_str(), sd::BlockSums::kXattr, "xx", 2, 0) == 0);
  CHECK(store.read(kOid, got.data(), 100, 0).ok());
}

TEST_CASE("store: stale copies and moves keep their checksums") {
  TempDir dir;
  sd::PlainStore store(dir.path + "/obj", true);
  REQUIRE(store.init().ok());
  auto data = pattern(kSize, 5);
  REQUIRE(store.create_and_write(kOid, kSize, data.data(), uint32_t(kSize), 0).ok());
  REQUIRE(store.move_to_stale(kOid, 3).ok());
  std::vector<char> got(8192);
  REQUIRE(store.read_stale(kOid, 3, got.data(), 8192, 8192).ok());
  CHECK(std::memcmp(got.data(), data.data() + 8192, 8192) == 0);
  flip_byte(dir.path + "/obj/.stale/" + sd::oid_name(kOid) + ".3", 8200);
  CHECK(store.read_stale(kOid, 3, got.data(), 8192, 8192).code() == sd::Res::Eio);
}

TEST_CASE("store: a sheep killed between a write's bytes and its final sums leaves a readable file") {
  TempDir dir;
  sd::PlainStore store(dir.path + "/obj", true);
  REQUIRE(store.init().ok());
  auto data = pattern(kSize, 6);
  REQUIRE(store.create_and_write(kOid, kSize, data.data(), uint32_t(kSize), 0).ok());
  std::string path = dir.path + "/obj/" + sd::oid_name(kOid);
  std::vector<uint8_t> raw(sd::BlockSums::kMaxSize);
  ssize_t n = getxattr(path.c_str(), sd::BlockSums::kXattr, raw.data(), raw.size());
  REQUIRE(n > 0);
  auto before = sd::BlockSums::decode(raw.data(), size_t(n));
  REQUIRE(before);
  auto patch = pattern(8192, 11);
  REQUIRE(store.write(kOid, patch.data(), 8192, 3 * 8192).ok());
  n = getxattr(path.c_str(), sd::BlockSums::kXattr, raw.data(), raw.size());
  auto after = sd::BlockSums::decode(raw.data(), size_t(n));
  REQUIRE(after);
  CHECK(after->pending() == 0);
  CHECK(after->crc(3) != before->crc(3));

  // The state a kill leaves: the new bytes, the old sums plus the pending one.
  sd::BlockSums killed = *before;
  killed.add_pending(3, after->crc(3));
  auto enc = killed.encode();
  auto back = sd::BlockSums::decode(enc.data(), enc.size());
  REQUIRE(back);
  CHECK(back->pending() == 1);
  CHECK(back->matches(3, after->crc(3)));
  CHECK(back->matches(3, before->crc(3)));
  CHECK(!back->matches(4, after->crc(3)));
  REQUIRE(setxattr(path.c_str(), sd::BlockSums::kXattr, enc.data(), enc.size(), 0) == 0);
  std::vector<char> got(8192);
  REQUIRE(store.read(kOid, got.data(), 8192, 3 * 8192).ok());
  CHECK(std::memcmp(got.data(), patch.data(), 8192) == 0);
  // A later write elsewhere keeps block 3 readable.
  REQUIRE(store.write(kOid, patch.data(), 100, 9 * 8192 + 5).ok());
  CHECK(store.verify(kOid).ok());
  // Without the pending sum, the same bytes fail: that is what it is for.
  auto plain = before->encode();
  REQUIRE(setxattr(path.c_str(), sd::BlockSums::kXattr, plain.data(), plain.size(), 0) == 0);
  CHECK(store.read(kOid, got.data(), 8192, 3 * 8192).code() == sd::Res::Eio);
  // A pending entry naming a block past the end is refused.
  enc[enc.size() - 8] = 0xff;
  enc[enc.size() - 7] = 0xff;
  CHECK(!sd::BlockSums::decode(enc.data(), enc.size()));
}

TEST_CASE("store: sums covering less than the file (forged, or a short file sealed) never crash a read") {
  TempDir dir;
  sd::PlainStore store(dir.path + "/obj", true);
  REQUIRE(store.init().ok());
  auto data = pattern(kSize, 7);
  REQUIRE(store.create_and_write(kOid, kSize, data.data(), uint32_t(kSize), 0).ok());
  std::string path = dir.path + "/obj/" + sd::oid_name(kOid);
  // Sums of the first two blocks only.
  sd::BlockSums two = sd::BlockSums::of(16384, data.data(), 16384, 0);
  REQUIRE(two.blocks() == 2);
  auto enc = two.encode();
  REQUIRE(setxattr(path.c_str(), sd::BlockSums::kXattr, enc.data(), enc.size(), 0) == 0);
  std::vector<char> got(10000);
  REQUIRE(store.read(kOid, got.data(), 10000, 100000).ok());  // wholly past the sums
  CHECK(std::memcmp(got.data(), data.data() + 100000, 10000) == 0);
  REQUIRE(store.read(kOid, got.data(), 10000, 12000).ok());  // across their end
  CHECK(std::memcmp(got.data(), data.data() + 12000, 10000) == 0);
  // A garbled attribute is not replaced by seal().
  REQUIRE(setxattr(path.c_str(), sd::BlockSums::kXattr, "garbage", 7, 0) == 0);
  REQUIRE(store.seal(kOid).ok());
  char raw[16];
  CHECK(getxattr(path.c_str(), sd::BlockSums::kXattr, raw, sizeof(raw)) == 7);
}

TEST_CASE("store: a replacement conditioned on the copy's hash never undoes a write") {
  TempDir dir;
  sd::PlainStore store(dir.path + "/obj", true);
  REQUIRE(store.init().ok());
  auto data = pattern(kSize, 1);
  REQUIRE(store.create_and_write(kOid, kSize, data.data(), uint32_t(kSize), 0).ok());
  uint8_t was[20];
  sd::sha1(data.data(), kSize, was);
  auto other = pattern(kSize, 5);

  // Written since it was hashed: nothing replaced.
  auto patch = pattern(512, 9);
  REQUIRE(store.write(kOid, patch.data(), 512, 4096).ok());
  CHECK(store.create_and_write(kOid, kSize, other.data(), uint32_t(kSize), 0, sd::kWholeObject, was)
            .code() == sd::Res::Again);
  std::vector<char> got(512);
  REQUIRE(store.read(kOid, got.data(), 512, 4096).ok());
  CHECK(std::memcmp(got.data(), patch.data(), 512) == 0);
  // Unchanged since: replaced, with its checksums.
  std::memcpy(data.data() + 4096, patch.data(), 512);
  sd::sha1(data.data(), kSize, was);
  REQUIRE(store.create_and_write(kOid, kSize, other.data(), uint32_t(kSize), 0, sd::kWholeObject, was)
              .ok());
  std::vector<char> all(kSize);
  REQUIRE(store.read(kOid, all.data(), uint32_t(kSize), 0).ok());
  CHECK(all == other);
  CHECK(store.verify(kOid).ok());
  // No live copy: nothing to compare with.
  REQUIRE(store.remove(kOid).ok());
  CHECK(store.create_and_write(kOid, kSize, other.data(), uint32_t(kSize), 0, sd::kWholeObject, was)
            .code() == sd::Res::NoObj);
  CHECK(!store.exists(kOid));

  // Writes racing replacements of the file by an identical copy (what a
  // repair that lost no write does): every write, once acknowledged, is
  // in the live file. A write that had looked up the old file's descriptor
  // before the rename wrote into the replaced file, lost, before writes
  // looked again after one.
  // (A small file: replacements come often.)
  constexpr uint32_t kSmall = 64 << 10;
  REQUIRE(store.create_and_write(kOid, kSmall, data.data(), kSmall, 0).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> replaced{0};
  std::thread replacer([&] {
    std::vector<char> copy(kSmall);
    uint8_t h[20];
    while (!stop) {
      if (!store.read_unchecked(kOid, copy.data(), kSmall, 0).ok()) continue;
      sd::sha1(copy.data(), kSmall, h);
      if (store.create_and_write(kOid, kSmall, copy.data(), kSmall, 0, sd::kWholeObject, h).ok())
        replaced++;
    }
  });
  int lost = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (uint64_t i = 1; !lost && (i <= 20000 || replaced < 20) &&
                       std::chrono::steady_clock::now() < deadline;
       i++) {
    REQUIRE(store.write(kOid, &i, 8, 64).ok());
    uint64_t v = 0;
    REQUIRE(store.read_unchecked(kOid, &v, 8, 64).ok());
    if (v != i) lost++;
  }
  stop = true;
  replacer.join();
  CHECK(lost == 0);
  CHECK(replaced > 0);
}

TEST_CASE("store: no write lands in a file once it was set aside") {
  TempDir dir;
  sd::PlainStore store(dir.path + "/obj", true);
  REQUIRE(store.init().ok());
  constexpr uint32_t kSmall = 64 << 10;
  auto data = pattern(kSmall, 2);
  REQUIRE(store.create_and_write(kOid, kSmall, data.data(), kSmall, 0).ok());
  // Another thread sets the live file aside (as the audit does when the
  // node stops owning it) and puts a copy of it back, again and again;
  // a set-aside copy must never change after it was set aside. A write
  // that had looked up the live file before and waited for its lock
  // wrote into the copy set aside, and was acknowledged.
  std::atomic<bool> stop{false};
  std::atomic<int> moved{0}, changed{0};
  std::thread mover([&] {
    std::vector<char> copy(kSmall);
    for (uint32_t e = 1; !stop; e++) {
      if (!store.move_to_stale(kOid, e).ok()) continue;
      moved++;
      if (!store.read_stale(kOid, e, copy.data(), kSmall, 0).ok()) break;
      if (!store.create_and_write(kOid, kSmall, copy.data(), kSmall, 0).ok()) break;
      std::vector<char> again(kSmall);
      for (int look = 0; look < 50; look++) {  // writes that waited have landed by now
        if (!store.read_stale(kOid, e, again.data(), kSmall, 0).ok()) break;
        if (again != copy) {
          changed++;
          break;
        }
      }
      (void)store.remove_stale(kOid);
    }
  });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (uint64_t i = 1; (i <= 20000 || moved < 50) && std::chrono::steady_clock::now() < deadline; i++)
    (void)store.write(kOid, &i, 8, 64);  // refused (NoObj) while no file is live
  stop = true;
  mover.join();
  CHECK(changed == 0);
  CHECK(moved >= 50);
}
