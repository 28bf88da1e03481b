// ClusterSettings: what `dog cluster format` chose for the whole cluster
// (copies, flags, block size, store), as every member holds it, and
// SettingsSource, what a part needs to read them.
#pragma once
#include <cstdint>

#include "proto/node.h"

namespace sd {

struct ClusterSettings {
  uint64_t ctime = 0;  // 0: not formatted
  uint16_t flags = 0;
  uint8_t copies = 0;
  uint8_t copy_policy = 0;
  uint8_t block_size_shift = 22;
  bool disable_recovery = false;
  char store[kStoreLen] = {};
};

class SettingsSource {
 public:
  virtual ~SettingsSource() = default;
  virtual ClusterSettings settings() const = 0;
};

}  // namespace sd
