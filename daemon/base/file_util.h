// Small durable-file helpers: atomic replace through "<path>.tmp" with
// fsync of the file and its directory, whole-file reads, and positioned
// reads and writes that finish what they start.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "result.h"

namespace sd {

// Writes data to path atomically and durably (tmp, fsync, rename, fsync dir).
Status write_file_atomic(const std::string& path, const void* data, size_t len);
// Reads a whole file; NoObj if it does not exist.
Result<std::vector<char>> read_file(const std::string& path);
Status fsync_dir(const std::string& dir);
// pwrite until all len bytes are written (EINTR retried).
Status pwrite_full(int fd, const void* buf, size_t len, uint64_t off);
// pread until len bytes are read; bytes beyond the end of the file read as
// zeros. 0, or the errno of the failed read.
int pread_padded(int fd, void* buf, size_t len, uint64_t off);
std::string dirname_of(const std::string& path);
// mkdir -p; directories it creates get `mode`.
bool make_dirs(const std::string& path, unsigned mode = 0755);
// Opens an existing directory that only this user may change: not a
// symlink, owned by the effective user, not writable by group or others.
// -1 with *why set otherwise (O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC fd).
int open_private_dir(const std::string& path, std::string* why);
// The same checks on an open file or directory (fstat).
bool check_private(int fd, const std::string& path, std::string* why);

}  // namespace sd
