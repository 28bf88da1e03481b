// The farm directory of `dog cluster snapshot`: blobs by SHA-1, trunks and
// the user_snap log, written crash safe (layout: farm_store.h).
#include "farm_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>
#include <set>

#include "dog.h"
#include "sha1.h"

namespace dog {

namespace {

constexpr char kLogMagic[8] = {'S', 'D', 'F', 'A', 'R', 'M', '0', '1'};
constexpr char kTrunkMagic[8] = {'S', 'D', 'T', 'R', 'U', 'N', 'K', '1'};
constexpr const char* kLogName = "user_snap";

struct LogHeader {
  char magic[8];
  uint32_t record_size;
  uint32_t reserved;
};
static_assert(sizeof(LogHeader) == 16);

std::mutex g_dirs_mu;
std::set<std::string> g_dirs_to_sync;  // directories that got new blobs

sd::Status make_dir(const std::string& p) {
  if (mkdir(p.c_str(), 0755) == 0) return {};
  struct stat st;
  if (errno == EEXIST && stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return {};
  if (errno == EEXIST)
    err("Path is not a directory: %s", p.c_str());
  else
    err("Fail to create directory: %s: %s", p.c_str(), std::strerror(errno));
  return sd::err(sd::Res::SystemError);
}

sd::Status write_all(int fd, const void* data, size_t len) {
  const char* p = static_cast<const char*>(data);
  while (len) {
    ssize_t n = ::write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return sd::err(sd::Res::SystemError);
    p += n;
    len -= size_t(n);
  }
  return {};
}

sd::Status fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return sd::err(sd::Res::SystemError);
  int rc = fsync(fd);
  close(fd);
  return rc == 0 ? sd::Status{} : sd::err(sd::Res::SystemError);
}

// Writes the parts to dir/name through a temporary file: fsync, rename,
// then (when sync_dir) the directory's fsync.
sd::Status write_file_atomic(const std::string& dir, const std::string& name,
                             const std::vector<std::pair<const void*, size_t>>& parts,
                             bool sync_dir) {
  std::string final_path = dir + "/" + name;
  std::string tmp = dir + "/.tmp-" + name + "-" + std::to_string(getpid()) + "-" +
                    std::to_string(uintptr_t(&parts));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    err("Fail to create %s: %s", tmp.c_str(), std::strerror(errno));
    return sd::err(sd::Res::SystemError);
  }
  sd::Status st;
  for (const auto& [p, n] : parts)
    if (st.ok()) st = write_all(fd, p, n);
  if (st.ok() && fsync(fd) != 0) st = sd::err(sd::Res::SystemError);
  if (close(fd) != 0 && st.ok()) st = sd::err(sd::Res::SystemError);
  if (st.ok() && rename(tmp.c_str(), final_path.c_str()) != 0) st = sd::err(sd::Res::SystemError);
  if (!st.ok()) {
    err("Fail to write %s: %s", final_path.c_str(), std::strerror(errno));
    unlink(tmp.c_str());
    return st;
  }
  if (sync_dir) return fsync_dir(dir);
  return {};
}

// Nothing in a farm is bigger than the largest object (2 GiB, block size
// shift 31) or a trunk of a full cluster's objects; a file claiming more
// (a farm directory is anyone's files) is refused before memory is taken.
constexpr uint64_t kMaxFarmFile = 4ull << 30;

sd::Result<std::vector<uint8_t>> read_whole_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return sd::err(errno == ENOENT ? sd::Res::NoObj : sd::Res::SystemError);
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || uint64_t(st.st_size) > kMaxFarmFile) {
    close(fd);
    return sd::err(sd::Res::SystemError);
  }
  std::vector<uint8_t> buf(size_t(st.st_size));
  size_t done = 0;
  while (done < buf.size()) {
    ssize_t n = ::read(fd, buf.data() + done, buf.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += size_t(n);
  }
  close(fd);
  if (done != buf.size()) return sd::err(sd::Res::SystemError);
  return buf;
}

Sha1Digest digest_of(const void* data, size_t len) {
  Sha1Digest d;
  sd::sha1(data, len, d.data());
  return d;
}

}  // namespace

std::string sha1_hex(const Sha1Digest& d) {
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  for (uint8_t b : d) {
    s += kHex[b >> 4];
    s += kHex[b & 15];
  }
  return s;
}

sd::Status FarmStore::open(const std::string& path) {
  dir_ = path;
  while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
  SD_TRY(make_dir(dir_));
  SD_TRY(make_dir(dir_ + "/objects"));
  char sub[4];
  for (int i = 0; i < 256; i++) {
    std::snprintf(sub, sizeof(sub), "%02x", i);
    SD_TRY(make_dir(dir_ + "/objects/" + sub));
  }
  return {};
}

std::string FarmStore::blob_path(const Sha1Digest& sha) const {
  std::string hex = sha1_hex(sha);
  return dir_ + "/objects/" + hex.substr(0, 2) + "/" + hex.substr(2);
}

sd::Result<Sha1Digest> FarmStore::put_blob(const void* data, size_t len, bool* written) {
  Sha1Digest sha = digest_of(data, len);
  std::string path = blob_path(sha);
  if (written) *written = false;
  if (access(path.c_str(), F_OK) == 0) return sha;
  std::string hex = sha1_hex(sha);
  std::string dir = dir_ + "/objects/" + hex.substr(0, 2);
  SD_TRY(write_file_atomic(dir, hex.substr(2), {{data, len}}, false));
  {
    std::lock_guard<std::mutex> lk(g_dirs_mu);
    g_dirs_to_sync.insert(dir);
  }
  if (written) *written = true;
  return sha;
}

