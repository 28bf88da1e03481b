// Copies, coding and sizes of objects.
#include "group/object_policy.h"

#include <set>

#include "oid.h"
#include "proto/inode.h"

namespace sd {

ObjectLayout ObjectPolicy::layout(uint64_t oid, uint8_t requested) const {
  ObjectLayout l;
  // Attribute objects follow the cluster; everything else its VDI.
  std::optional<VdiInfo> info;
  if (!is_vdi_attr_obj(oid)) info = vdis_.get(oid_to_vid(oid));
  std::optional<ClusterSettings> cluster;
  auto settings = [&]() -> const ClusterSettings& {
    if (!cluster) cluster = settings_.settings();
    return *cluster;
  };
  if (info && info->copies) l.vdi_copies = int(info->copies);
  if (is_data_obj(oid)) {
    uint8_t policy = info ? info->copy_policy : settings().copy_policy;
    if (policy) l.shape = ec_shape_of(policy);
  }
  uint8_t shift = 0;
  if (is_data_obj(oid) || is_vmstate_obj(oid))
    shift = info ? info->block_size_shift : settings().block_size_shift;
  l.size = object_size(oid, shift);
  // A coded object has exactly D+P owners, whatever a request says.
  if (l.shape) {
    l.copies = l.shape->strips();
  } else if (l.vdi_copies) {
    l.copies = *l.vdi_copies;
  } else if (requested) {
    l.copies = requested;
  } else {
    int c = settings().copies;
    l.copies = c ? c : kDefaultCopies;
  }
  return l;
}

std::vector<PlacementKind> ObjectPolicy::kinds_in_use() const {
  std::set<PlacementKind> kinds;
  // Whole copies (inodes, attributes, replicated data) and, with a coded
  // policy, the data objects' strips.
  auto add = [&](int copies, uint8_t policy) {
    kinds.insert({copies ? copies : kDefaultCopies, false});
    if (auto shape = policy ? ec_shape_of(policy) : std::nullopt)
      kinds.insert({shape->strips(), true});
  };
  ClusterSettings cluster = settings_.settings();
  add(cluster.copies, cluster.copy_policy);
  for (const auto& [vid, info] : vdis_.all()) add(info.copies ? info.copies : cluster.copies,
                                                   info.copy_policy);
  return {kinds.begin(), kinds.end()};
}

}  // namespace sd
