// MetricsPage: the whole metrics page of this sheep (docs/METRICS.md), in
// the Prometheus text format: the request counters (metrics/), the
// cluster as this sheep sees it (epoch, members, recovery, VDI locks) and
// its object store (objects, bytes, space per disk).
//
// Assembly level: it reads the Sheep's parts through what they publish
// lock-free or under the short locks dog's requests take. The disks are
// scanned (a stat per object) at most once every kStoreMeasureInterval;
// pages in between repeat the last measurement.
#pragma once
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "store/object_store.h"

namespace sd {

struct Sheep;

class MetricsPage {
 public:
  static constexpr std::chrono::seconds kStoreMeasureInterval{5};

  explicit MetricsPage(Sheep& sheep) : sheep_(sheep) {}
  // Thread safe.
  std::string render();

 private:
  std::vector<ObjectStore::DiskUsage> disk_usage();

  Sheep& sheep_;
  std::mutex mu_;  // guards the measurement below
  std::chrono::steady_clock::time_point measured_at_{};
  std::vector<ObjectStore::DiskUsage> usage_;
};

}  // namespace sd
