// The local driver: a cluster on one machine.
//
// This first version serves a single sheep: joining delivers a membership of
// one, and broadcasts are delivered straight back, in order, on a delivery
// thread so callers never re-enter the group while holding its locks.
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "cluster/driver.h"
#include "log.h"

namespace sd {

namespace {

class LocalDriver : public ClusterDriver {
 public:
  explicit LocalDriver(std::string opts) : opts_(std::move(opts)) {}
  ~LocalDriver() override { leave(); }
  const char* name() const override { return "local"; }

  Status join(const SdNode& self, ClusterEvents* events) override {
    self_ = self;
    events_ = events;
    thread_ = std::thread([this] { deliver_loop(); });
    std::lock_guard<std::mutex> lk(mu_);
    queue_.push_back({true, {}});
    cv_.notify_all();
    return {};
  }

  Status broadcast(const std::vector<char>& msg) override {
    std::lock_guard<std::mutex> lk(mu_);
    if (stopping_) return err(Res::ClusterError);
    queue_.push_back({false, msg});
    cv_.notify_all();
    return {};
  }

  void leave() override {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stopping_ = true;
      cv_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
  }

 private:
  struct Event {
    bool join;
    std::vector<char> msg;
  };

  void deliver_loop() {
    log::set_thread_name("cluster");
    std::unique_lock<std::mutex> lk(mu_);
    for (;;) {
      cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      Event ev = std::move(queue_.front());
      queue_.pop_front();
      lk.unlock();
      if (ev.join)
        events_->on_membership({self_}, &self_, nullptr);
      else
        events_->on_message(self_, ev.msg);
      lk.lock();
    }
  }

  std::string opts_;
  SdNode self_{};
  ClusterEvents* events_ = nullptr;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> queue_;
  bool stopping_ = false;
};

}  // namespace

std::unique_ptr<ClusterDriver> make_cluster_driver(const std::string& name,
                                                   const std::string& opts) {
  if (name == "local") return std::make_unique<LocalDriver>(opts);
  return nullptr;
}

}  // namespace sd
