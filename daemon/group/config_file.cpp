// Config file load/save.
#include "group/config_file.h"

#include <cstring>

#include "base/file_util.h"

namespace sd {

Result<SheepConfig> ConfigFile::load() const {
  auto data = read_file(path_);
  if (!data.ok()) return err(data.code());
  if (data->size() != sizeof(SheepConfig)) return err(Res::InvalidParms);
  SheepConfig cfg;
  std::memcpy(&cfg, data->data(), sizeof(cfg));
  if (cfg.version != kFormatVersion) return err(Res::InvalidParms);
  return cfg;
}

Status ConfigFile::save(const SheepConfig& cfg) const {
  SheepConfig c = cfg;
  c.version = kFormatVersion;
  return write_file_atomic(path_, &c, sizeof(c));
}

}  // namespace sd
