// What the scale simulation (scale_sim.cpp) and its unit test
// (tests/unit/test_scale.cpp) both build on: member number i as a node,
// and how evenly counts spread over nodes.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "proto/node.h"

namespace scale_model {

// Member number i: an address (and so a zone) of its own, 1 TiB of space.
inline sd::SdNode numbered_node(uint32_t i, int vnodes = 128) {
  sd::SdNode n{};
  char text[32];
  std::snprintf(text, sizeof(text), "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
  sd::parse_addr(text, n.nid.addr);
  n.nid.port = 7000;
  n.nr_vnodes = uint16_t(vnodes);
  n.zone = sd::default_zone(n.nid.addr);
  n.space = 1ull << 40;
  return n;
}

// The largest and smallest count and the standard deviation, each in
// percent of the mean.
struct Spread {
  double largest_pct, smallest_pct, stddev_pct;
};

template <class Count>
Spread spread_of_counts(const std::vector<Count>& v) {
  double sum = 0, sq = 0;
  for (Count c : v) sum += double(c);
  double mean = sum / double(v.size());
  for (Count c : v) sq += (double(c) - mean) * (double(c) - mean);
  return {(double(*std::max_element(v.begin(), v.end())) / mean - 1) * 100,
          (double(*std::min_element(v.begin(), v.end())) / mean - 1) * 100,
          std::sqrt(sq / double(v.size())) / mean * 100};
}

}  // namespace scale_model
