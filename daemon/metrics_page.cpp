// The metrics page: request families, then cluster and store gauges.
#include "metrics_page.h"

#include "metrics/exposition.h"
#include "sheep.h"

namespace sd {

using metrics::Kind;

std::vector<ObjectStore::DiskUsage> MetricsPage::disk_usage() {
  // One scan at a time; a page asked for while one runs waits for it and
  // then uses its result.
  std::lock_guard<std::mutex> lk(mu_);
  auto now = std::chrono::steady_clock::now();
  if (measured_at_ == std::chrono::steady_clock::time_point{} ||
      now - measured_at_ >= kStoreMeasureInterval) {
    usage_ = sheep_.store.usage();
    measured_at_ = std::chrono::steady_clock::now();
  }
  return usage_;
}

std::string MetricsPage::make() {
  metrics::TextExposition page;
  page.family("sheepdog_build_info", Kind::Gauge, "Always 1; the version of this sheep.");
  page.sample("sheepdog_build_info", {{"version", SD_VERSION}}, uint64_t(1));

  sheep_.metrics.render(page);

  MembershipPtr m = sheep_.group.membership();
  page.family("sheepdog_epoch", Kind::Gauge, "The cluster's epoch as this sheep sees it.");
  page.sample("sheepdog_epoch", {}, uint64_t(m->epoch));
  page.family("sheepdog_cluster_members", Kind::Gauge, "Sheep in the current epoch.");
  page.sample("sheepdog_cluster_members", {}, uint64_t(m->nodes.size()));
  page.family("sheepdog_cluster_running", Kind::Gauge,
              "1 when the cluster is formatted and serving I/O here, else 0.");
  page.sample("sheepdog_cluster_running", {}, uint64_t(sheep_.group.running()));
  page.family("sheepdog_vdi_locks", Kind::Gauge, "Locked VDIs in the cluster's lock table.");
  page.sample("sheepdog_vdi_locks", {}, uint64_t(sheep_.locks.count()));

  RecoveryState rs = sheep_.recovery_state();
  page.family("sheepdog_recovery_in_progress", Kind::Gauge,
              "1 while this sheep recovers objects (after an epoch change, or moving them "
              "between its disks), else 0.");
  page.sample("sheepdog_recovery_in_progress", {}, uint64_t(rs.in_recovery ? 1 : 0));
  page.family("sheepdog_recovery_done_objects", Kind::Gauge,
              "Objects the current recovery has done.");
  page.sample("sheepdog_recovery_done_objects", {}, rs.in_recovery ? rs.nr_finished : 0);
  page.family("sheepdog_recovery_planned_objects", Kind::Gauge,
              "Objects the current recovery has to do in all.");
  page.sample("sheepdog_recovery_planned_objects", {}, rs.in_recovery ? rs.nr_total : 0);

  ScrubStatus scrub = sheep_.scrubber.status();
  page.family("sheepdog_scrub_running", Kind::Gauge, "1 while a scrub pass runs here, else 0.");
  page.sample("sheepdog_scrub_running", {}, uint64_t(scrub.running));
  page.family("sheepdog_scrub_passes_total", Kind::Counter, "Scrub passes finished here.");
  page.sample("sheepdog_scrub_passes_total", {}, scrub.passes);
  page.family("sheepdog_scrub_checked_objects", Kind::Gauge,
              "Objects the current (or last) scrub pass has checked.");
  page.sample("sheepdog_scrub_checked_objects", {}, scrub.checked);
  page.family("sheepdog_bad_copies_found_total", Kind::Counter,
              "Copies here found not to match their block checksums or the majority (reads and scrubs).");
  page.sample("sheepdog_bad_copies_found_total", {}, scrub.found);
  page.family("sheepdog_bad_copies_repaired_total", Kind::Counter, "Of them, repaired.");
  page.sample("sheepdog_bad_copies_repaired_total", {}, scrub.repaired);
  page.family("sheepdog_bad_copies_unrepaired_total", Kind::Counter,
              "Of them, not repairable (no good copy, no majority).");
  page.sample("sheepdog_bad_copies_unrepaired_total", {}, scrub.unrepaired);

  std::vector<ObjectStore::DiskUsage> disks = disk_usage();
  uint64_t objects = 0, bytes = 0;
  for (const auto& d : disks) {
    objects += d.objects;
    bytes += d.used;
  }
  page.family("sheepdog_store_objects", Kind::Gauge,
              "Objects in this sheep's store (each erasure-code strip counts as one).");
  page.sample("sheepdog_store_objects", {}, objects);
  page.family("sheepdog_store_bytes", Kind::Gauge, "Bytes the objects of this sheep's store take on disk.");
  page.sample("sheepdog_store_bytes", {}, bytes);
  struct DiskFamily {
    const char* name;
    const char* help;
    uint64_t ObjectStore::DiskUsage::*field;
  };
  const DiskFamily kDiskFamilies[] = {
      {"sheepdog_disk_capacity_bytes", "Capacity of a disk of the object store, as the ring weighs it.",
       &ObjectStore::DiskUsage::capacity},
      {"sheepdog_disk_used_bytes", "Bytes the objects on a disk take.", &ObjectStore::DiskUsage::used},
      {"sheepdog_disk_available_bytes", "Free bytes of a disk's filesystem (for unprivileged users).",
       &ObjectStore::DiskUsage::available},
      {"sheepdog_disk_objects", "Objects on a disk.", &ObjectStore::DiskUsage::objects},
  };
  for (const DiskFamily& f : kDiskFamilies) {
    page.family(f.name, Kind::Gauge, f.help);
    for (const auto& d : disks) page.sample(f.name, {{"disk", d.path}}, d.*(f.field));
  }
  return page.take();
}

}  // namespace sd
