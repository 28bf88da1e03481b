// SHA-1 (FIPS 180-4), used for object digests (GET_HASH, dog vdi check,
// the scrubber's comparison of copies). Not for security: upstream
// compares replicas with it, so we must too. Computed by OpenSSL's
// libcrypto (already linked for the cluster key's HMAC), which uses the
// CPU's SHA extensions where there are: a 4 MiB object hashes several
// times faster than a portable loop.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

struct evp_md_ctx_st;

namespace sd {

class Sha1 {
 public:
  Sha1();
  ~Sha1();
  Sha1(const Sha1&) = delete;
  Sha1& operator=(const Sha1&) = delete;
  void update(const void* data, size_t len);
  void final(uint8_t digest[20]);

 private:
  evp_md_ctx_st* ctx_;
};

void sha1(const void* data, size_t len, uint8_t digest[20]);

}  // namespace sd
