// MetricsPage: the whole metrics page of this sheep (docs/METRICS.md), in
// the Prometheus text format: the request counters (metrics/), the
// cluster as this sheep sees it (epoch, members, recovery, VDI locks) and
// its object store (objects, bytes, space per disk).
//
// Assembly level: it reads the Sheep's parts through what they publish
// lock-free or under the short locks dog's requests take, so it may run on
// the endpoint's thread once the cluster group has started (main.cpp
// starts the endpoint after group.start()). A page is made at most once
// every kPageLifetime: requests in between get the same bytes
// (metrics/page_cache.h). The disks are scanned (a stat per object) at
// most once every kStoreMeasureInterval; pages in between repeat the last
// measurement.
#pragma once
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "metrics/page_cache.h"
#include "store/object_store.h"

namespace sd {

struct Sheep;

class MetricsPage {
 public:
  static constexpr std::chrono::seconds kPageLifetime{1};
  static constexpr std::chrono::seconds kStoreMeasureInterval{5};

  explicit MetricsPage(Sheep& sheep)
      : sheep_(sheep), cached_(kPageLifetime, [this] { return make(); }) {}
  // The page, made at most kPageLifetime ago. Thread safe.
  std::string render() { return cached_.get(); }

 private:
  // A new page, from the counters and state as they are now.
  std::string make();
  std::vector<ObjectStore::DiskUsage> disk_usage();

  Sheep& sheep_;
  metrics::CachedPage cached_;
  std::mutex mu_;  // guards the measurement below
  std::chrono::steady_clock::time_point measured_at_{};
  std::vector<ObjectStore::DiskUsage> usage_;
};

}  // namespace sd
