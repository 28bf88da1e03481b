// dog vdi: state shared between the vdi command files (vdi.cpp owns the
// option table, the command table and create/list/delete; vdi_io.cpp owns
// read and write).
#pragma once
#include <cstdint>
#include <string>

#include "dog.h"
#include "result.h"

namespace dog {

// Values of the vdi group's options for this run.
struct VdiOptions {
  uint32_t snapid = 0;   // -s N
  std::string tag;       // -s TAG
  bool prealloc = false;  // -P
  bool hyper = false;     // -y
  uint8_t copies = 0;     // -c (0: the cluster default)
  uint8_t copy_policy = 0;
  uint8_t block_size_shift = 0;  // -z (0: the cluster default)
  bool has_oid = false;          // -o
  uint64_t oid = 0;
  uint32_t batch = 128;          // -B: inode entries zeroed per write
  uint32_t interval = 0;         // -I: seconds between batches
  uint64_t max_reclaim = 0;      // -m: 0 = no limit
  bool writeback = false;        // -w (accepted; dog has no cache)
};
extern VdiOptions vdi_opts;

// Transport failures reach dog as NetworkError; upstream shows them as the
// generic I/O error.
inline sd::Res shown_res(sd::Res r) { return r == sd::Res::NetworkError ? sd::Res::Eio : r; }

// "Failed to open VDI %s (snapshot id: %d snapshot tag: %s): %s"
void report_open_failure(const std::string& name, sd::Res res);

int vdi_read(Context& ctx);
int vdi_write(Context& ctx);

}  // namespace dog
