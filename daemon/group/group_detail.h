// Helpers shared by the files of Group (group.cpp, group_join.cpp,
// group_messages.cpp); not part of its interface.
#pragma once
#include <algorithm>
#include <cinttypes>
#include <cstdint>
#include <vector>

#include "base/log.h"
#include "proto/node.h"

namespace sd::group_detail {

inline bool contains(const std::vector<SdNode>& v, const SdNode& n) {
  return std::any_of(v.begin(), v.end(), [&](const SdNode& m) { return same_node(m, n); });
}

inline void log_released(const std::vector<uint32_t>& vids, const char* why) {
  for (uint32_t vid : vids) sd_info("VDI %" PRIx32 " unlocked: %s", vid, why);
}

}  // namespace sd::group_detail
