// Fuzz target: the bytes a client sends a sheep. Each input is one
// connection's stream to DIR/sock of a whole in-process sheep
// (sheep_rig.h), framed with the event loop's rules (a header, a payload
// when the write flag is set, nothing over the payload limit of
// server/connection.h) and run request by request through the opcode table
// as the loop runs it (OpRunner: the inline read path first, then
// execute()), on this thread, the replies discarded; at the end the
// connection "closes" (its VDI locks end). This reaches the opcode table's
// checks (ops/ops.cpp) and every handler's payload decoding with the
// store, VDI table and locks behind them, thousands of times a second: a
// socket and the loop's threads per input made it a hundred times slower.
// The loop's own socket handling is covered by the functional tests
// (005, 012, 109). Opcodes that would stop the sheep or name this
// machine's directories are rewritten (sheep_rig.h).
#include <cstdint>
#include <cstring>
#include <memory>

#include "ops/ops.h"
#include "proto/wire.h"
#include "server/connection.h"
#include "server/request.h"
#include "sheep_rig.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  sdfuzz::SheepRig::instance();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sdfuzz::SheepRig& rig = sdfuzz::SheepRig::instance();
  static unsigned runs = 0;
  // What fuzzed writes store stays bounded.
  if (++runs % 20000 == 0) rig.format();
  // A connection id of its own per input, far from the real server's.
  static uint64_t conn_id = uint64_t(1) << 48;
  conn_id++;
  sd::OpRunner& runner = rig.runner();
  size_t pos = 0;
  while (size - pos >= sizeof(sd::SdReq)) {
    auto req = std::make_unique<sd::Request>();
    std::memcpy(&req->hdr, data + pos, sizeof(sd::SdReq));
    pos += sizeof(sd::SdReq);
    sd::SdReq& h = req->hdr;
    if (sdfuzz::is_forbidden_opcode(h.opcode)) h.opcode = sd::kOpGetLoglevel;
    req->conn_id = conn_id;
    req->host_admin = true;  // DIR/sock
    if ((h.flags & sd::kFlagWrite) && h.data_length) {
      // The loop answers an oversized payload and closes; a payload cut
      // short never runs.
      if (h.data_length > sd::server_limits::kMaxPayload || h.data_length > size - pos) break;
      req->payload.reset(new char[h.data_length]);
      std::memcpy(req->payload.get(), data + pos, h.data_length);
      pos += h.data_length;
    }
    if (!runner.run_inline(*req)) runner.run(*req);
  }
  runner.connection_closed(conn_id);
  return 0;
}
