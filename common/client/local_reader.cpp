// Local reads under a sheep's read lease.
#include "client/local_reader.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <optional>
#include <vector>

#include "block_checksum.h"
#include "client/requests.h"
#include "client/sheep_client.h"
#include "net.h"
#include "proto/wire.h"

namespace sd {

LocalReader::File::~File() { close(fd); }

std::unique_ptr<LocalReader> LocalReader::open(const std::string& dir) {
  int fd = ::open((dir + "/" + kReadLeaseFile).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  // A short file would fault (SIGBUS) on access: the sheep always makes it
  // one whole page first.
  struct stat st;
  if (fstat(fd, &st) < 0 || st.st_size < off_t(kReadLeaseSize)) {
    close(fd);
    return nullptr;
  }
  void* p = mmap(nullptr, kReadLeaseSize, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  if (p == MAP_FAILED) return nullptr;
  auto* page = static_cast<ReadLeasePage*>(p);
  if (page->magic.load() != kReadLeaseMagic) {
    munmap(p, kReadLeaseSize);
    return nullptr;
  }
  return std::unique_ptr<LocalReader>(new LocalReader(dir, page));
}

LocalReader::LocalReader(std::string dir, ReadLeasePage* page)
    : dir_(std::move(dir)), page_(page) {
  // At most a quarter of the open-file limit: nbdkit needs descriptors too.
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
    max_files_ = std::max<size_t>(1, std::min<size_t>(max_files_, rl.rlim_cur / 4));
  stop_fd_ = eventfd(0, EFD_CLOEXEC);
  watcher_ = std::thread([this] { watch(); });
}

LocalReader::~LocalReader() {
  stopping_ = true;
  uint64_t one = 1;
  if (write(stop_fd_, &one, sizeof(one)) < 0) {
    // the watcher also polls stopping_ every 200 ms
  }
  watcher_.join();
  close(stop_fd_);
  munmap(page_, kReadLeaseSize);
}

void LocalReader::watch() {
  Endpoint ep;
  ep.unix_path = dir_ + "/sock";
  while (!stopping_) {
    int fd = connect_endpoint(ep);
    if (fd >= 0) {
      alive_ = true;
      // The sheep never writes to an idle connection: readable means it
      // closed it (died or stopped).
      pollfd fds[2] = {{fd, POLLIN | POLLRDHUP, 0}, {stop_fd_, POLLIN, 0}};
      while (!stopping_) {
        int n = poll(fds, 2, 200);
        if (n > 0 && fds[0].revents) break;
      }
      alive_ = false;
      close(fd);
    }
    pollfd stop{stop_fd_, POLLIN, 0};
    poll(&stop, 1, 200);  // retry connecting every 200 ms
  }
}

bool LocalReader::refresh_ring() {
  std::unique_lock<std::mutex> lk(ring_mu_, std::try_to_lock);
  if (!lk.owns_lock()) return false;  // another thread is at it
  uint64_t before = page_->members.load();
  Endpoint ep;
  ep.unix_path = dir_ + "/sock";
  auto client = SheepClient::connect(ep);
  if (!client) return false;
  auto got = get_node_list(*client);
  if (!got.ok()) return false;
  // The list belongs to membership `before` only if no other membership
  // was published around the call.
  if (page_->members.load() != before) return false;
  std::vector<SdNode> nodes = std::move(*got);
  int self = -1;
  for (size_t i = 0; i < nodes.size(); i++)
    if (std::memcmp(nodes[i].nid.addr, page_->self.addr, sizeof(page_->self.addr)) == 0 &&
        nodes[i].nid.port == page_->self.port)
      self = int(i);
  std::atomic_store(&ring_, std::shared_ptr<const Ring>(
                                std::make_shared<const Ring>(before, std::move(nodes), self)));
  return true;
}

bool LocalReader::read(uint64_t oid, int copies, void* buf, uint32_t len, uint64_t offset) {
  bool ok = try_read(oid, copies, buf, len, offset);
  (ok ? hits_ : misses_).fetch_add(1, std::memory_order_relaxed);
  return ok;
}

// The sheep's driver still vouches for its membership (proto/read_lease.h).
bool LocalReader::vouched() const {
  int64_t until = page_->until_ms.load();
  if (until == 0) return true;
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now().time_since_epoch());
  return now.count() < until;
}

bool LocalReader::try_read(uint64_t oid, int copies, void* buf, uint32_t len, uint64_t offset) {
  if (!alive_.load() || copies <= 0) return false;
  const uint64_t gen = page_->gen.load();
  if (!page_->serving.load() || !vouched()) return false;
  uint64_t members = page_->members.load();
  auto ring = std::atomic_load(&ring_);
  if (!ring || ring->version != members) {
    if (!refresh_ring()) return false;
    ring = std::atomic_load(&ring_);
    if (!ring || ring->version != members) return false;
  }
  if (ring->self < 0) return false;
  Placement p = ring->ring.place(oid, copies);
  bool mine = false;
  for (int i = 0; i < p.count; i++) mine |= p.node[i] == ring->self;
  if (!mine) return false;

  std::shared_ptr<File> file;
  {
    std::lock_guard<std::mutex> lk(files_mu_);
    if (files_gen_ != gen) {
      // Some object file may have been replaced since these were opened.
      files_.clear();
      files_gen_ = gen;
    }
    auto it = files_.find(oid);
    if (it != files_.end()) file = it->second;
  }
  if (!file) {
    char path[40];
    std::snprintf(path, sizeof(path), "/obj/%016" PRIx64, oid);
    int fd = ::open((dir_ + path).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
      // The tree store's place for a data object: obj/<VID's low byte>/.
      std::snprintf(path, sizeof(path), "/obj/%02x/%016" PRIx64, unsigned(oid >> 32) & 0xffu, oid);
      fd = ::open((dir_ + path).c_str(), O_RDONLY | O_CLOEXEC);
    }
    if (fd < 0) return false;  // not here (yet): the sheep recovers it
    file = std::make_shared<File>(fd);
    std::lock_guard<std::mutex> lk(files_mu_);
    if (files_gen_ == gen) {
      if (files_.size() >= max_files_) files_.clear();
      files_[oid] = file;
    }
  }
  // The blocks around the range, checked against the file's block
  // checksums (block_checksum.h) when it has them. A mismatch (a bad copy,
  // or a write of the sheep in the middle of the blocks) is the sheep's to
  // answer: it reads another copy and repairs this one.
  uint8_t raw[BlockSums::kMaxSize];
  ssize_t raw_len = fgetxattr(file->fd, BlockSums::kXattr, raw, sizeof(raw));
  std::optional<BlockSums> sums;
  if (raw_len > 0 && !(sums = BlockSums::decode(raw, size_t(raw_len)))) return false;
  BlockSums::Range r{offset, len};
  if (sums) r = sums->cover(offset, len);
  if (r.offset + r.len < offset + len) return false;
  thread_local std::vector<char> blocks;
  const bool direct = r.offset == offset && r.len == len;
  if (!direct && blocks.size() < r.len) blocks.resize(r.len);
  char* out = direct ? static_cast<char*>(buf) : blocks.data();
  char* at = out;
  size_t left = r.len;
  uint64_t pos = r.offset;
  while (left) {
    ssize_t n = pread(file->fd, at, left, off_t(pos));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    at += n;
    left -= size_t(n);
    pos += uint64_t(n);
  }
  if (sums && sums->first_bad(out, r.len, r.offset) >= 0) return false;
  if (!direct) std::memcpy(buf, out + (offset - r.offset), len);
  // Fresh only if nothing changed meanwhile (and the sheep is still up).
  return page_->gen.load() == gen && page_->serving.load() && vouched() && alive_.load();
}

}  // namespace sd
