// cluster_key.h: key files and the HMAC-SHA256 proofs (values checked
// against Python's hmac module).
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <unistd.h>
#include <string>

#include "cluster_key.h"

namespace {

std::string hex(const sd::AuthMac& m) {
  std::string s;
  char b[3];
  for (uint8_t c : m) {
    std::snprintf(b, sizeof(b), "%02x", c);
    s += b;
  }
  return s;
}

}  // namespace

TEST_CASE("ClusterKey: proofs are HMAC-SHA256 over the label and both nonces") {
  auto key = sd::ClusterKey::from_bytes("0123456789abcdef");
  char id[18] = {};
  CHECK(hex(key.message_mac("sheepdog cluster record", id, sizeof(id))) ==
        "e61812b6ca715ad1ee33561124af5cd6c31b0d636e5917df9addc219ea3fdd75");
  sd::AuthNonce server, client;
  server.fill(1);
  client.fill(2);
  CHECK(hex(key.client_proof(server, client)) ==
        "40918d5d40bbeb73e5701033ef6c06b4fcc0469566d5681f0e01384208c16cc8");
  // The server's answer is another value, and another key gives others.
  CHECK_FALSE(sd::same_mac(key.server_proof(server, client), key.client_proof(server, client)));
  auto other = sd::ClusterKey::from_bytes("0123456789abcdeX");
  CHECK_FALSE(sd::same_mac(other.client_proof(server, client), key.client_proof(server, client)));
  CHECK(sd::same_mac(key.client_proof(server, client), key.client_proof(server, client)));
}

TEST_CASE("ClusterKey: key files") {
  std::string path = "/tmp/sd_unit_key_" + std::to_string(::getpid());
  sd::ClusterKey k;
  std::string why;
  CHECK_FALSE(sd::ClusterKey::load(path, &k, &why));
  CHECK(why == "No such file or directory");
  std::ofstream(path) << "short\n";
  CHECK_FALSE(sd::ClusterKey::load(path, &k, &why));
  CHECK(why.find("at least 16 bytes") != std::string::npos);
  std::ofstream(path) << "0123456789abcdef\n\n";
  REQUIRE(sd::ClusterKey::load(path, &k, &why));
  // Trailing new lines are not part of the key.
  sd::AuthNonce n{};
  CHECK(sd::same_mac(k.client_proof(n, n),
                     sd::ClusterKey::from_bytes("0123456789abcdef").client_proof(n, n)));
  // A key file of exactly 4096 bytes is read; one byte more is refused, and
  // so is a device that never ends (read until memory ran out before).
  std::ofstream(path) << std::string(sd::kMaxKeyFileLen, 'k');
  CHECK(sd::ClusterKey::load(path, &k, &why));
  std::ofstream(path) << std::string(sd::kMaxKeyFileLen + 1, 'k');
  CHECK_FALSE(sd::ClusterKey::load(path, &k, &why));
  CHECK(why.find("at most 4096 bytes") != std::string::npos);
  CHECK_FALSE(sd::ClusterKey::load("/dev/zero", &k, &why));
  CHECK(why.find("at most 4096 bytes") != std::string::npos);
  std::remove(path.c_str());
  sd::AuthNonce a{}, b{};
  REQUIRE(sd::random_nonce(&a));
  REQUIRE(sd::random_nonce(&b));
  CHECK(a != b);
}

TEST_CASE("ClusterKey: ZooKeeper's digest credentials and ACL id (values from Python)") {
  auto key = sd::ClusterKey::from_bytes("0123456789abcdef");
  // user:password, the password being the hex of an HMAC under the key...
  CHECK(key.zookeeper_credentials() ==
        "sheepdog:ecb79464e94154346012014d122841986f44f7c818a0befb1bd6913991834b6d");
  // ...and the ACL id ZooKeeper's digest scheme derives from it:
  // user:base64(SHA-1(user:password)).
  CHECK(key.zookeeper_acl_id() == "sheepdog:DpaZh4R8x2WqCQPYn3JX/Z+DA8c=");
  CHECK(sd::ClusterKey::from_bytes("0123456789abcdeX").zookeeper_acl_id() != key.zookeeper_acl_id());
}
