// DIR/config: the node's persistent cluster settings (40-byte
// sheepdog_config, docs/PROTOCOL.md §9.2), rewritten atomically.
#pragma once
#include <string>

#include "proto/node.h"
#include "result.h"

namespace sd {

class ConfigFile {
 public:
  explicit ConfigFile(std::string path) : path_(std::move(path)) {}
  // NoObj when the file does not exist yet; InvalidParms for a bad version.
  Result<SheepConfig> load() const;
  Status save(const SheepConfig& cfg) const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace sd
