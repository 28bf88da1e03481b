// ObjectPolicy: how many copies an object keeps and how large it is: its
// VDI's settings (the VdiTable) when the VDI is known, else the cluster's
// defaults. Every layer that places, sizes or checks an object asks here.
#pragma once
#include <cstdint>
#include <optional>

#include "erasure_code.h"
#include "group/cluster_settings.h"
#include "group/vdi_table.h"

namespace sd {

class ObjectPolicy {
 public:
  ObjectPolicy(const VdiTable& vdis, const SettingsSource& settings)
      : vdis_(vdis), settings_(settings) {}
  // Copies to keep of oid: D+P for a strip of an erasure-coded object;
  // else its VDI's when the table knows the VDI (a
  // client sends the count it read from the inode, which ALTER_VDI_COPY
  // may have changed since), else the request's, else the cluster default
  // (before the cap at the number of zones, which the ring applies).
  int copies_for(uint64_t oid, uint8_t requested = 0) const;
  // The VDI's own count, when the table knows oid's VDI.
  std::optional<int> vdi_copies(uint64_t oid) const;
  // Size of the object oid names (data objects use their VDI's block size).
  uint64_t object_size_of(uint64_t oid) const;
  // The D:P shape of an erasure-coded object: data objects of a VDI whose
  // copy_policy names one (the cluster's policy for a VDI the table does
  // not know). nullopt for replicated objects.
  std::optional<EcShape> ec_shape(uint64_t oid) const;
  // Bytes of one piece of oid (kWholeObject: the object; else a strip).
  uint64_t piece_size(uint64_t oid, int piece) const;

 private:
  const VdiTable& vdis_;
  const SettingsSource& settings_;
};

}  // namespace sd
