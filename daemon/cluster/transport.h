// OrderedTransport: the minimum a cluster driver needs from its medium —
// records delivered to every participant in one total order, and an event
// (in the same order) when a participant is gone. MembershipProtocol builds
// joins, leaves and master election on top of it.
//
// A transport with history (the local driver's log) replays everything
// ever sent, so a newcomer knows the members before its own join. One
// without (corosync's CPG) delivers only what is sent after the newcomer
// arrived; it says when the newcomer is alone in the group (on_alone).
// A transport that cannot be trusted to be in the majority (quorum lost,
// corosync gone) suspends: nothing is delivered until on_resume, after
// which the participant must join again as a newcomer.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "result.h"

namespace sd {

class TransportEvents {
 public:
  virtual ~TransportEvents() = default;
  // Records from every participant (ourselves included), in total order.
  // `origin` is the sender as the medium knows it: corosync's node and
  // process ids; for the local driver, the id its frame names.
  virtual void on_record(const std::string& origin, const std::vector<char>& rec) = 0;
  // Participant `id` is gone (died or left), in the same order.
  virtual void on_gone(const std::string& id) = 0;
  // Nobody but us is in the group at this point of the order.
  virtual void on_alone() {}
  // Called about every 100 ms on the delivery thread, for timeouts.
  virtual void on_tick() {}
  // Delivery stopped (no quorum, transport lost); state must be dropped.
  virtual void on_suspend(const std::string& why) = 0;
  // Delivery works again under a new identity (returned); join again.
  virtual void on_resume(const std::string& new_id) = 0;
  virtual void on_transport_failure(const std::string& why) = 0;
};

class OrderedTransport {
 public:
  virtual ~OrderedTransport() = default;
  // Starts delivering to `events` (on the transport's own thread); returns
  // this participant's unique id for this incarnation.
  virtual Result<std::string> start(TransportEvents* events) = 0;
  virtual Status send(const std::vector<char>& rec) = 0;
  // Leaves: the others get on_gone for us. No delivery after it returns.
  virtual void stop() = 0;
  // True when a newcomer sees every record ever sent (see above).
  virtual bool has_history() const = 0;
  // False when the medium cannot vouch, right now, that we are still a
  // participant the others see (a ZooKeeper session not confirmed lately:
  // the others may be about to drop us). Called from any thread; cheap.
  virtual bool in_contact() const { return true; }
  // Until when (steady-clock ms) the medium vouches for us as above; 0
  // when it has no such bound.
  virtual int64_t contact_until_ms() const { return 0; }
};

}  // namespace sd
