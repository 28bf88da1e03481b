// Erasure coding of data objects, bit for bit as upstream Sheepdog stores
// them (docs/PROTOCOL.md §6.5): the `copy_policy` byte that names a D:P
// shape, the cut of an object into strips, and the systematic
// Reed-Solomon code over GF(2^8) (polynomial 0x11D) whose generator is the
// Vandermonde construction upstream took from zfec, computed with Intel
// ISA-L.
//
// An object is a run of 512-byte stripes. Stripe s is cut into D chunks of
// 512/D bytes; strip i (0 ≤ i < D) is chunk i of every stripe, in stripe
// order, and strips D..D+P-1 are the parity computed column by column
// from them. Each strip is object_size/D bytes; strip i lives on the i-th
// of the object's D+P owners on the ring, as the file `<oid>_<i>`.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace sd {

inline constexpr uint32_t kEcStripe = 512;
// Which piece of an object a node holds or a request addresses: the whole
// object (replicated), or strip i, 0 ≤ i < D+P.
inline constexpr int kWholeObject = -1;
inline constexpr int kEcMaxStrips = 31;  // 16 data + 15 parity

struct EcShape {
  int data = 0;
  int parity = 0;
  int strips() const { return data + parity; }
  bool operator==(const EcShape&) const = default;
};

// D ∈ {2, 4, 8, 16} and 1 ≤ P ≤ 15.
bool ec_shape_valid(EcShape s);
// The copy_policy byte: D/2 in the high nibble, P in the low one; 0 means
// "replicated". nullopt for a byte that names no valid shape.
std::optional<EcShape> ec_shape_of(uint8_t copy_policy);
uint8_t ec_copy_policy(EcShape s);

class ErasureCode {
 public:
  explicit ErasureCode(EcShape shape);  // shape must be valid
  // The code of a shape, built once per process and shared (it is
  // immutable: every call below is const and thread-safe).
  static const ErasureCode& of(EcShape shape);
  EcShape shape() const { return shape_; }

  // Cuts `len` bytes of object data (whole stripes) into the D data strips
  // and computes the P parity strips: strips[i] receives len/D bytes, for
  // every i < D+P.
  void encode(const uint8_t* data, size_t len, uint8_t* const* strips) const;
  // The object bytes again from the D data strips of strip_len bytes each.
  void join(const uint8_t* const* data_strips, size_t strip_len, uint8_t* out) const;
  // Fills every strip i with want[i] != nullptr from those present
  // (have[i] != nullptr), strip_len bytes each, whichever they are. False,
  // touching nothing, when fewer than D are present.
  bool reconstruct(const uint8_t* const* have, uint8_t* const* want, size_t strip_len) const;

 private:
  EcShape shape_;
  std::vector<uint8_t> matrix_;         // (D+P) × D, the top D rows the identity
  std::vector<uint8_t> parity_tables_;  // ISA-L's tables for the bottom P rows
};

}  // namespace sd
