// When the gateway resends a request: the result codes that mean "the
// membership is moving, try again under the next one", and for how long.
// Shared by the replicated paths (gateway.cpp) and the erasure-coded ones
// (erasure_io.cpp).
#pragma once
#include <chrono>

#include "proto/results.h"

namespace sd {

// Codes after which a request is resent against a fresh membership.
// Halt comes only from an owner that is cut off (it serves no I/O until it
// is back in the cluster: ops/ops.cpp): it is either back in a moment (a
// member that has just rejoined answers Halt until it has seen its own
// join) or dropped from the membership. The gateway's own halts (no
// owner, too few zones in a strict cluster) are answered before any owner
// is asked, and are never retried.
inline bool retryable(Res r) {
  return r == Res::OldNodeVer || r == Res::NewNodeVer || r == Res::NetworkError ||
         r == Res::WaitForJoin || r == Res::WaitForFormat || r == Res::Killed ||
         r == Res::Halt;
}

// How long a request keeps being retried while the cluster notices a dead
// peer (the zookeeper driver takes its session timeout, 3 s by default; a
// peer that never answers fails its calls after 30 s), and how long each
// retry waits for the membership to move on (it returns as soon as it does).
inline constexpr auto kRetryFor = std::chrono::seconds(20);
inline constexpr auto kSettle = std::chrono::milliseconds(50);

// True while a request begun at `start` may be tried again.
inline bool may_retry(std::chrono::steady_clock::time_point start) {
  return std::chrono::steady_clock::now() - start < kRetryFor;
}

}  // namespace sd
