// Command-line flags for specd's programs: "--name value", "--name=value" and bare "--switch".
// Unknown flags, missing values and malformed numbers are errors naming the flag, so a typo never
// silently falls back to a default.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/base/status.h"

namespace specd {

class FlagParser {
 public:
  // `value_flags` take a value; `switch_flags` do not. Names without the leading "--".
  FlagParser(std::set<std::string> value_flags, std::set<std::string> switch_flags);

  // Parses args (program and subcommand already removed). INVALID_ARGUMENT on any problem.
  Status Parse(const std::vector<std::string>& args);

  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  std::string GetString(const std::string& name, const std::string& fallback) const;
  StatusOr<int64_t> GetInt(const std::string& name, int64_t fallback) const;
  StatusOr<double> GetDouble(const std::string& name, double fallback) const;
  bool GetSwitch(const std::string& name) const { return Has(name); }

 private:
  std::set<std::string> value_flags_;
  std::set<std::string> switch_flags_;
  std::map<std::string, std::string> values_;
};

}  // namespace specd
