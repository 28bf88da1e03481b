// SHA-1 message digest over OpenSSL's EVP interface (sha1.h).
#include "sha1.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace sd {

Sha1::Sha1() : ctx_(EVP_MD_CTX_new()) {
  // Out of memory, or a libcrypto without SHA-1: nothing sensible to do.
  if (!ctx_ || EVP_DigestInit_ex(ctx_, EVP_sha1(), nullptr) != 1) std::abort();
}

Sha1::~Sha1() { EVP_MD_CTX_free(ctx_); }

void Sha1::update(const void* data, size_t len) {
  if (len) EVP_DigestUpdate(ctx_, data, len);
}

void Sha1::final(uint8_t digest[20]) {
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx_, digest, &n);
}

void sha1(const void* data, size_t len, uint8_t digest[20]) {
  Sha1 s;
  s.update(data, len);
  s.final(digest);
}

}  // namespace sd
