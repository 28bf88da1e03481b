// HMAC-SHA256 proofs over the cluster key (OpenSSL).
#include "cluster_key.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>

namespace sd {

bool ClusterKey::load(const std::string& path, ClusterKey* out, std::string* why) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    *why = std::strerror(errno);
    return false;
  }
  // Never more than kMaxKeyFileLen + 1 bytes: a path naming /dev/zero or a
  // pipe that never ends is refused instead of read until memory runs out.
  std::string bytes(kMaxKeyFileLen + 1, '\0');
  f.read(bytes.data(), std::streamsize(bytes.size()));
  if (f.bad()) {
    *why = "read error";
    return false;
  }
  bytes.resize(size_t(f.gcount()));
  if (bytes.size() > kMaxKeyFileLen) {
    *why = "the key file must be at most " + std::to_string(kMaxKeyFileLen) + " bytes";
    return false;
  }
  while (!bytes.empty() && (bytes.back() == '\n' || bytes.back() == '\r' ||
                            bytes.back() == ' ' || bytes.back() == '\t'))
    bytes.pop_back();
  if (bytes.size() < kMinKeyLen) {
    *why = "the key must be at least " + std::to_string(kMinKeyLen) +
           " bytes (for example: head -c 32 /dev/urandom | base64 > FILE)";
    return false;
  }
  *out = from_bytes(std::move(bytes));
  return true;
}

AuthMac ClusterKey::mac(const char* label, const void* a, size_t alen, const void* b,
                        size_t blen) const {
  AuthMac out{};
  std::string msg(label);
  if (alen) msg.append(static_cast<const char*>(a), alen);
  if (blen) msg.append(static_cast<const char*>(b), blen);
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), int(key_.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out.data(), &len);
  return out;
}

AuthMac ClusterKey::client_proof(const AuthNonce& server, const AuthNonce& client) const {
  return mac("sheepdog client proof", server.data(), server.size(), client.data(), client.size());
}

AuthMac ClusterKey::server_proof(const AuthNonce& server, const AuthNonce& client) const {
  return mac("sheepdog server proof", client.data(), client.size(), server.data(), server.size());
}

AuthMac ClusterKey::message_mac(const char* purpose, const void* data, size_t len) const {
  return mac(purpose, data, len, nullptr, 0);
}

std::string ClusterKey::zookeeper_credentials() const {
  static const char kPurpose[] = "sheepdog zookeeper digest";
  AuthMac m = message_mac(kPurpose, nullptr, 0);
  static const char kHex[] = "0123456789abcdef";
  std::string password;
  for (uint8_t b : m) {
    password += kHex[b >> 4];
    password += kHex[b & 15];
  }
  return "sheepdog:" + password;
}

std::string ClusterKey::zookeeper_acl_id() const {
  std::string cred = zookeeper_credentials();
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(cred.data()), cred.size(), digest);
  unsigned char b64[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
  int n = EVP_EncodeBlock(b64, digest, SHA_DIGEST_LENGTH);
  return "sheepdog:" + std::string(reinterpret_cast<char*>(b64), size_t(n));
}

bool random_nonce(AuthNonce* out) { return RAND_bytes(out->data(), int(out->size())) == 1; }

uint64_t random_token() {
  uint64_t v = 0;
  while (v == 0) {
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof(v)) != 1) {
      std::random_device rd;
      v = (uint64_t(rd()) << 32) | rd();
    }
  }
  return v;
}

bool same_mac(const AuthMac& a, const AuthMac& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace sd
