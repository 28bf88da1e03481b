// SHA-1 (FIPS 180-4), used for object digests (GET_HASH, dog vdi check).
// Not for security: upstream compares replicas with it, so we must too.
#pragma once
#include <cstddef>
#include <cstdint>

namespace sd {

class Sha1 {
 public:
  Sha1();
  void update(const void* data, size_t len);
  void final(uint8_t digest[20]);

 private:
  void block(const uint8_t* p);
  uint32_t h_[5];
  uint8_t buf_[64];
  size_t buf_len_ = 0;
  uint64_t total_ = 0;
};

void sha1(const void* data, size_t len, uint8_t digest[20]);

}  // namespace sd
