// OrderedTransport: the minimum a cluster driver needs from its medium —
// records delivered to every participant in one total order, and an event
// (in the same order) when a participant is gone. MembershipProtocol builds
// joins, leaves and master election on top of it.
#pragma once
#include <string>
#include <vector>

#include "result.h"

namespace sd {

class TransportEvents {
 public:
  virtual ~TransportEvents() = default;
  // Records from every participant (ourselves included), in total order.
  virtual void on_record(const std::vector<char>& rec) = 0;
  // Participant `id` is gone (died or left), in the same order.
  virtual void on_gone(const std::string& id) = 0;
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
};

}  // namespace sd
