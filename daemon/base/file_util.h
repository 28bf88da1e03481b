// Small durable-file helpers: atomic replace through "<path>.tmp" with
// fsync of the file and its directory, and whole-file reads.
#pragma once
#include <string>
#include <vector>

#include "result.h"

namespace sd {

// Writes data to path atomically and durably (tmp, fsync, rename, fsync dir).
Status write_file_atomic(const std::string& path, const void* data, size_t len);
// Reads a whole file; NoObj if it does not exist.
Result<std::vector<char>> read_file(const std::string& path);
Status fsync_dir(const std::string& dir);
std::string dirname_of(const std::string& path);
// mkdir -p.
bool make_dirs(const std::string& path);

}  // namespace sd
