// SheepClient: one connection to a sheep, safe to share between threads.
//
// Requests are pipelined: any number of threads may have calls in flight on
// the one socket, and each reply is matched to its call by the header id, so
// replies may arrive in any order. There is no reader thread: whichever
// waiting caller finds no reader active reads the next replies, delivers
// each to its owner's buffer and wakes that owner alone, and when its own
// reply has come hands the role to one other waiter (leader/follower).
// Replies are read through a buffer, so many small replies cost one read;
// large payloads go straight into their caller's buffer.
//
// A transport failure fails every call in flight with NetworkError and marks
// the connection dead; the next call reconnects once nothing is in flight,
// unless automatic reconnection is off (a connection that holds a VDI
// lock: nothing may go out on a new connection before the lock is taken
// again there), when only reconnect() makes a new one.
// With a call timeout set, a call that has waited that long for its reply
// counts as a transport failure too (a peer that stopped answering).
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "net.h"
#include "proto/wire.h"
#include "result.h"

namespace sd {

class SheepClient {
 public:
  // nullptr with errno set when the connection fails.
  static std::unique_ptr<SheepClient> connect(const Endpoint& ep);
  ~SheepClient();
  SheepClient(const SheepClient&) = delete;
  SheepClient& operator=(const SheepClient&) = delete;

  // Sends req, followed by wbuf (req.data_length bytes) when kFlagWrite is
  // set, and waits for the reply. Up to rlen reply bytes land in rbuf; for a
  // request without kFlagWrite rlen defaults to req.data_length. The
  // returned header's data_length is the number of bytes the server sent.
  // An error Result means the transport failed, not the request: the
  // server's verdict is in the returned header's result field.
  Result<SdRsp> call(SdReq req, const void* wbuf, void* rbuf, uint32_t rlen = UINT32_MAX);

  // The two halves of call(), for fanning one request out to several
  // sheep at once: submit() sends and returns at once; wait() collects.
  // Every ticket must be waited for.
  struct Ticket;
  std::unique_ptr<Ticket> submit(SdReq req, const void* wbuf, void* rbuf,
                                 uint32_t rlen = UINT32_MAX);
  Result<SdRsp> wait(std::unique_ptr<Ticket> ticket);

  // call() folded into one status: transport errors and the server's
  // result alike. rsp, when given, receives the reply header.
  Status exec(SdReq req, const void* wbuf, void* rbuf, SdRsp* rsp = nullptr,
              uint32_t rlen = UINT32_MAX);

  // Object I/O through the gateway. copies 0 means the VDI's own.
  // (read_obj's rsp, when given, receives the reply header of a success.)
  Status read_obj(uint64_t oid, void* buf, uint32_t len, uint32_t offset, uint8_t copies = 0,
                  SdRsp* rsp = nullptr);
  Status write_obj(uint64_t oid, const void* buf, uint32_t len, uint32_t offset,
                   uint8_t copies = 0);
  Status create_and_write_obj(uint64_t oid, const void* buf, uint32_t len, uint32_t offset,
                              uint8_t copies = 0, uint64_t cow_oid = 0);
  Status remove_obj(uint64_t oid, uint8_t copies = 0);

  // Fails every call in flight with NetworkError at once (the peer left
  // the cluster); the next call reconnects, unless for_good is set (then
  // every later call fails too).
  void abort(bool for_good = false);

  // Fails the connection when a reply takes longer than this (0: never,
  // the default). Set before the first call.
  void set_call_timeout(std::chrono::milliseconds t) { timeout_ = t; }

  // Off: once the connection failed, every call fails (NetworkError)
  // until reconnect(). Set before the first call.
  void set_auto_reconnect(bool on) { auto_reconnect_ = on; }
  // Makes a new connection if the current one failed (after the calls in
  // flight have drained); nothing to do when it is alive. `prologue`, when
  // given, runs first on the new connection, from this thread: calls of
  // other threads wait until it is done, and if it fails the connection
  // is failed again (so nothing else ever travels on a connection on which
  // the prologue, say taking a lock, did not succeed).
  Status reconnect(const std::function<Status()>& prologue = nullptr);

  const Endpoint& endpoint() const { return ep_; }
  // True once the connection failed and nothing reconnected it yet
  // (lock-free: cheap enough to ask before every write).
  bool broken() const { return dead_.load() || closed_.load(); }
  // Counts the connections made so far (1 after connect(), +1 for each
  // reconnect): what a sheep tied to the old connection (a VDI lock) is
  // gone with it.
  uint64_t generation() const { return generation_.load(); }
  // Epoch reported in the most recent reply.
  uint32_t last_epoch() const { return last_epoch_; }

 private:
  using Clock = std::chrono::steady_clock;
  struct Pending {
    Clock::time_point sent{};
    void* rbuf = nullptr;
    uint32_t rlen = 0;
    SdRsp rsp{};
    bool done = false;
    bool failed = false;
    bool waiting = false;          // its caller sleeps in wait()
    std::condition_variable cv;    // wakes that caller alone
  };


 public:
  struct Ticket {
    Pending p{};
    uint32_t id = 0;
  };

 private:
  SheepClient(const Endpoint& ep, int fd);
  // Reads one reply and hands it to its owner. Called without mu_ held by
  // the current reader only.
  Status read_one_reply();
  // Copies len bytes of the stream to dst (nullptr: discards them), from
  // the receive buffer first and then straight from the socket.
  Status take(void* dst, size_t len);
  // Reads exactly len bytes from the socket into out, bypassing the
  // receive buffer (which must be empty).
  Status read_direct(char* out, size_t len);
  // Waits until the socket has data, within the oldest call's deadline.
  Status wait_readable();
  void fail_all_locked();
  void wake_next_leader_locked();
  // The reconnection itself (mu_ held through lk, dead_ set).
  Status reconnect_locked(std::unique_lock<std::mutex>& lk);
  // Waits while another thread runs a reconnection's prologue (mu_ held).
  void wait_gate_locked(std::unique_lock<std::mutex>& lk);

  Endpoint ep_;
  int fd_;
  std::mutex send_mu_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<uint32_t, Pending*> pending_;
  uint32_t next_id_ = 1;
  int large_pending_ = 0;  // calls in pending_ whose reply may be large (guarded by mu_)
  bool reader_active_ = false;
  Pending* current_target_ = nullptr;  // the call whose buffer the reader fills
  // Receive buffer, touched only by the current reader: [rpos_, rend_)
  // holds bytes read from the socket and not yet consumed.
  std::unique_ptr<char[]> rbuf_;
  size_t rpos_ = 0, rend_ = 0;
  // Written under mu_; atomic so that broken() needs no lock.
  std::atomic<bool> dead_{false};
  std::atomic<bool> closed_{false};  // abort(for_good): never reconnect
  std::chrono::milliseconds timeout_{0};
  bool auto_reconnect_ = true;
  // A reconnection's prologue runs (guarded by mu_): only its thread calls.
  bool gated_ = false;
  std::thread::id gate_owner_;
  std::atomic<uint32_t> last_epoch_{0};
  std::atomic<uint64_t> generation_{1};
};

}  // namespace sd
