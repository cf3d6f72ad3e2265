#include "bench/harness/expectations.h"

#include <climits>
#include <filesystem>
#include <fstream>

#include "engine/base/json_fields.h"

namespace specd::bench {
namespace {

using Json = nlohmann::json;

template <typename T>
Json OptionalJson(const std::optional<T>& value) {
  return value.has_value() ? Json(*value) : Json(nullptr);
}

template <typename T>
Json FiguresJson(const VariantFigures<T>& figures) {
  return {{"baseline", OptionalJson(figures.baseline)}, {"optimized", OptionalJson(figures.optimized)}};
}

StatusOr<double> RequiredPositive(const JsonFields& fields, const std::string& key) {
  if (fields.Find(key) == nullptr) return fields.Error("'" + key + "' is missing");
  return fields.PositiveNumber(key, 0);
}

// {"baseline": x or null, "optimized": y or null}; the object itself may be missing.
template <typename T>
StatusOr<VariantFigures<T>> ParseFigures(const JsonFields& fields, const std::string& key) {
  SPECD_ASSIGN_OR_RETURN(const auto object, fields.Object(key));
  VariantFigures<T> figures;
  if (!object.has_value()) return figures;
  SPECD_RETURN_IF_ERROR(object->RejectUnknownKeys({"baseline", "optimized"}));
  for (auto [name, slot] : {std::pair{"baseline", &figures.baseline}, std::pair{"optimized", &figures.optimized}}) {
    const Json* value = object->Find(name);
    if (value == nullptr) continue;
    if (!value->is_number() || value->get<double>() < 0) {
      return object->Error(std::string("'") + name + "' must be a non-negative number or null, got " + value->dump());
    }
    *slot = value->get<T>();
  }
  return figures;
}

StatusOr<ExpectedFigures> ParsePair(const JsonFields& fields) {
  SPECD_RETURN_IF_ERROR(fields.RejectUnknownKeys(
      {"baseline_ms", "optimized_ms", "speedup", "memory_bytes", "tokens_per_s", "commit", "date"}));
  ExpectedFigures figures;
  SPECD_ASSIGN_OR_RETURN(figures.baseline_ms, RequiredPositive(fields, "baseline_ms"));
  SPECD_ASSIGN_OR_RETURN(figures.optimized_ms, RequiredPositive(fields, "optimized_ms"));
  SPECD_ASSIGN_OR_RETURN(figures.speedup, RequiredPositive(fields, "speedup"));
  SPECD_ASSIGN_OR_RETURN(figures.memory_bytes, ParseFigures<int64_t>(fields, "memory_bytes"));
  SPECD_ASSIGN_OR_RETURN(figures.tokens_per_s, ParseFigures<double>(fields, "tokens_per_s"));
  SPECD_ASSIGN_OR_RETURN(figures.commit, fields.String("commit", ""));
  SPECD_ASSIGN_OR_RETURN(figures.date, fields.String("date", ""));
  return figures;
}

}  // namespace

StatusOr<Expectations> Expectations::Load(const std::string& path, const std::string& hardware_key,
                                          const std::string& device) {
  if (!std::filesystem::exists(path)) return Expectations(hardware_key, device);
  SPECD_ASSIGN_OR_RETURN(const Json json, ReadJsonObjectFile(path));
  SPECD_ASSIGN_OR_RETURN(Expectations expectations, FromJson(json, path));
  if (expectations.hardware_key_ != hardware_key) {
    return InvalidArgumentError(path + " holds expectations for '" + expectations.hardware_key_ +
                                "', and this machine is '" + hardware_key + "' (" + device + ")");
  }
  return expectations;
}

StatusOr<Expectations> Expectations::FromJson(const Json& json, const std::string& source) {
  const JsonFields fields(json, source);
  SPECD_RETURN_IF_ERROR(fields.RejectUnknownKeys({"schema_version", "hardware_key", "device", "pairs"}));
  SPECD_ASSIGN_OR_RETURN(const int64_t version, fields.IntInRange("schema_version", 0, 0, INT32_MAX));
  if (version != kSchemaVersion) {
    return fields.Error("'schema_version' " + std::to_string(version) + " is not the supported version " +
                        std::to_string(kSchemaVersion));
  }
  SPECD_ASSIGN_OR_RETURN(const std::string hardware_key, fields.String("hardware_key", ""));
  if (hardware_key.empty()) return fields.Error("'hardware_key' is missing");
  SPECD_ASSIGN_OR_RETURN(const std::string device, fields.String("device", ""));
  Expectations expectations(hardware_key, device);
  SPECD_ASSIGN_OR_RETURN(const auto pairs, fields.Object("pairs"));
  if (!pairs.has_value()) return expectations;
  const Json& pairs_json = *fields.Find("pairs");
  for (const auto& [name, value] : pairs_json.items()) {
    SPECD_ASSIGN_OR_RETURN(const auto pair, pairs->Object(name));
    if (!pair.has_value()) return pairs->Error("'" + name + "' must be an object, got null");
    SPECD_ASSIGN_OR_RETURN(expectations.pairs_[name], ParsePair(*pair));
  }
  return expectations;
}

const ExpectedFigures* Expectations::Find(const std::string& pair) const {
  const auto it = pairs_.find(pair);
  return it == pairs_.end() ? nullptr : &it->second;
}

Json Expectations::ToJson() const {
  Json pairs = Json::object();
  for (const auto& [name, f] : pairs_) {
    pairs[name] = {{"baseline_ms", f.baseline_ms}, {"optimized_ms", f.optimized_ms}, {"speedup", f.speedup},
                   {"memory_bytes", FiguresJson(f.memory_bytes)}, {"tokens_per_s", FiguresJson(f.tokens_per_s)},
                   {"commit", f.commit}, {"date", f.date}};
  }
  return {{"schema_version", kSchemaVersion}, {"hardware_key", hardware_key_}, {"device", device_}, {"pairs", pairs}};
}

Status Expectations::Save(const std::string& path) const {
  std::ofstream out(path);
  out << ToJson().dump(2) << "\n";
  out.close();
  if (!out) return FailedPreconditionError("cannot write the expectations file " + path);
  return OkStatus();
}

}  // namespace specd::bench
