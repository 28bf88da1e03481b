// Block checksums: CRC32C from ISA-L, and the attribute's encoding.
#include "block_checksum.h"

#include <isa-l/crc.h>

#include <algorithm>
#include <cstring>
#include <mutex>

namespace sd {

uint32_t BlockSums::crc32c(const void* buf, size_t len) {
  // ISA-L's iSCSI CRC takes and returns the register uninverted.
  uint32_t c = 0xffffffffu;
  const auto* p = static_cast<const unsigned char*>(buf);
  while (len) {
    int n = int(std::min<size_t>(len, 1u << 30));
    c = crc32_iscsi(const_cast<unsigned char*>(p), n, c);
    p += n;
    len -= size_t(n);
  }
  return ~c;
}

uint32_t BlockSums::zeros_crc(size_t len) {
  // Blocks are 2^13 .. 2^31 bytes: one cached value per shift.
  static std::once_flag once;
  static uint32_t cached[32];
  std::call_once(once, [] {
    std::vector<unsigned char> z(size_t(1) << 22, 0);
    for (int s = kMinShift; s <= 22; s++) cached[s] = crc32c(z.data(), size_t(1) << s);
  });
  if (len && (len & (len - 1)) == 0) {
    int s = __builtin_ctzll(len);
    if (s >= kMinShift && s <= 22) return cached[s];
  }
  std::vector<unsigned char> z(std::min<size_t>(len, size_t(1) << 22), 0);
  uint32_t c = 0xffffffffu;
  for (size_t left = len; left;) {
    size_t n = std::min(left, z.size());
    c = crc32_iscsi(z.data(), int(n), c);
    left -= n;
  }
  return ~c;
}

uint8_t BlockSums::shift_for(uint64_t size) {
  uint8_t s = kMinShift;
  while (s < kMaxShift && (size + (uint64_t(1) << s) - 1) >> s > kMaxBlocks) s++;
  return s;
}

BlockSums BlockSums::zeros(uint64_t size) {
  BlockSums b;
  b.shift_ = shift_for(size);
  uint64_t n = (size + b.block_size() - 1) >> b.shift_;
  b.crc_.assign(size_t(n), zeros_crc(b.block_size()));
  return b;
}

BlockSums BlockSums::of(uint64_t size, const void* buf, uint32_t len, uint64_t offset) {
  BlockSums b = zeros(size);
  if (!len) return b;
  const uint64_t bs = b.block_size();
  const auto* src = static_cast<const unsigned char*>(buf);
  uint64_t end = std::min<uint64_t>(offset + len, b.span());
  std::vector<unsigned char> block;
  for (uint64_t blk = offset >> b.shift_; (blk << b.shift_) < end; blk++) {
    uint64_t start = blk << b.shift_;
    if (start >= offset && start + bs <= offset + len) {
      b.crc_[blk] = crc32c(src + (start - offset), bs);  // a whole block of buf
      continue;
    }
    block.assign(bs, 0);
    uint64_t from = std::max(start, offset), to = std::min(start + bs, offset + len);
    std::memcpy(block.data() + (from - start), src + (from - offset), to - from);
    b.crc_[blk] = crc32c(block.data(), bs);
  }
  return b;
}

std::optional<BlockSums> BlockSums::decode(const void* data, size_t len) {
  if (len < kHeaderSize) return std::nullopt;
  const auto* p = static_cast<const unsigned char*>(data);
  uint32_t n;
  std::memcpy(&n, p + 4, 4);
  if (p[0] != kVersion || p[1] < kMinShift || p[1] > kMaxShift || p[2] || p[3] || n == 0 ||
      n > kMaxBlocks || len < kHeaderSize + size_t(n) * 4)
    return std::nullopt;
  size_t rest = len - kHeaderSize - size_t(n) * 4;
  if (rest % 8 || rest / 8 > kMaxBlocks) return std::nullopt;
  BlockSums b;
  b.shift_ = p[1];
  b.crc_.resize(n);
  std::memcpy(b.crc_.data(), p + kHeaderSize, size_t(n) * 4);
  const unsigned char* q = p + kHeaderSize + size_t(n) * 4;
  for (size_t i = 0; i < rest / 8; i++) {
    uint32_t blk, crc;
    std::memcpy(&blk, q + 8 * i, 4);
    std::memcpy(&crc, q + 8 * i + 4, 4);
    if (blk >= n) return std::nullopt;
    b.pending_.push_back({blk, crc});
  }
  return b;
}

std::vector<uint8_t> BlockSums::encode() const {
  std::vector<uint8_t> out(kHeaderSize + crc_.size() * 4 + pending_.size() * 8, 0);
  out[0] = kVersion;
  out[1] = shift_;
  uint32_t n = uint32_t(crc_.size());
  std::memcpy(out.data() + 4, &n, 4);
  if (n) std::memcpy(out.data() + kHeaderSize, crc_.data(), crc_.size() * 4);
  uint8_t* q = out.data() + kHeaderSize + crc_.size() * 4;
  for (const auto& [blk, crc] : pending_) {
    std::memcpy(q, &blk, 4);
    std::memcpy(q + 4, &crc, 4);
    q += 8;
  }
  return out;
}

void BlockSums::clear_pending(uint32_t first, uint32_t last) {
  std::erase_if(pending_, [&](const auto& e) { return e.first >= first && e.first <= last; });
}

bool BlockSums::matches(uint32_t block, uint32_t crc) const {
  if (crc_[block] == crc) return true;
  for (const auto& [blk, sum] : pending_)
    if (blk == block && sum == crc) return true;
  return false;
}

BlockSums::Range BlockSums::cover(uint64_t offset, uint64_t len) const {
  Range r;
  if (offset >= span() || !len) return r;
  uint64_t mask = block_size() - 1;
  r.offset = offset & ~mask;
  uint64_t end = std::min(span(), (offset + len + mask) & ~mask);
  r.len = end - r.offset;
  return r;
}

int64_t BlockSums::first_bad(const void* data, uint64_t len, uint64_t offset) const {
  const auto* p = static_cast<const unsigned char*>(data);
  const uint64_t bs = block_size();
  for (uint64_t done = 0; done + bs <= len; done += bs) {
    uint64_t blk = (offset + done) >> shift_;
    if (blk >= crc_.size()) break;
    if (!matches(uint32_t(blk), crc32c(p + done, bs))) return int64_t(blk);
  }
  return -1;
}

}  // namespace sd
