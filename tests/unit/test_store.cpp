// The store's descriptor cache and group commit (daemon/store).
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "fake_peers.h"
#include "store/fd_cache.h"
#include "store/group_sync.h"

namespace {

std::shared_ptr<sd::ObjectFd> open_null() {
  return std::make_shared<sd::ObjectFd>(open("/dev/null", O_RDONLY | O_CLOEXEC));
}

using sdtest::TempDir;

}  // namespace

TEST_CASE("fd cache: hits, invalidation, and no caching of descriptors opened before it") {
  sd::FdCache cache(8);
  int hooks = 0;
  cache.set_hook([&] { hooks++; });
  CHECK(cache.get(1) == nullptr);
  auto fd = open_null();
  cache.put(1, fd, cache.generation());
  CHECK(cache.get(1) == fd);

  // A descriptor opened before an invalidation must not be cached after it:
  // it may name the file that was just replaced.
  uint64_t gen = cache.generation();
  auto old = open_null();
  cache.invalidate(1);
  CHECK(hooks == 1);
  CHECK(cache.get(1) == nullptr);
  cache.put(1, old, gen);
  CHECK(cache.get(1) == nullptr);
  cache.put(1, old, cache.generation());
  CHECK(cache.get(1) == old);

  cache.clear();
  CHECK(hooks == 2);
  CHECK(cache.get(1) == nullptr);
}

TEST_CASE("fd cache: stays within its capacity") {
  sd::FdCache cache(4);
  for (uint64_t oid = 0; oid < 20; oid++) cache.put(oid, open_null(), cache.generation());
  int cached = 0;
  for (uint64_t oid = 0; oid < 20; oid++) cached += cache.get(oid) != nullptr;
  CHECK(cached <= 4);
  CHECK(cache.get(19) != nullptr);  // the newest entry is always kept
}

TEST_CASE("group sync: a lone writer gets its own sync, errors reach the writer") {
  TempDir dir;
  int fd = open((dir.path + "/a").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  sd::GroupSync sync;
  for (int i = 0; i < 3; i++) {
    REQUIRE(pwrite(fd, "x", 1, i) == 1);
    CHECK(sync.sync(fd).ok());
  }
  CHECK(sync.writes() == 3);
  CHECK(sync.syncs() == 3);
  sd::GroupSync bad;
  CHECK(!bad.sync(-1).ok());  // EBADF: a failed sync fails its writer
  close(fd);
}

TEST_CASE("group sync: concurrent writers of one file all return durable, sharing syncs") {
  TempDir dir;
  constexpr int kThreads = 8, kWrites = 50;
  int fd = open((dir.path + "/shared").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  sd::GroupSync sync;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWrites; i++) {
        if (pwrite(fd, "y", 1, t * kWrites + i) != 1 || !sync.sync(fd).ok()) failures++;
      }
    });
  }
  for (auto& th : threads) th.join();
  close(fd);
  CHECK(failures == 0);
  CHECK(sync.writes() == kThreads * kWrites);
  CHECK(sync.syncs() <= sync.writes());
  CHECK(sync.syncs() > 0);
}
