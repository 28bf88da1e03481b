// LatencyHistogram: durations counted into fixed buckets, lock-free.
//
// observe() is a handful of relaxed atomic additions and never allocates,
// so the request path can call it; snapshot() reads the buckets for the
// metrics page. A snapshot taken while requests finish may be a few
// observations behind in the sum compared with the buckets (each counter
// is exact on its own), which is what Prometheus clients accept.
//
// The sum is kept in whole microseconds (each duration rounded to the
// nearest): a 64-bit count of nanoseconds would wrap after about 213 days
// at 100,000 requests a second of 10 ms each; microseconds last a thousand
// times longer (about 585 years), so the counter never resets while a
// sheep runs.
#pragma once
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace sd::metrics {

class LatencyHistogram {
 public:
  // Upper bounds of the buckets, in nanoseconds: 100 µs to 10 s. A last
  // bucket (+Inf) takes what is slower.
  static constexpr std::array<uint64_t, 16> kBoundsNs = {
      100'000,     250'000,     500'000,       1'000'000,     2'500'000,     5'000'000,
      10'000'000,  25'000'000,  50'000'000,    100'000'000,   250'000'000,   500'000'000,
      1'000'000'000, 2'500'000'000, 5'000'000'000, 10'000'000'000};
  static constexpr size_t kBuckets = kBoundsNs.size() + 1;

  // The bucket a duration falls in: the first whose bound is >= ns.
  static size_t bucket_of(uint64_t ns) {
    size_t i = 0;
    while (i < kBoundsNs.size() && ns > kBoundsNs[i]) i++;
    return i;
  }

  // A duration in nanoseconds as the sum counts it: whole microseconds,
  // rounded to the nearest.
  static uint64_t to_us(uint64_t ns) { return ns / 1000 + (ns % 1000 >= 500 ? 1 : 0); }

  void observe(uint64_t ns) {
    buckets_[bucket_of(ns)].fetch_add(1, std::memory_order_relaxed);
    sum_us_.fetch_add(to_us(ns), std::memory_order_relaxed);
  }

  struct Snapshot {
    std::array<uint64_t, kBuckets> counts{};  // per bucket, not cumulative
    uint64_t sum_us = 0;  // microseconds
    uint64_t count() const {
      uint64_t n = 0;
      for (uint64_t c : counts) n += c;
      return n;
    }
  };
  Snapshot snapshot() const {
    Snapshot s;
    for (size_t i = 0; i < kBuckets; i++) s.counts[i] = buckets_[i].load(std::memory_order_relaxed);
    s.sum_us = sum_us_.load(std::memory_order_relaxed);
    return s;
  }

 private:
  std::array<std::atomic<uint64_t>, kBuckets> buckets_{};
  std::atomic<uint64_t> sum_us_{0};
};

}  // namespace sd::metrics
