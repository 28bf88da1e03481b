// Thread pool.
#include "base/work_queue.h"

#include <sys/syscall.h>
#include <unistd.h>

#include "base/log.h"

namespace sd {

WorkQueue::WorkQueue(std::string name, int threads) : name_(std::move(name)) {
  for (int i = 0; i < threads; i++) threads_.emplace_back([this] { run(); });
}

WorkQueue::~WorkQueue() { stop(); }

void WorkQueue::submit(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();  // outside the lock: the woken thread need not wait for it
}

void WorkQueue::stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

void WorkQueue::run() {
  log::set_thread_name(name_ + " " + std::to_string(syscall(SYS_gettid)));
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    cv_.wait(lk, [&] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty()) return;
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    lk.unlock();
    job();
    lk.lock();
  }
}

}  // namespace sd
