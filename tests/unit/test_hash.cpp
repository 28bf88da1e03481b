// hash.h against the test vectors of docs/PROTOCOL.md §12; sha1.h against
// FIPS 180's.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "hash.h"
#include "oid.h"
#include "proto/node.h"
#include "sha1.h"

namespace {

sd::NodeId local_node(uint16_t port) {
  sd::NodeId nid{};
  REQUIRE(sd::parse_addr("127.0.0.1", nid.addr));
  nid.port = port;
  return nid;
}

}  // namespace

TEST_CASE("FNV-1a 64 of \"test\"") {
  CHECK(sd::fnv1a("test", 4, sd::kFnvBasis) == 0xf9e6e6ef197c2b25ull);
  CHECK(sd::fnv1a("", 0, sd::kFnvBasis) == sd::kFnvBasis);
}

TEST_CASE("sd_hash_vdi") {
  CHECK(sd::sd_hash_vdi("test") == 0x7c2b25u);
  CHECK(sd::sd_hash_vdi("") == 0x222325u);
  CHECK(sd::sd_hash_vdi("alpha") == 0xed202bu);
}

TEST_CASE("sd_hash_oid") {
  CHECK(sd::vid_to_vdi_oid(0x7c2b25) == 0x807c2b2500000000ull);
  CHECK(sd::sd_hash_oid(0x807c2b2500000000ull) == 0x8b4b18c243befa1aull);
  CHECK(sd::vid_to_data_oid(0x7c2b25, 0) == 0x007c2b2500000000ull);
  CHECK(sd::sd_hash_oid(0x007c2b2500000000ull) == 0x387358f0fb5c1275ull);
}

TEST_CASE("sd_hash_oid equals sd_hash over the little-endian oid bytes") {
  for (uint64_t oid : {0x807c2b2500000000ull, 0x007c2b2500000001ull, 0x0123456789abcdefull}) {
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = uint8_t(oid >> (8 * i));
    CHECK(sd::sd_hash(b, 8) == sd::sd_hash_oid(oid));
  }
}

TEST_CASE("node 127.0.0.1:7000: base hash and first vnodes") {
  sd::NodeId nid = local_node(7000);
  const uint8_t want_addr[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0, 0, 1};
  CHECK(std::memcmp(nid.addr, want_addr, 16) == 0);
  // The hashed bytes: 16 address bytes, then the port as 2 LE bytes.
  const auto* raw = reinterpret_cast<const uint8_t*>(&nid);
  CHECK(raw[16] == (7000 & 0xff));
  CHECK(raw[17] == (7000 >> 8));
  uint64_t h = sd::sd_hash(&nid, 18);
  CHECK(h == 0x9cb3d6dd0a4c0f9full);
  h = sd::sd_hash_next(h);
  CHECK(h == 0x3af2cba6e538cdf3ull);
  h = sd::sd_hash_next(h);
  CHECK(h == 0xfd38432fd111924bull);
  h = sd::sd_hash_next(h);
  CHECK(h == 0x2ad2bef8f506e35dull);
}

TEST_CASE("io_addr is not part of the node hash") {
  sd::NodeId a = local_node(7000), b = local_node(7000);
  REQUIRE(sd::parse_addr("10.0.0.9", b.io_addr));
  b.io_port = 7100;
  CHECK(sd::sd_hash(&a, 18) == sd::sd_hash(&b, 18));
}

TEST_CASE("default zone of 127.0.0.1") {
  sd::NodeId nid = local_node(7000);
  CHECK(sd::default_zone(nid.addr) == 0x0100007fu);
  CHECK(sd::default_zone(nid.addr) == 16777343u);
}

TEST_CASE("SHA-1 (GET_HASH's digest): FIPS 180 vectors, whole and in pieces") {
  auto hex = [](const uint8_t* d) {
    char s[41];
    for (int i = 0; i < 20; i++) std::snprintf(s + 2 * i, 3, "%02x", d[i]);
    return std::string(s);
  };
  uint8_t d[20];
  sd::sha1("abc", 3, d);
  CHECK(hex(d) == "a9993e364706816aba3e25717850c26c9cd0d89d");
  sd::sha1("", 0, d);
  CHECK(hex(d) == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  // A million 'a's, fed in uneven pieces as the store's chunks are.
  std::string a(1000000, 'a');
  sd::Sha1 h;
  for (size_t off = 0; off < a.size(); off += 777) h.update(a.data() + off, std::min<size_t>(777, a.size() - off));
  h.final(d);
  CHECK(hex(d) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}
