// Connections handed to threads round robin, made on first use.
#include "client/client_pool.h"

namespace sd {

namespace {
// Each thread's position in the round robin, given on its first pick()
// (shared by every pool: a thread keeps its slot number across pools).
std::atomic<unsigned> next_thread{0};
thread_local unsigned thread_slot = next_thread.fetch_add(1, std::memory_order_relaxed);
}  // namespace

ClientPool::ClientPool(const Endpoint& ep, SheepClient& shared, unsigned size)
    : ep_(ep), shared_(shared), slots_(size > 1 ? size : 0) {
  for (auto& s : slots_) s.store(nullptr, std::memory_order_relaxed);
}

ClientPool::~ClientPool() = default;

SheepClient& ClientPool::pick() {
  if (slots_.empty()) return shared_;
  auto& slot = slots_[thread_slot % slots_.size()];
  if (SheepClient* c = slot.load(std::memory_order_acquire)) return *c;
  std::lock_guard<std::mutex> lk(mu_);
  if (SheepClient* c = slot.load(std::memory_order_acquire)) return *c;
  if (Clock::now() < retry_after_) return shared_;
  auto c = SheepClient::connect(ep_);
  if (!c) {
    retry_after_ = Clock::now() + std::chrono::seconds(1);
    return shared_;
  }
  slot.store(c.get(), std::memory_order_release);
  owned_.push_back(std::move(c));
  return *owned_.back();
}

unsigned ClientPool::connections() const {
  std::lock_guard<std::mutex> lk(mu_);
  return unsigned(owned_.size());
}

}  // namespace sd
