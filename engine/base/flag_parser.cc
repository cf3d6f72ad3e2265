#include "engine/base/flag_parser.h"

#include <cerrno>
#include <cstdlib>

namespace specd {

FlagParser::FlagParser(std::set<std::string> value_flags, std::set<std::string> switch_flags)
    : value_flags_(std::move(value_flags)), switch_flags_(std::move(switch_flags)) {}

Status FlagParser::Parse(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.rfind("--", 0) != 0 || arg.size() == 2) {
      return InvalidArgumentError("unexpected argument '" + arg + "'");
    }
    std::string name = arg.substr(2);
    std::string value;
    const size_t equals = name.find('=');
    const bool inline_value = equals != std::string::npos;
    if (inline_value) {
      value = name.substr(equals + 1);
      name = name.substr(0, equals);
    }
    if (switch_flags_.count(name) > 0) {
      if (inline_value) return InvalidArgumentError("--" + name + " takes no value");
    } else if (value_flags_.count(name) > 0) {
      if (!inline_value) {
        if (i + 1 >= args.size()) return InvalidArgumentError("--" + name + " needs a value");
        value = args[++i];
      }
    } else {
      return InvalidArgumentError("unknown flag --" + name);
    }
    if (values_.count(name) > 0) return InvalidArgumentError("--" + name + " given twice");
    values_[name] = value;
  }
  return OkStatus();
}

std::string FlagParser::GetString(const std::string& name, const std::string& fallback) const {
  const auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

StatusOr<int64_t> FlagParser::GetInt(const std::string& name, int64_t fallback) const {
  const auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  char* end = nullptr;
  errno = 0;
  const long long value = std::strtoll(it->second.c_str(), &end, 10);
  if (it->second.empty() || *end != '\0' || errno == ERANGE) {
    return InvalidArgumentError("--" + name + " must be an integer, got '" + it->second + "'");
  }
  return static_cast<int64_t>(value);
}

StatusOr<double> FlagParser::GetDouble(const std::string& name, double fallback) const {
  const auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(it->second.c_str(), &end);
  if (it->second.empty() || *end != '\0' || errno == ERANGE) {
    return InvalidArgumentError("--" + name + " must be a number, got '" + it->second + "'");
  }
  return value;
}

}  // namespace specd