sd::Status FarmStore::sync_blobs() {
  std::set<std::string> dirs;
  {
    std::lock_guard<std::mutex> lk(g_dirs_mu);
    dirs.swap(g_dirs_to_sync);
  }
  for (const auto& d : dirs) {
    if (!fsync_dir(d).ok()) {
      err("Fail to sync %s: %s", d.c_str(), std::strerror(errno));
      return sd::err(sd::Res::SystemError);
    }
  }
  return {};
}

sd::Result<std::vector<uint8_t>> FarmStore::get_blob(const Sha1Digest& sha) const {
  std::string path = blob_path(sha);
  auto data = read_whole_file(path);
  if (!data.ok()) {
    err("Fail to read %s: %s", path.c_str(),
        data.code() == sd::Res::NoObj ? "No such file" : std::strerror(errno));
    return sd::err(data.code());
  }
  if (digest_of(data->data(), data->size()) != sha) {
    err("Object file %s is corrupted", path.c_str());
    return sd::err(sd::Res::Eio);
  }
  return data;
}

sd::Result<std::vector<SnapRecord>> FarmStore::read_log() const {
  std::vector<SnapRecord> log;
  auto data = read_whole_file(dir_ + "/" + kLogName);
  if (!data.ok()) {
    if (data.code() == sd::Res::NoObj) return log;
    err("Fail to read %s/%s: %s", dir_.c_str(), kLogName, std::strerror(errno));
    return sd::err(data.code());
  }
  LogHeader h{};
  if (data->size() >= sizeof(h)) std::memcpy(&h, data->data(), sizeof(h));
  if (data->size() < sizeof(h) || std::memcmp(h.magic, kLogMagic, sizeof(kLogMagic)) != 0 ||
      h.record_size != sizeof(SnapRecord) || (data->size() - sizeof(h)) % sizeof(SnapRecord)) {
    err("%s/%s is not a snapshot log", dir_.c_str(), kLogName);
    return sd::err(sd::Res::Eio);
  }
  log.resize((data->size() - sizeof(h)) / sizeof(SnapRecord));
  if (!log.empty()) std::memcpy(log.data(), data->data() + sizeof(h), log.size() * sizeof(SnapRecord));
  for (auto& r : log) r.tag[sizeof(r.tag) - 1] = '\0';
  return log;
}

const SnapRecord* FarmStore::find(const std::vector<SnapRecord>& log, uint32_t idx,
                                  const std::string& tag) {
  for (const auto& r : log)
    if (r.idx == idx || tag == r.tag) return &r;
  return nullptr;
}

sd::Result<SnapRecord> FarmStore::append_log(const std::string& tag, const Sha1Digest& trunk) {
  auto log = read_log();
  if (!log.ok()) return sd::err(log.code());
  SnapRecord rec{};
  rec.idx = uint32_t(log->size() + 1);
  rec.time = uint64_t(::time(nullptr));
  std::memcpy(rec.trunk_sha1, trunk.data(), trunk.size());
  std::memcpy(rec.tag, tag.data(), std::min(tag.size(), sizeof(rec.tag) - 1));
  log->push_back(rec);
  LogHeader h{};
  std::memcpy(h.magic, kLogMagic, sizeof(kLogMagic));
  h.record_size = sizeof(SnapRecord);
  SD_TRY(write_file_atomic(dir_, kLogName,
                           {{&h, sizeof(h)}, {log->data(), log->size() * sizeof(SnapRecord)}},
                           true));
  return rec;
}

sd::Result<Sha1Digest> FarmStore::put_trunk(const Trunk& t) {
  TrunkHeader h = t.header;
  std::memcpy(h.magic, kTrunkMagic, sizeof(kTrunkMagic));
  h.nr_entries = uint32_t(t.entries.size());
  std::vector<uint8_t> buf(sizeof(h) + t.entries.size() * sizeof(TrunkEntry));
  std::memcpy(buf.data(), &h, sizeof(h));
  if (!t.entries.empty())
    std::memcpy(buf.data() + sizeof(h), t.entries.data(), t.entries.size() * sizeof(TrunkEntry));
  auto sha = put_blob(buf.data(), buf.size());
  if (!sha.ok()) return sha;
  SD_TRY(sync_blobs());
  return sha;
}

sd::Result<Trunk> FarmStore::get_trunk(const Sha1Digest& sha) const {
  auto data = get_blob(sha);
  if (!data.ok()) return sd::err(data.code());
  Trunk t;
  if (data->size() < sizeof(TrunkHeader)) return sd::err(sd::Res::Eio);
  std::memcpy(&t.header, data->data(), sizeof(TrunkHeader));
  if (std::memcmp(t.header.magic, kTrunkMagic, sizeof(kTrunkMagic)) != 0 ||
      data->size() != sizeof(TrunkHeader) + size_t(t.header.nr_entries) * sizeof(TrunkEntry)) {
    err("Trunk %s is corrupted", sha1_hex(sha).c_str());
    return sd::err(sd::Res::Eio);
  }
  t.entries.resize(t.header.nr_entries);
  if (!t.entries.empty())
    std::memcpy(t.entries.data(), data->data() + sizeof(TrunkHeader),
                t.entries.size() * sizeof(TrunkEntry));
  t.header.store[sizeof(t.header.store) - 1] = '\0';
  return t;
}

}  // namespace dog
