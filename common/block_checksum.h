// Block checksums of object files (docs/PROTOCOL.md §9.7): every object
// file carries, in its extended attribute `user.sd.crc`, the CRC32C of each
// block of the file, so that a byte that changed on disk under the daemon
// (a flipped bit, a torn sector, a stray write) is found when it is read.
//
// The attribute is an 8-byte header (u8 version 1, u8 block_shift, u16 0,
// u32 block count) followed by one u32 CRC32C per block, little-endian,
// and then, while a write is in progress, pairs (u32 block, u32 CRC32C):
// the sums those blocks will have once the write's bytes are in. A block
// matches its sum or its pending one, so a sheep killed between writing
// the bytes and the final sums leaves a file that still checks out.
// Blocks are 2^block_shift bytes (8 KiB, or larger for objects beyond
// 4 MiB, so that there are never more than 512 blocks and the attribute
// fits one ext4 xattr block); bytes past the end of the file count as
// zeros. The attribute moves with the file on rename, so a stale copy, a
// tmp file renamed into place and a copy moved between disks keep theirs.
//
// This module only computes, encodes and checks; the store (daemon/store)
// and the client's local reads (client/local_reader.cpp) use it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace sd {

class BlockSums {
 public:
  static constexpr const char* kXattr = "user.sd.crc";
  static constexpr uint8_t kVersion = 1;
  static constexpr uint8_t kMinShift = 13;  // 8 KiB
  // 4 MiB blocks: 512 of them cover a 2 GiB object, the largest there is.
  // A larger shift in an attribute is refused (it would make a read of a
  // few bytes read, and allocate, gigabytes).
  static constexpr uint8_t kMaxShift = 22;
  static constexpr uint32_t kMaxBlocks = 512;
  // The largest attribute: every block's sum and as many pending ones.
  static constexpr size_t kMaxSize = 8 + kMaxBlocks * 4 + kMaxBlocks * 8;
  static constexpr size_t kHeaderSize = 8;

  // Standard CRC32C (Castagnoli, reflected, inverted), as iSCSI and ext4 use.
  static uint32_t crc32c(const void* buf, size_t len);
  // The CRC32C of `len` zero bytes (cached for the usual block sizes).
  static uint32_t zeros_crc(size_t len);
  // The block shift of an object file of `size` bytes.
  static uint8_t shift_for(uint64_t size);

  BlockSums() = default;
  // The sums of a file of `size` bytes that holds only zeros.
  static BlockSums zeros(uint64_t size);
  // The sums of a file of `size` bytes holding buf at [offset, offset+len)
  // and zeros elsewhere (a new object).
  static BlockSums of(uint64_t size, const void* buf, uint32_t len, uint64_t offset);
  // nullopt when the bytes are not a well-formed attribute.
  static std::optional<BlockSums> decode(const void* data, size_t len);
  std::vector<uint8_t> encode() const;

  uint32_t block_size() const { return 1u << shift_; }
  uint8_t shift() const { return shift_; }
  uint32_t blocks() const { return uint32_t(crc_.size()); }
  // Bytes the sums cover (blocks × block size).
  uint64_t span() const { return uint64_t(crc_.size()) << shift_; }
  uint32_t crc(uint32_t block) const { return crc_[block]; }
  void set(uint32_t block, uint32_t crc) { crc_[block] = crc; }
  // Whether `crc` is block's sum, or its pending one.
  bool matches(uint32_t block, uint32_t crc) const;
  // The pending sums (see above). A write touching more than kMaxPending
  // blocks goes without (the attribute must fit one ext4 xattr block).
  static constexpr uint32_t kMaxPending = 192;
  void add_pending(uint32_t block, uint32_t crc) { pending_.push_back({block, crc}); }
  void clear_pending() { pending_.clear(); }
  // Drops the pending sums of blocks [first, last].
  void clear_pending(uint32_t first, uint32_t last);
  size_t pending() const { return pending_.size(); }

  // The whole blocks around [offset, offset+len), cut to span(): first
  // byte and length. An empty range when it lies beyond span().
  struct Range {
    uint64_t offset = 0;
    uint64_t len = 0;
  };
  Range cover(uint64_t offset, uint64_t len) const;
  // Checks whole blocks starting at block-aligned `offset`: data holds
  // `len` bytes, a multiple of the block size (as cover() gives).
  // Returns the index of the first block that does not match, or -1.
  int64_t first_bad(const void* data, uint64_t len, uint64_t offset) const;

 private:
  uint8_t shift_ = kMinShift;
  std::vector<uint32_t> crc_;
  std::vector<std::pair<uint32_t, uint32_t>> pending_;  // (block, sum)
};

}  // namespace sd
