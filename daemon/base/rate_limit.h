// RateLimit: lets at most N events through per second and counts the ones
// it turned away, so that a flood of bad input (forged cluster records,
// unauthenticated connections) costs a bounded number of log lines and
// answers. Thread safe.
#pragma once
#include <chrono>
#include <cstdint>
#include <mutex>

namespace sd {

class RateLimit {
 public:
  explicit RateLimit(uint32_t per_second) : per_second_(per_second) {}

  // True when one more event may pass now. *skipped (when given) receives
  // how many were turned away since the last one that passed.
  bool allow(uint64_t* skipped = nullptr) {
    auto now = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> lk(mu_);
    if (now - window_start_ >= std::chrono::seconds(1)) {
      window_start_ = now;
      passed_ = 0;
    }
    if (passed_ >= per_second_) {
      skipped_++;
      return false;
    }
    passed_++;
    if (skipped) *skipped = skipped_;
    skipped_ = 0;
    return true;
  }

 private:
  const uint32_t per_second_;
  std::mutex mu_;  // guards the three fields below
  std::chrono::steady_clock::time_point window_start_{};
  uint32_t passed_ = 0;
  uint64_t skipped_ = 0;
};

}  // namespace sd
