// Epoch files.
#include "group/epoch_log.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "base/file_util.h"

namespace sd {

std::string EpochLog::path(uint32_t epoch) const {
  char name[16];
  std::snprintf(name, sizeof(name), "%08u", epoch);
  return dir_ + "/" + name;
}

Status EpochLog::save(const EpochRecord& rec) const {
  std::vector<char> buf(rec.nodes.size() * sizeof(SdNode) + 8);
  for (size_t i = 0; i < rec.nodes.size(); i++) {
    SdNode n = rec.nodes[i];
    std::memset(n.rb, 0, sizeof(n.rb));
    std::memcpy(buf.data() + i * sizeof(SdNode), &n, sizeof(n));
  }
  uint64_t t = rec.time;
  std::memcpy(buf.data() + rec.nodes.size() * sizeof(SdNode), &t, 8);
  return write_file_atomic(path(rec.epoch), buf.data(), buf.size());
}

void EpochLog::remove(uint32_t epoch) const { unlink(path(epoch).c_str()); }

Result<std::vector<char>> EpochLog::raw(uint32_t epoch) const {
  auto data = read_file(path(epoch));
  if (!data.ok()) return err(data.code() == Res::NoObj ? Res::NoTag : data.code());
  return data;
}

Result<EpochRecord> EpochLog::decode(uint32_t epoch, const char* data, size_t len) {
  if (len < 8 || (len - 8) % sizeof(SdNode)) return err(Res::Eio);
  EpochRecord rec;
  rec.epoch = epoch;
  size_t n = (len - 8) / sizeof(SdNode);
  rec.nodes.resize(n);
  if (n) std::memcpy(rec.nodes.data(), data, n * sizeof(SdNode));
  std::memcpy(&rec.time, data + n * sizeof(SdNode), 8);
  return rec;
}

Result<EpochRecord> EpochLog::load(uint32_t epoch) const {
  auto data = raw(epoch);
  if (!data.ok()) return err(data.code());
  return decode(epoch, data->data(), data->size());
}

static bool is_epoch_name(const char* name) {
  if (std::strlen(name) != 8) return false;
  for (int i = 0; i < 8; i++)
    if (name[i] < '0' || name[i] > '9') return false;
  return true;
}

uint32_t EpochLog::latest() const {
  uint32_t best = 0;
  DIR* d = opendir(dir_.c_str());
  if (!d) return 0;
  while (dirent* de = readdir(d)) {
    if (!is_epoch_name(de->d_name)) continue;
    uint32_t e = uint32_t(std::strtoul(de->d_name, nullptr, 10));
    if (e > best) best = e;
  }
  closedir(d);
  return best;
}

Status EpochLog::clear() const {
  DIR* d = opendir(dir_.c_str());
  if (!d) return {};
  while (dirent* de = readdir(d)) {
    if (is_epoch_name(de->d_name)) unlink((dir_ + "/" + de->d_name).c_str());
  }
  closedir(d);
  return fsync_dir(dir_);
}

}  // namespace sd
