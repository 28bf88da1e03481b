// Little helpers to build and parse the driver's own records: integers,
// length-prefixed strings and byte blobs, and raw sd_node structs.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "proto/node.h"

namespace sd {

class RecordWriter {
 public:
  RecordWriter& u8(uint8_t v) { return raw(&v, 1); }
  RecordWriter& u32(uint32_t v) { return raw(&v, 4); }
  RecordWriter& u64(uint64_t v) { return raw(&v, 8); }
  RecordWriter& str(const std::string& s) { return u32(uint32_t(s.size())).raw(s.data(), s.size()); }
  RecordWriter& bytes(const std::vector<char>& b) {
    return u32(uint32_t(b.size())).raw(b.data(), b.size());
  }
  RecordWriter& node(const SdNode& n) { return raw(&n, sizeof(n)); }
  RecordWriter& raw(const void* p, size_t n) {
    const char* c = static_cast<const char*>(p);
    buf_.insert(buf_.end(), c, c + n);
    return *this;
  }
  std::vector<char>& buf() { return buf_; }

 private:
  std::vector<char> buf_;
};

// Parsing never reads past the end: a short record sets ok() to false.
class RecordReader {
 public:
  RecordReader(const char* p, size_t n) : p_(p), n_(n) {}
  explicit RecordReader(const std::vector<char>& v) : p_(v.data()), n_(v.size()) {}
  uint8_t u8() { uint8_t v = 0; raw(&v, 1); return v; }
  uint32_t u32() { uint32_t v = 0; raw(&v, 4); return v; }
  uint64_t u64() { uint64_t v = 0; raw(&v, 8); return v; }
  std::string str() {
    uint32_t n = u32();
    if (!ok_ || n > n_ - off_) { ok_ = false; return {}; }
    std::string s(p_ + off_, n);
    off_ += n;
    return s;
  }
  std::vector<char> bytes() {
    uint32_t n = u32();
    if (!ok_ || n > n_ - off_) { ok_ = false; return {}; }
    std::vector<char> b(p_ + off_, p_ + off_ + n);
    off_ += n;
    return b;
  }
  SdNode node() { SdNode n{}; raw(&n, sizeof(n)); return n; }
  bool raw(void* out, size_t n) {
    if (!ok_ || n > n_ - off_) { ok_ = false; return false; }
    std::memcpy(out, p_ + off_, n);
    off_ += n;
    return true;
  }
  bool ok() const { return ok_; }
  void fail() { ok_ = false; }  // the caller found the record malformed

 private:
  const char* p_;
  size_t n_;
  size_t off_ = 0;
  bool ok_ = true;
};

}  // namespace sd
