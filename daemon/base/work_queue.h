// WorkQueue: a fixed pool of threads running submitted jobs in FIFO order.
// The daemon keeps separate queues for gateway work (which may wait on
// peers) and for local/peer work (which never does), so gateways waiting on
// each other can never exhaust the threads that would answer them.
#pragma once
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sd {

class WorkQueue {
 public:
  WorkQueue(std::string name, int threads);
  ~WorkQueue();
  void submit(std::function<void()> job);
  // Finishes queued jobs and joins the threads.
  void stop();

 private:
  void run();
  std::string name_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  bool stopping_ = false;
};

}  // namespace sd
