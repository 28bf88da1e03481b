// ObjectPolicy: how many copies an object keeps, how it is coded and how
// large it is: its VDI's settings (the VdiTable) when the VDI is known,
// else the cluster's defaults. Every layer that places, sizes or checks an
// object asks here; layout() answers everything with one table lookup, for
// the paths that need several answers per request.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "erasure_code.h"
#include "group/cluster_settings.h"
#include "group/vdi_table.h"

namespace sd {

// Everything the I/O path needs to know about one object.
struct ObjectLayout {
  // Copies to keep: D+P for a strip of an erasure-coded object; else its
  // VDI's when the table knows the VDI (a client sends the count it read
  // from the inode, which ALTER_VDI_COPY may have changed since), else the
  // request's, else the cluster default (before the cap at the number of
  // zones, which the ring applies).
  int copies = 0;
  // The VDI's own count, when the table knows oid's VDI (attribute objects
  // excepted: they follow the cluster's count).
  std::optional<int> vdi_copies;
  // The D:P shape of an erasure-coded object: data objects of a VDI whose
  // copy_policy names one (the cluster's policy for a VDI the table does
  // not know). nullopt for replicated objects.
  std::optional<EcShape> shape;
  // Size of the object (data objects use their VDI's block size).
  uint64_t size = 0;

  // The byte the peers compare: the shape's copy_policy, 0 for whole copies.
  uint8_t copy_policy() const { return shape ? ec_copy_policy(*shape) : 0; }
  // Whether the object has this piece: a whole copy of a replicated
  // object, strip 0..D+P-1 of a coded one.
  bool has_piece(int piece) const {
    return shape ? piece >= 0 && piece < shape->strips() : piece == kWholeObject;
  }
  // Bytes of one piece (kWholeObject: the object; else a strip).
  uint64_t piece_size(int piece) const {
    return piece >= 0 && shape ? size / uint64_t(shape->data) : size;
  }
};

// One way objects are placed: on `copies` owners, each holding a whole
// copy, or (positional) strip i on the i-th owner.
struct PlacementKind {
  int copies = 0;
  bool positional = false;
  bool operator<(const PlacementKind& o) const {
    return copies != o.copies ? copies < o.copies : positional < o.positional;
  }
};

class ObjectPolicy {
 public:
  ObjectPolicy(const VdiTable& vdis, const SettingsSource& settings)
      : vdis_(vdis), settings_(settings) {}
  // One table lookup (and the cluster settings only when the VDI is not
  // known); `requested` is the count a request names (see copies).
  ObjectLayout layout(uint64_t oid, uint8_t requested = 0) const;

  // Single answers, each as layout() gives it.
  int copies_for(uint64_t oid, uint8_t requested = 0) const {
    return layout(oid, requested).copies;
  }
  std::optional<int> vdi_copies(uint64_t oid) const { return layout(oid).vdi_copies; }
  uint64_t object_size_of(uint64_t oid) const { return layout(oid).size; }
  std::optional<EcShape> ec_shape(uint64_t oid) const { return layout(oid).shape; }
  uint64_t piece_size(uint64_t oid, int piece) const { return layout(oid).piece_size(piece); }
  // Every placement some object of a known VDI, or one the cluster's
  // settings describe, can have (objects of VDIs the table does not know
  // follow the cluster's settings). Sorted, no duplicates.
  std::vector<PlacementKind> kinds_in_use() const;

 private:
  const VdiTable& vdis_;
  const SettingsSource& settings_;
};

}  // namespace sd
