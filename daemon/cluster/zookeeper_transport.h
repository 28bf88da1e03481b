// The zookeeper driver's ordered transport (zookeeper_transport.cpp).
#pragma once

#include <memory>

#include "cluster/driver.h"
#include "cluster/transport.h"

namespace sd {

std::unique_ptr<OrderedTransport> make_zookeeper_transport(const ZooKeeperOptions& opts,
                                                           const ClusterKey& key);

}  // namespace sd
