// FNV-1a based hashes used for VDI ids, object placement and the vnode
// ring (docs/PROTOCOL.md §6.1). Test vectors are in tests/unit/test_hash.cpp.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sd {

inline constexpr uint64_t kFnvBasis = 0xcbf29ce484222325ull;
inline constexpr uint64_t kFnvPrime = 0x100000001b3ull;

inline constexpr uint64_t fnv1a(const void* buf, size_t len, uint64_t h) {
  const auto* p = static_cast<const unsigned char*>(buf);
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= kFnvPrime;
  }
  return h;
}

inline constexpr uint64_t fnv64(uint64_t x, uint64_t h) {
  for (int i = 0; i < 8; i++) {
    h ^= (x >> (8 * i)) & 0xff;
    h *= kFnvPrime;
  }
  return h;
}

inline constexpr uint64_t sd_hash(const void* buf, size_t len) {
  uint64_t h = fnv1a(buf, len, kFnvBasis);
  return fnv64(h, h);
}

inline constexpr uint64_t sd_hash_next(uint64_t h) { return fnv64(h, h); }

inline constexpr uint64_t sd_hash_oid(uint64_t oid) {
  uint64_t h = fnv64(oid, kFnvBasis);
  return fnv64(h, h);
}

// VDI id hash: one FNV-1a round over the name, masked to 24 bits.
inline uint32_t sd_hash_vdi(std::string_view name) {
  return uint32_t(fnv1a(name.data(), name.size(), kFnvBasis) & 0xFFFFFF);
}

}  // namespace sd
