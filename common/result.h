// Result<T>: a value or a sheepdog result code, returned instead of thrown.
//
// Every fallible function in the project returns Result<T> (or Result<void>)
// whose error vocabulary is sd::Res, the wire result codes. A Result never
// holds Res::Success as an error.
#pragma once
#include <cassert>
#include <optional>
#include <utility>

#include "proto/results.h"

namespace sd {

struct Err {
  Res code;
};
inline Err err(Res r) { return Err{r}; }

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}
  Result(Err e) : code_(e.code) { assert(e.code != Res::Success); }
  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }
  Res code() const { return ok() ? Res::Success : code_; }
  T& value() & { assert(ok()); return *value_; }
  T&& value() && { assert(ok()); return std::move(*value_); }
  const T& value() const& { assert(ok()); return *value_; }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }

 private:
  std::optional<T> value_;
  Res code_ = Res::Success;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Err e) : code_(e.code) {}
  Result(Res r) : code_(r) {}
  bool ok() const { return code_ == Res::Success; }
  explicit operator bool() const { return ok(); }
  Res code() const { return code_; }

 private:
  Res code_ = Res::Success;
};

using Status = Result<void>;

// Propagates an error from an expression returning any Result.
#define SD_TRY(expr)                                  \
  do {                                                \
    auto sd_try_res_ = (expr);                        \
    if (!sd_try_res_.ok()) return ::sd::err(sd_try_res_.code()); \
  } while (0)

}  // namespace sd
