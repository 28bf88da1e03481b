// Durable file helpers.
#include "base/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace sd {

std::string dirname_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status fsync_dir(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return err(res_from_errno(errno));
  int rc = fsync(fd);
  int e = errno;
  close(fd);
  if (rc < 0) return err(res_from_errno(e));
  return {};
}

Status pwrite_full(int fd, const void* buf, size_t len, uint64_t off) {
  const char* p = static_cast<const char*>(buf);
  while (len) {
    ssize_t n = pwrite(fd, p, len, off_t(off));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return err(res_from_errno(errno));
    p += n;
    len -= size_t(n);
    off += uint64_t(n);
  }
  return {};
}

int pread_padded(int fd, void* buf, size_t len, uint64_t off) {
  char* p = static_cast<char*>(buf);
  while (len) {
    ssize_t n = pread(fd, p, len, off_t(off));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) {  // beyond the end of a short file: zeros
      std::memset(p, 0, len);
      break;
    }
    p += n;
    len -= size_t(n);
    off += uint64_t(n);
  }
  return 0;
}

Status write_file_atomic(const std::string& path, const void* data, size_t len) {
  std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return err(res_from_errno(errno));
  const char* p = static_cast<const char*>(data);
  size_t left = len;
  while (left) {
    ssize_t n = write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      unlink(tmp.c_str());
      return err(res_from_errno(e));
    }
    p += n;
    left -= size_t(n);
  }
  if (fsync(fd) < 0) {
    int e = errno;
    close(fd);
    unlink(tmp.c_str());
    return err(res_from_errno(e));
  }
  close(fd);
  if (rename(tmp.c_str(), path.c_str()) < 0) return err(res_from_errno(errno));
  return fsync_dir(dirname_of(path));
}

Result<std::vector<char>> read_file(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return err(errno == ENOENT ? Res::NoObj : res_from_errno(errno));
  std::vector<char> out;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      return err(res_from_errno(e));
    }
    if (n == 0) break;
    out.insert(out.end(), buf, buf + n);
  }
  close(fd);
  return out;
}

bool make_dirs(const std::string& path, unsigned mode) {
  if (path.empty()) return false;
  struct stat st;
  if (stat(path.c_str(), &st) == 0) return S_ISDIR(st.st_mode);
  std::string parent = dirname_of(path);
  if (parent != path && !make_dirs(parent, mode)) return false;
  return mkdir(path.c_str(), mode_t(mode)) == 0 || errno == EEXIST;
}

bool check_private(int fd, const std::string& path, std::string* why) {
  struct stat st;
  if (fstat(fd, &st) < 0) {
    *why = path + ": " + std::strerror(errno);
    return false;
  }
  if (st.st_uid != geteuid()) {
    *why = path + " is owned by uid " + std::to_string(st.st_uid) + ", not by this user (uid " +
           std::to_string(geteuid()) + ")";
    return false;
  }
  if (st.st_mode & 022) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", unsigned(st.st_mode & 07777));
    *why = path + " is writable by " + ((st.st_mode & 002) ? "others" : "its group") +
           " (mode " + mode + ")";
    return false;
  }
  return true;
}

int open_private_dir(const std::string& path, std::string* why) {
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    *why = path + ": " + (errno == ELOOP || errno == ENOTDIR ? "not a directory (a symlink?)"
                                                              : std::strerror(errno));
    return -1;
  }
  if (!check_private(fd, path, why)) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace sd
