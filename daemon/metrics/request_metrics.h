// RequestMetrics: what the sheep counts about the requests it serves, for
// the metrics page (docs/METRICS.md) and for STAT (SdStat, `dog node
// stat`; docs/PROTOCOL.md §3.7). One set per sheep, fed by the request
// handlers (ops/) and read by the metrics endpoint and the STAT handler.
//
// Everything is a relaxed atomic in memory allocated once at start-up:
// begin() and finish() take no lock and allocate nothing, so the request
// path pays a few uncontended additions. The label sets are bounded: an
// opcode has a label of its own only when the daemon answers it (the rest
// are "other"), a result code only when it is one of the protocol's.
//
// Two sides: peer requests are the object copies other sheep send here
// (READ_PEER, WRITE_PEER, CREATE_AND_WRITE_PEER, REMOVE_PEER); every other
// request is a client request. The I/O opcodes (the four object requests
// of each side, and FLUSH_VDI for clients) are also counted in flight, by
// bytes, and by latency, from when the event loop read the request to when
// its reply was ready.
#pragma once
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "metrics/exposition.h"
#include "metrics/histogram.h"
#include "proto/node.h"
#include "proto/results.h"
#include "proto/wire.h"

namespace sd::metrics {

enum class Side : uint8_t { Client, Peer };
// How STAT counts an opcode; None: it does not.
enum class StatAs : uint8_t { None, Read, Write, Remove, Flush };

struct OpLabel {
  uint8_t opcode;
  const char* label;  // the daemon's name for it, lower case
  Side side;
  StatAs stat;  // not None: an I/O opcode (in flight, bytes, latency)
};

// Every opcode the daemon answers (ops/ops.cpp's table; a unit test keeps
// the two the same).
std::span<const OpLabel> op_labels();
// nullptr when the daemon does not answer `opcode`.
const OpLabel* op_label(uint8_t opcode);
// The label of a result code ("success", "no_obj", ...), "other" for a
// code the protocol does not define.
const char* result_label(uint32_t code);

class RequestMetrics {
 public:
  RequestMetrics();
  RequestMetrics(const RequestMetrics&) = delete;
  RequestMetrics& operator=(const RequestMetrics&) = delete;

  // A request starts being served (an I/O request counts as received and
  // in flight, and its data bytes are counted).
  void begin(const SdReq& h);
  // ... and was answered with `r`, `ns` nanoseconds after it was read.
  void finish(const SdReq& h, Res r, uint64_t ns);

  // The STAT reply, from the same counters.
  SdStat stat() const;
  // How many `opcode` requests were answered with `r` (tests).
  uint64_t answered(uint8_t opcode, Res r) const;
  // The request families of the metrics page.
  void render(TextExposition& page) const;

 private:
  static size_t op_slot(uint8_t opcode);
  // The I/O opcode's index among the histograms, or -1.
  static int io_slot(uint8_t opcode);
  std::atomic<uint64_t>& cell(size_t op, size_t result) const {
    return requests_[op * kResultSlots + result];
  }
  // Requests of the I/O opcodes of `side` that STAT counts as `as` (all of
  // them with StatAs::None), answered.
  uint64_t answered_io(Side side, StatAs as) const;

 public:
  static constexpr size_t kOpSlots = 64;        // slot 0: "other"
  static constexpr size_t kResultSlots = 64;    // slot 0: "other"
  static constexpr size_t kIoSlots = 10;

 private:
  std::unique_ptr<std::atomic<uint64_t>[]> requests_;  // [op slot][result slot]
  struct PerSide {
    // I/O requests begun: STAT's Total. A counter of its own, so that
    // Total never goes down (answered + in flight, read as two loads while
    // finish() moves a request from one to the other, could).
    std::atomic<uint64_t> received{0};
    std::atomic<uint64_t> in_flight{0};
    std::atomic<uint64_t> write_bytes{0};  // data of requests that carry data
    std::atomic<uint64_t> read_bytes{0};   // data asked for by the others
  };
  std::array<PerSide, 2> sides_;
  std::array<LatencyHistogram, kIoSlots> latency_;
};

}  // namespace sd::metrics
