// ReadLease: the sheep's side of DIR/obj/.read-lease (see proto/read_lease.h):
// maps the page and publishes gen/epoch/serving/until as they change.
#pragma once
#include <cstdint>
#include <mutex>
#include <string>

#include "proto/read_lease.h"

namespace sd {

class ReadLease {
 public:
  ReadLease() = default;
  ~ReadLease();
  ReadLease(const ReadLease&) = delete;
  ReadLease& operator=(const ReadLease&) = delete;

  // Maps DIR/obj/.read-lease (creating it), not serving. False on failure: local
  // reads are then simply never offered. offer false: the page stays
  // mapped only to say "not serving" for good (a node whose objects are
  // on other disks than DIR/obj, where a reader would look).
  bool open(const std::string& dir, const NodeId& self, bool offer = true);
  // No more local reads, for good (objects are about to live elsewhere
  // than the directory a reader looks in).
  void stop_offering();
  // Something a client may have read changed: bump gen.
  void invalidate();
  // New epoch, serving state or membership (bumps gen as well). Thread safe.
  void set_state(uint32_t epoch, bool serving, bool new_membership = false);
  // Every object file is known current through `epoch` (the ownership
  // audit): local reads are offered only for an epoch that far.
  void set_audited(uint32_t epoch);
  // How long the cluster driver vouches for this sheep's membership
  // (steady-clock ms, 0: no bound). Any thread.
  void set_valid_until(int64_t steady_ms);

 private:
  void publish_locked(bool new_membership);
  ReadLeasePage* page_ = nullptr;
  std::mutex mu_;         // orders the updates of the page
  uint32_t epoch_ = 0;    // guarded by mu_
  bool serving_ = false;  // guarded by mu_
  uint32_t audited_ = 0;  // guarded by mu_
  bool offer_ = true;     // guarded by mu_
};

}  // namespace sd
