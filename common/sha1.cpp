// SHA-1 message digest over OpenSSL's EVP interface (sha1.h).
#include "sha1.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace sd {

namespace {

// Fetched once: EVP_sha1() in a DigestInit looks the digest up (under a
// lock) every time.
const EVP_MD* sha1_md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  return md;
}

}  // namespace

// Out of memory, or a libcrypto without SHA-1: nothing sensible to do, and
// a digest of garbage compared as a real one would be worse.
Sha1::Sha1() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_ || !sha1_md() || EVP_DigestInit_ex(ctx_, sha1_md(), nullptr) != 1) std::abort();
}

Sha1::~Sha1() { EVP_MD_CTX_free(ctx_); }

void Sha1::update(const void* data, size_t len) {
  if (len && EVP_DigestUpdate(ctx_, data, len) != 1) std::abort();
}

void Sha1::final(uint8_t digest[20]) {
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(ctx_, digest, &n) != 1 || n != 20) std::abort();
}

void sha1(const void* data, size_t len, uint8_t digest[20]) {
  Sha1 s;
  s.update(data, len);
  s.final(digest);
}

}  // namespace sd
