// ClusterKey: the shared secret of a cluster (sheep --auth-key FILE, the
// same file on every node) and the challenge-response built on it.
//
// Every TCP connection to a sheep that has a key starts with two requests
// (docs/PROTOCOL.md "Authentication", ours, not upstream's):
//   AUTH_CHALLENGE (0xE2): the sheep answers a fresh 32-byte nonce S.
//   AUTH_RESPONSE  (0xE3): the client sends its nonce C and
//       HMAC-SHA256(key, "sheepdog client proof" | S | C);
//       the sheep answers HMAC-SHA256(key, "sheepdog server proof" | C | S),
//       so the client knows it talks to a holder of the key too.
// Cluster-driver records between sheep carry message_mac() over their
// bytes (docs/PROTOCOL.md "Authenticated membership").
// HMAC and randomness come from OpenSSL; comparisons are constant-time.
#pragma once
#include <array>
#include <cstdint>
#include <string>

namespace sd {

inline constexpr size_t kAuthNonceLen = 32;
inline constexpr size_t kAuthMacLen = 32;
inline constexpr size_t kMinKeyLen = 16;
inline constexpr size_t kMaxKeyFileLen = 4096;
using AuthNonce = std::array<uint8_t, kAuthNonceLen>;
using AuthMac = std::array<uint8_t, kAuthMacLen>;

class ClusterKey {
 public:
  ClusterKey() = default;
  // Reads the key file: its bytes, without trailing white space, at least
  // kMinKeyLen of them, in a file of at most kMaxKeyFileLen bytes. False
  // with *why set otherwise.
  static bool load(const std::string& path, ClusterKey* out, std::string* why);
  static ClusterKey from_bytes(std::string bytes) {
    ClusterKey k;
    k.key_ = std::move(bytes);
    return k;
  }
  bool empty() const { return key_.empty(); }

  AuthMac client_proof(const AuthNonce& server, const AuthNonce& client) const;
  AuthMac server_proof(const AuthNonce& server, const AuthNonce& client) const;
  // HMAC-SHA256(key, purpose | data): `purpose` keeps the MACs of
  // different kinds of message apart.
  AuthMac message_mac(const char* purpose, const void* data, size_t len) const;

  // ZooKeeper's digest scheme, for the cluster's znodes: the credentials
  // sheep present ("sheepdog:PASSWORD", the password derived from the key)
  // and the ACL id that admits them ("sheepdog:" base64 SHA-1 of those).
  std::string zookeeper_credentials() const;
  std::string zookeeper_acl_id() const;

 private:
  AuthMac mac(const char* label, const void* a, size_t alen, const void* b, size_t blen) const;
  std::string key_;
};

// A fresh random nonce (OpenSSL's RAND_bytes); false if none can be made.
bool random_nonce(AuthNonce* out);
// A random, unguessable, non-zero 64-bit value (VDI lock tokens).
uint64_t random_token();
// Constant-time equality.
bool same_mac(const AuthMac& a, const AuthMac& b);

}  // namespace sd
