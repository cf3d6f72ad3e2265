// Parsing and sampling token-length distributions (see length_distribution.h).
#include "bench/load/length_distribution.h"

#include <algorithm>
#include <cmath>

namespace specd::bench {
namespace {

StatusOr<int64_t> Length(const JsonFields& fields, const std::string& key) {
  if (fields.Find(key) == nullptr) return fields.Error("missing required field '" + key + "'");
  return fields.IntInRange(key, 0, 1, LengthDistribution::kMaxLength);
}

}  // namespace

LengthDistribution LengthDistribution::Fixed(int64_t length) {
  LengthDistribution distribution;
  distribution.min_ = distribution.max_ = length;
  return distribution;
}

StatusOr<LengthDistribution> LengthDistribution::Parse(const JsonFields& parent, const std::string& key) {
  const nlohmann::json* value = parent.Find(key);
  if (value == nullptr) return parent.Error("missing required field '" + key + "'");
  if (value->is_number()) {
    SPECD_ASSIGN_OR_RETURN(const int64_t length, parent.IntInRange(key, 0, 1, kMaxLength));
    return Fixed(length);
  }
  if (!value->is_object()) {
    return parent.Error("'" + key + "' must be a token count or a distribution object, got " + value->dump());
  }
  SPECD_ASSIGN_OR_RETURN(const std::optional<JsonFields> fields, parent.Object(key));
  return ParseObject(*fields);
}

StatusOr<LengthDistribution> LengthDistribution::ParseObject(const JsonFields& fields) {
  if (fields.Find("distribution") == nullptr) return fields.Error("missing required field 'distribution'");
  SPECD_ASSIGN_OR_RETURN(const std::string name, fields.String("distribution", ""));
  if (name == "fixed") {
    SPECD_RETURN_IF_ERROR(fields.RejectUnknownKeys({"distribution", "value"}));
    SPECD_ASSIGN_OR_RETURN(const int64_t length, Length(fields, "value"));
    return Fixed(length);
  }
  if (name != "uniform" && name != "normal") {
    return fields.Error("'distribution' must be \"fixed\", \"uniform\" or \"normal\", got \"" + name + "\"");
  }
  LengthDistribution distribution;
  SPECD_ASSIGN_OR_RETURN(distribution.min_, Length(fields, "min"));
  SPECD_ASSIGN_OR_RETURN(distribution.max_, Length(fields, "max"));
  if (distribution.min_ > distribution.max_) return fields.Error("need min <= max");
  if (name == "uniform") {
    SPECD_RETURN_IF_ERROR(fields.RejectUnknownKeys({"distribution", "min", "max"}));
    distribution.kind_ = Kind::kUniform;
    return distribution;
  }
  SPECD_RETURN_IF_ERROR(fields.RejectUnknownKeys({"distribution", "min", "max", "mean", "stddev"}));
  if (fields.Find("mean") == nullptr || fields.Find("stddev") == nullptr) {
    return fields.Error("the normal distribution needs 'mean' and 'stddev'");
  }
  distribution.kind_ = Kind::kNormal;
  SPECD_ASSIGN_OR_RETURN(distribution.mean_, fields.PositiveNumber("mean", 0));
  SPECD_ASSIGN_OR_RETURN(distribution.stddev_, fields.PositiveNumber("stddev", 0));
  return distribution;
}

int64_t LengthDistribution::Sample(SeededRng& rng) const {
  switch (kind_) {
    case Kind::kFixed:
      return min_;
    case Kind::kUniform:
      return rng.UniformInt(min_, max_);
    case Kind::kNormal:
      return std::clamp(static_cast<int64_t>(std::llround(rng.Normal(mean_, stddev_))), min_, max_);
  }
  return min_;
}

nlohmann::json LengthDistribution::ToJson() const {
  switch (kind_) {
    case Kind::kFixed:
      return {{"distribution", "fixed"}, {"value", min_}};
    case Kind::kUniform:
      return {{"distribution", "uniform"}, {"min", min_}, {"max", max_}};
    case Kind::kNormal:
      return {{"distribution", "normal"}, {"mean", mean_}, {"stddev", stddev_}, {"min", min_}, {"max", max_}};
  }
  return nullptr;
}

}  // namespace specd::bench
