// Copies and sizes of objects.
#include "group/object_policy.h"

#include "oid.h"
#include "proto/inode.h"

namespace sd {

std::optional<int> ObjectPolicy::vdi_copies(uint64_t oid) const {
  if (is_vdi_attr_obj(oid)) return std::nullopt;
  auto info = vdis_.get(oid_to_vid(oid));
  if (info && info->copies) return int(info->copies);
  return std::nullopt;
}

int ObjectPolicy::copies_for(uint64_t oid, uint8_t requested) const {
  // A coded object has exactly D+P owners, whatever a request says.
  if (auto shape = ec_shape(oid)) return shape->strips();
  if (auto own = vdi_copies(oid)) return *own;
  if (requested) return requested;
  int c = settings_.settings().copies;
  return c ? c : kDefaultCopies;
}

uint64_t ObjectPolicy::object_size_of(uint64_t oid) const {
  uint8_t shift = 0;
  if (is_data_obj(oid) || is_vmstate_obj(oid)) {
    auto info = vdis_.get(oid_to_vid(oid));
    shift = info ? info->block_size_shift : settings_.settings().block_size_shift;
  }
  return object_size(oid, shift);
}

std::optional<EcShape> ObjectPolicy::ec_shape(uint64_t oid) const {
  if (!is_data_obj(oid)) return std::nullopt;
  auto info = vdis_.get(oid_to_vid(oid));
  uint8_t policy = info ? info->copy_policy : settings_.settings().copy_policy;
  if (!policy) return std::nullopt;
  return ec_shape_of(policy);
}

uint64_t ObjectPolicy::piece_size(uint64_t oid, int piece) const {
  uint64_t size = object_size_of(oid);
  if (piece < 0) return size;
  auto shape = ec_shape(oid);
  return shape ? size / uint64_t(shape->data) : size;
}

}  // namespace sd
