#include "server/metrics/text_format.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <set>

#include "engine/base/check.h"

namespace specd::metrics {
namespace {

bool IsAsciiLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }

// Largest magnitude below which every integer is exact in a double (2^53).
constexpr double kMaxExactInteger = 9007199254740992.0;

}  // namespace

bool IsValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = IsAsciiLetter(c) || c == '_' || c == ':' || (i > 0 && IsAsciiDigit(c));
    if (!ok) return false;
  }
  return true;
}

bool IsValidLabelName(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = IsAsciiLetter(c) || c == '_' || (i > 0 && IsAsciiDigit(c));
    if (!ok) return false;
  }
  return true;
}

void CheckFamilyNames(std::string_view name, const std::vector<std::string>& label_names,
                      std::string_view reserved) {
  SPECD_CHECK(IsValidMetricName(name)) << "invalid metric name '" << name << "'";
  std::set<std::string_view> seen;
  for (const std::string& label : label_names) {
    SPECD_CHECK(IsValidLabelName(label))
        << "metric " << name << ": invalid label name '" << label << "'";
    SPECD_CHECK(reserved.empty() || label != reserved)
        << "metric " << name << ": label name '" << label << "' is reserved";
    SPECD_CHECK(seen.insert(label).second)
        << "metric " << name << ": label name '" << label << "' repeated";
  }
}

std::string EscapeHelp(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (const char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::trunc(value) && std::fabs(value) < kMaxExactInteger) {
    return std::to_string(static_cast<int64_t>(value));
  }
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  SPECD_CHECK(result.ec == std::errc()) << "to_chars failed";
  return std::string(buffer, result.ptr);
}

std::string FormatLabels(const std::vector<std::string>& names,
                         const std::vector<std::string>& values) {
  SPECD_CHECK(names.size() == values.size())
      << names.size() << " label names, " << values.size() << " values";
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i];
    out += "=\"";
    out += EscapeLabelValue(values[i]);
    out += '"';
  }
  return out;
}

void AppendFamilyHeader(std::string_view name, std::string_view help, std::string_view type,
                        std::string* out) {
  out->append("# HELP ").append(name).append(" ").append(EscapeHelp(help)).append("\n");
  out->append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void AppendSample(std::string_view name, std::string_view labels, double value, std::string* out) {
  out->append(name);
  if (!labels.empty()) out->append("{").append(labels).append("}");
  out->append(" ").append(FormatValue(value)).append("\n");
}

}  // namespace specd::metrics
