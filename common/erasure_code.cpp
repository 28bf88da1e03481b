// The erasure code of data objects (see erasure_code.h).
#include "erasure_code.h"

#include <isa-l/erasure_code.h>

#include <atomic>
#include <cassert>
#include <cstring>
#include <mutex>

namespace sd {

bool ec_shape_valid(EcShape s) {
  bool d_ok = s.data == 2 || s.data == 4 || s.data == 8 || s.data == 16;
  return d_ok && s.parity >= 1 && s.parity <= 15;
}

std::optional<EcShape> ec_shape_of(uint8_t copy_policy) {
  EcShape s{(copy_policy >> 4) * 2, copy_policy & 0x0f};
  if (!ec_shape_valid(s)) return std::nullopt;
  return s;
}

uint8_t ec_copy_policy(EcShape s) { return uint8_t(((s.data / 2) << 4) | s.parity); }

namespace {

// Row r+1, column c of zfec's Vandermonde matrix: α^(r·c), α = 2.
uint8_t alpha_pow(unsigned n) {
  uint8_t v = 1;
  for (unsigned i = 0; i < n % 255; i++) v = gf_mul(v, 2);
  return v;
}

}  // namespace

const ErasureCode& ErasureCode::of(EcShape shape) {
  assert(ec_shape_valid(shape));
  // One slot per copy_policy byte; a code is never freed once built.
  static std::atomic<const ErasureCode*> codes[256];
  static std::mutex build_mu;
  std::atomic<const ErasureCode*>& slot = codes[ec_copy_policy(shape)];
  if (const ErasureCode* c = slot.load(std::memory_order_acquire)) return *c;
  std::lock_guard<std::mutex> lk(build_mu);
  if (const ErasureCode* c = slot.load(std::memory_order_acquire)) return *c;
  const ErasureCode* built = new ErasureCode(shape);
  slot.store(built, std::memory_order_release);
  return *built;
}

ErasureCode::ErasureCode(EcShape shape) : shape_(shape) {
  assert(ec_shape_valid(shape));
  const int d = shape.data, n = shape.strips();
  // Upstream's construction (docs/PROTOCOL.md §6.5): a Vandermonde matrix
  // with row 0 = [1, 0, ...], its bottom rows multiplied by the inverse of
  // its top D×D block, the top block then the identity.
  std::vector<uint8_t> vdm(size_t(n) * d, 0);
  vdm[0] = 1;
  for (int r = 0; r < n - 1; r++)
    for (int c = 0; c < d; c++) vdm[size_t(r + 1) * d + c] = alpha_pow(unsigned(r * c));
  std::vector<uint8_t> top(vdm.begin(), vdm.begin() + d * d), inv(size_t(d) * d);
  int rc = gf_invert_matrix(top.data(), inv.data(), d);
  assert(rc == 0);  // a Vandermonde matrix of distinct points is invertible
  (void)rc;
  matrix_.assign(size_t(n) * d, 0);
  for (int i = 0; i < d; i++) matrix_[size_t(i) * d + i] = 1;
  for (int r = d; r < n; r++)
    for (int c = 0; c < d; c++) {
      uint8_t v = 0;
      for (int k = 0; k < d; k++) v ^= gf_mul(vdm[size_t(r) * d + k], inv[size_t(k) * d + c]);
      matrix_[size_t(r) * d + c] = v;
    }
  parity_tables_.resize(size_t(32) * d * shape.parity);
  ec_init_tables(d, shape.parity, &matrix_[size_t(d) * d], parity_tables_.data());
}

void ErasureCode::encode(const uint8_t* data, size_t len, uint8_t* const* strips) const {
  assert(len % kEcStripe == 0);
  const int d = shape_.data;
  const size_t chunk = kEcStripe / size_t(d), stripes = len / kEcStripe;
  for (size_t s = 0; s < stripes; s++)
    for (int i = 0; i < d; i++)
      std::memcpy(strips[i] + s * chunk, data + s * kEcStripe + size_t(i) * chunk, chunk);
  ec_encode_data(int(len / size_t(d)), d, shape_.parity,
                 const_cast<unsigned char*>(parity_tables_.data()),
                 const_cast<unsigned char**>(strips), const_cast<unsigned char**>(strips + d));
}

void ErasureCode::join(const uint8_t* const* data_strips, size_t strip_len, uint8_t* out) const {
  const int d = shape_.data;
  const size_t chunk = kEcStripe / size_t(d);
  assert(strip_len % chunk == 0);
  for (size_t s = 0; s < strip_len / chunk; s++)
    for (int i = 0; i < d; i++)
      std::memcpy(out + s * kEcStripe + size_t(i) * chunk, data_strips[i] + s * chunk, chunk);
}

bool ErasureCode::reconstruct(const uint8_t* const* have, uint8_t* const* want,
                              size_t strip_len) const {
  const int d = shape_.data, n = shape_.strips();
  int from[kEcMaxStrips], nfrom = 0;
  for (int i = 0; i < n && nfrom < d; i++)
    if (have[i]) from[nfrom++] = i;
  if (nfrom < d) return false;
  // The strips used, as rows of the generator; their inverse maps them back
  // to the data, and row w of the generator times it gives strip w.
  std::vector<uint8_t> rows(size_t(d) * d), inv(size_t(d) * d);
  for (int k = 0; k < d; k++)
    std::memcpy(&rows[size_t(k) * d], &matrix_[size_t(from[k]) * d], size_t(d));
  if (gf_invert_matrix(rows.data(), inv.data(), d) != 0) return false;
  std::vector<uint8_t> coef;
  std::vector<unsigned char*> out;
  for (int w = 0; w < n; w++) {
    if (!want[w] || have[w]) continue;
    for (int c = 0; c < d; c++) {
      uint8_t v = 0;
      for (int k = 0; k < d; k++) v ^= gf_mul(matrix_[size_t(w) * d + k], inv[size_t(k) * d + c]);
      coef.push_back(v);
    }
    out.push_back(want[w]);
  }
  if (out.empty()) return true;
  std::vector<unsigned char*> in(static_cast<size_t>(d));
  for (int k = 0; k < d; k++) in[size_t(k)] = const_cast<unsigned char*>(have[from[k]]);
  std::vector<uint8_t> tables(size_t(32) * d * out.size());
  ec_init_tables(d, int(out.size()), coef.data(), tables.data());
  ec_encode_data(int(strip_len), d, int(out.size()), tables.data(), in.data(), out.data());
  return true;
}

}  // namespace sd
