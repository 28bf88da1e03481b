// DIR/epoch/%08u: the membership of every epoch (docs/PROTOCOL.md §8.3).
// Each file is N sd_node records (rb zeroed) followed by an 8-byte time_t,
// written atomically. The history is what `dog cluster info` prints and
// what recovery walks back through.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "proto/node.h"
#include "result.h"

namespace sd {

struct EpochRecord {
  uint32_t epoch = 0;
  uint64_t time = 0;  // seconds
  std::vector<SdNode> nodes;
};

class EpochLog {
 public:
  explicit EpochLog(std::string dir) : dir_(std::move(dir)) {}
  Status save(const EpochRecord& rec) const;
  // NoTag when the epoch has no file (as GET_EPOCH answers).
  Result<EpochRecord> load(uint32_t epoch) const;
  // The largest epoch with a file, 0 if none.
  uint32_t latest() const;
  // Removes every epoch file (format).
  Status clear() const;
  // Removes one epoch file (a history that the cluster's replaced).
  void remove(uint32_t epoch) const;
  // Decodes the file format (N sd_node records + 8-byte time); also what
  // GET_EPOCH returns. Eio for a malformed record.
  static Result<EpochRecord> decode(uint32_t epoch, const char* data, size_t len);
  // Raw file bytes (GET_EPOCH).
  Result<std::vector<char>> raw(uint32_t epoch) const;

 private:
  std::string path(uint32_t epoch) const;
  std::string dir_;
};

}  // namespace sd
