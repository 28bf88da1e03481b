// CachedPage: the last page made, handed out again to whoever asks within
// a fixed lifetime of its making (docs/METRICS.md, "Cost").
//
// It owns the cached bytes and the moment they were made; what a page
// holds is the maker's. Without it every request would make the page
// anew, so a client asking in a tight loop (or a few keep-alive
// connections doing so) could keep a core busy. Thread safe: one mutex
// guards the cache and is held while a page is made, so callers arriving
// meanwhile wait and take that page instead of making their own. The
// clock is a parameter so that tests can move time by hand.
#pragma once
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <utility>

namespace sd::metrics {

class CachedPage {
 public:
  using Clock = std::chrono::steady_clock;
  using Maker = std::function<std::string()>;
  using Now = std::function<Clock::time_point()>;

  CachedPage(Clock::duration lifetime, Maker make, Now now = &Clock::now)
      : lifetime_(lifetime), make_(std::move(make)), now_(std::move(now)) {}

  // The cached page while it is younger than the lifetime, else a new one
  // (which is then cached).
  std::string get() {
    std::lock_guard<std::mutex> lk(mu_);
    if (!made_ || now_() - made_at_ >= lifetime_) {
      page_ = make_();
      // Aged from when it was done: however slow the making (a disk
      // scan), pages are made at most once per lifetime plus that time.
      made_at_ = now_();
      made_ = true;
    }
    return page_;
  }

 private:
  const Clock::duration lifetime_;
  const Maker make_;
  const Now now_;
  std::mutex mu_;  // guards what follows
  bool made_ = false;
  Clock::time_point made_at_{};
  std::string page_;
};

}  // namespace sd::metrics
