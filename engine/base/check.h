// SPECD_CHECK: aborts loudly when an invariant of the program itself is broken.
//
// Use it for bugs, never for bad input (that is a Status). The failure is logged through spdlog
// with file, line, the condition and any streamed detail, then the process aborts:
//   SPECD_CHECK(ref_count >= 0) << "block " << block_id;
#pragma once

#include <sstream>

namespace specd::internal {

// Collects the streamed message; its destructor logs and aborts.
class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* condition);
  [[noreturn]] ~CheckFailure();

  template <typename T>
  CheckFailure& operator<<(const T& value) {
    detail_ << value;
    return *this;
  }

 private:
  const char* file_;
  int line_;
  const char* condition_;
  std::ostringstream detail_;
};

// Lets `cond ? (void)0 : Voidify() & CheckFailure(...) << x` type-check.
struct Voidify {
  void operator&(const CheckFailure&) {}
};

}  // namespace specd::internal

#define SPECD_CHECK(condition)                \
  (condition) ? (void)0                       \
              : ::specd::internal::Voidify() & \
                    ::specd::internal::CheckFailure(__FILE__, __LINE__, #condition)

#ifdef NDEBUG
// Debug-only check: compiled out (condition not evaluated) in release builds.
#define SPECD_DCHECK(condition) \
  while (false) SPECD_CHECK(condition)
#else
#define SPECD_DCHECK(condition) SPECD_CHECK(condition)
#endif
