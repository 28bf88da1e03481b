// The erasure code against strips written by upstream Sheepdog's own
// daemon (4:2, 2:1 and 8:4 clusters given the same 4 MiB object; the MD5
// of each strip file `<oid>_<i>` it stored), and reconstruction from every
// choice of lost strips.
#include <doctest/doctest.h>
#include <openssl/evp.h>

#include <cstdio>
#include <string>
#include <vector>

#include "erasure_code.h"

namespace {

constexpr size_t kObject = 4 << 20;

// The object upstream was given: a 32-bit LCG from 1, byte (x >> 16).
std::vector<uint8_t> pattern(size_t keep = kObject) {
  std::vector<uint8_t> v(kObject, 0);
  uint32_t x = 1;
  for (size_t i = 0; i < keep; i++) {
    x = x * 1103515245u + 12345u;
    v[i] = uint8_t(x >> 16);
  }
  return v;
}

std::string md5(const uint8_t* p, size_t n) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  REQUIRE(EVP_Digest(p, n, d, &len, EVP_md5(), nullptr) == 1);
  std::string hex;
  char b[3];
  for (unsigned i = 0; i < len; i++) {
    std::snprintf(b, sizeof(b), "%02x", d[i]);
    hex += b;
  }
  return hex;
}

struct Strips {
  size_t len;
  std::vector<std::vector<uint8_t>> bufs;
  std::vector<uint8_t*> ptrs;
  Strips(sd::EcShape s, size_t strip_len) : len(strip_len), bufs(size_t(s.strips())) {
    for (auto& b : bufs) {
      b.assign(strip_len, 0);
      ptrs.push_back(b.data());
    }
  }
};

std::vector<std::string> encoded_md5s(sd::EcShape shape, const std::vector<uint8_t>& data) {
  sd::ErasureCode code(shape);
  Strips st(shape, data.size() / size_t(shape.data));
  code.encode(data.data(), data.size(), st.ptrs.data());
  std::vector<std::string> out;
  for (auto& b : st.bufs) out.push_back(md5(b.data(), b.size()));
  return out;
}

}  // namespace

TEST_CASE("erasure code: copy_policy bytes") {
  CHECK(sd::ec_copy_policy({4, 2}) == 0x22);
  CHECK(sd::ec_copy_policy({8, 2}) == 0x42);
  CHECK(sd::ec_copy_policy({16, 15}) == 0x8f);
  CHECK(sd::ec_shape_of(0x22) == sd::EcShape{4, 2});
  CHECK(sd::ec_shape_of(0x11) == sd::EcShape{2, 1});
  for (uint8_t bad : {0x00, 0x20, 0x31, 0x51, 0x02, 0x90})
    CHECK_FALSE(sd::ec_shape_of(bad).has_value());
}

TEST_CASE("erasure code: strips identical to upstream's") {
  REQUIRE(md5(pattern().data(), kObject) == "694e1c704507b34f53feeaea2dff9938");
  CHECK(encoded_md5s({4, 2}, pattern()) ==
        std::vector<std::string>{"fe53041aba7ed885befaddc6a187f4a7", "525762ebade8d841058fd32290159dcf",
                                 "4b150fe074d4b812aa63013b9d34e64c", "36ae0fa583fd3d8bb2b5e8969b40ab75",
                                 "eed2f8c3ce17c7a827a901b7184d8524", "7c43f014ea58d3c8958532b391577129"});
  // 1000 bytes written into an empty object: zeros around them.
  CHECK(encoded_md5s({4, 2}, pattern(1000)) ==
        std::vector<std::string>{"8efd8154ab55cf2e2f5b50d639b1027d", "4669847f71b78dc116c74fbc5e6dac66",
                                 "043905216282b6203b96c352c531c88b", "a53698293ec77bfc00b4c9c138809fca",
                                 "5900295245f88609717f408fdae5ef6c", "5011b4e3e6e98d307fe9751b6e10b8ed"});
  CHECK(encoded_md5s({2, 1}, pattern()) ==
        std::vector<std::string>{"4a3aaa1202c13bc56afde4ad2face77f", "c494a1dc6ace2367015aefa6767cd8f3",
                                 "eaaeeaf2bac5a37852bb0f6148140517"});
  CHECK(encoded_md5s({8, 4}, pattern()) ==
        std::vector<std::string>{
            "cd9a1e7e9da89cb50f42b59bbaea6491", "c0a2321cbf9ecac80810c5c1d2fdef8c",
            "bfc629dfda30626d76fafa87de6a4e10", "a1eff6d9afff45c350d3cb5ac8439d38",
            "b5aba2722909cebb969bb9abbc4b7097", "e159f7e1fe8319c3d8caf92aa4702b54",
            "79f144d39ffa53a6b4168b3259f47ebc", "7b29f13f9fae807c6ae35c877282f797",
            "d90b88ab3f6058d85a2fe8a3b6d5d8d8", "281dc3d2f24eacdc242461e5e95080dc",
            "cac78b1e66af17c10885e484f7cbb6e9", "70cc0779b8443c49bf54bd4818fff62d"});
}

TEST_CASE("erasure code: any D strips give back the others, and the data") {
  for (sd::EcShape shape : {sd::EcShape{4, 2}, sd::EcShape{2, 1}, sd::EcShape{8, 3},
                            sd::EcShape{16, 15}, sd::EcShape{2, 15}}) {
    CAPTURE(shape.data);
    CAPTURE(shape.parity);
    const size_t len = 64 * sd::kEcStripe;  // small: every loss pattern below
    std::vector<uint8_t> data = pattern(len);
    data.resize(len);
    sd::ErasureCode code(shape);
    Strips orig(shape, len / size_t(shape.data));
    code.encode(data.data(), len, orig.ptrs.data());
    std::vector<uint8_t> joined(len);
    code.join(orig.ptrs.data(), orig.len, joined.data());
    CHECK(joined == data);
    const int n = shape.strips();
    // Lose P strips, rotating which: every strip is lost in some round.
    for (int first = 0; first < n; first++) {
      Strips got(shape, orig.len);
      std::vector<const uint8_t*> have(size_t(n), nullptr);
      std::vector<uint8_t*> want(size_t(n), nullptr);
      for (int i = 0; i < n; i++) {
        bool lost = (i - first + n) % n < shape.parity;
        if (lost) want[size_t(i)] = got.ptrs[size_t(i)];
        else have[size_t(i)] = orig.ptrs[size_t(i)];
      }
      REQUIRE(code.reconstruct(have.data(), want.data(), orig.len));
      for (int i = 0; i < n; i++)
        if (want[size_t(i)]) CHECK(got.bufs[size_t(i)] == orig.bufs[size_t(i)]);
    }
    // One strip too many lost: refused, nothing written.
    std::vector<const uint8_t*> have(size_t(n), nullptr);
    std::vector<uint8_t*> want(size_t(n), nullptr);
    Strips got(shape, orig.len);
    for (int i = 0; i < shape.data - 1; i++) have[size_t(i)] = orig.ptrs[size_t(i)];
    for (int i = shape.data - 1; i < n; i++) want[size_t(i)] = got.ptrs[size_t(i)];
    CHECK_FALSE(code.reconstruct(have.data(), want.data(), orig.len));
    CHECK(got.bufs[size_t(n - 1)] == std::vector<uint8_t>(orig.len, 0));
  }
}
