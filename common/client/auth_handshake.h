// The client half of the cluster-key handshake (cluster_key.h): run once
// on every new TCP connection when this process has a key. dog, the plugin
// and the sheep's own peer connections all connect through SheepClient,
// which calls it; unix sockets are trusted by their permissions and skip it.
#pragma once
#include <string>

#include "cluster_key.h"
#include "net.h"
#include "result.h"

namespace sd {

// The key this process proves on its TCP connections (empty: none).
// Set once at start-up, before the first connection.
void set_client_key(const ClusterKey& key);
const ClusterKey& client_key();

// Proves the key on a freshly connected socket and checks the sheep's
// proof. AuthFailed (wrong key on either side), AuthRequired never; NoSupport
// when the sheep has no key; NetworkError on a transport failure.
Status authenticate(int fd);

// connect_endpoint() and, for TCP with a key set, authenticate(): -1 with
// errno set on failure (EACCES for a refused key).
int connect_and_authenticate(const Endpoint& ep);

}  // namespace sd
