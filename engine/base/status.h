// Status and StatusOr: how every fallible operation in specd reports an error.
//
// Anything a request or an input file can cause is a Status carrying a code and a message that
// names the problem (the file, the field). Broken invariants are not Statuses: they CHECK-fail
// (check.h). The codes mirror grpc::StatusCode so that the server maps them one to one.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "engine/base/check.h"

namespace specd {

enum class StatusCode {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
};

// The upper-case name of a code, as gRPC spells it ("INVALID_ARGUMENT").
const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message);

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "INVALID_ARGUMENT: message", or "OK".
  std::string ToString() const;

  // Returns a copy whose message is "context: message" (code unchanged).
  Status WithContext(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status OkStatus() { return Status(); }
Status InvalidArgumentError(std::string message);
Status NotFoundError(std::string message);
Status FailedPreconditionError(std::string message);
Status UnimplementedError(std::string message);
Status DataLossError(std::string message);
Status InternalError(std::string message);
Status OutOfRangeError(std::string message);
Status ResourceExhaustedError(std::string message);
Status UnavailableError(std::string message);

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  StatusOr(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    SPECD_CHECK(!status_.ok()) << "StatusOr built from an OK status without a value";
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & { return CheckedValue(); }
  const T& value() const& {
    SPECD_CHECK(ok()) << "value() on an error: " << status_.ToString();
    return *value_;
  }
  T&& value() && { return std::move(CheckedValue()); }
  T& operator*() & { return CheckedValue(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &CheckedValue(); }
  const T* operator->() const { return &value(); }

 private:
  T& CheckedValue() {
    SPECD_CHECK(ok()) << "value() on an error: " << status_.ToString();
    return *value_;
  }

  Status status_;
  std::optional<T> value_;
};

}  // namespace specd

#define SPECD_STATUS_CONCAT_INNER(a, b) a##b
#define SPECD_STATUS_CONCAT(a, b) SPECD_STATUS_CONCAT_INNER(a, b)

// Returns from the enclosing function if `expr` (a Status) is not OK.
#define SPECD_RETURN_IF_ERROR(expr)              \
  do {                                           \
    ::specd::Status specd_status_ = (expr);      \
    if (!specd_status_.ok()) return specd_status_; \
  } while (0)

// `lhs = value of expr` (a StatusOr), or returns its Status from the enclosing function.
#define SPECD_ASSIGN_OR_RETURN(lhs, expr) \
  SPECD_ASSIGN_OR_RETURN_IMPL(SPECD_STATUS_CONCAT(specd_statusor_, __LINE__), lhs, expr)
#define SPECD_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()
