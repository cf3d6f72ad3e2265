#include "engine/base/json_fields.h"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace specd {

using Json = nlohmann::json;

const Json* JsonFields::Find(const std::string& key) const {
  const auto it = object_.find(key);
  return it == object_.end() || it->is_null() ? nullptr : &*it;
}

StatusOr<int64_t> JsonFields::PositiveInt(const std::string& key, std::optional<int64_t> fallback) const {
  const Json* value = Find(key);
  if (value == nullptr) {
    if (fallback) return *fallback;
    return Error("missing required field '" + key + "'");
  }
  if (!value->is_number_integer() || value->get<int64_t>() <= 0) {
    return Error("'" + key + "' must be a positive integer, got " + value->dump());
  }
  return value->get<int64_t>();
}

StatusOr<int64_t> JsonFields::IntInRange(const std::string& key, int64_t fallback, int64_t min,
                                         int64_t max) const {
  const Json* value = Find(key);
  if (value == nullptr) return fallback;
  if (!value->is_number_integer() || value->get<int64_t>() < min || value->get<int64_t>() > max) {
    return Error("'" + key + "' must be an integer in [" + std::to_string(min) + ", " +
                 std::to_string(max) + "], got " + value->dump());
  }
  return value->get<int64_t>();
}

StatusOr<double> JsonFields::PositiveNumber(const std::string& key, double fallback) const {
  const Json* value = Find(key);
  if (value == nullptr) return fallback;
  if (!value->is_number() || value->get<double>() <= 0) {
    return Error("'" + key + "' must be a positive number, got " + value->dump());
  }
  return value->get<double>();
}

StatusOr<bool> JsonFields::Bool(const std::string& key, bool fallback) const {
  const Json* value = Find(key);
  if (value == nullptr) return fallback;
  if (!value->is_boolean()) return Error("'" + key + "' must be true or false, got " + value->dump());
  return value->get<bool>();
}

StatusOr<std::string> JsonFields::String(const std::string& key, const std::string& fallback) const {
  const Json* value = Find(key);
  if (value == nullptr) return fallback;
  if (!value->is_string()) return Error("'" + key + "' must be a string, got " + value->dump());
  return value->get<std::string>();
}

StatusOr<std::vector<int32_t>> JsonFields::TokenIds(const std::string& key) const {
  const Json* value = Find(key);
  std::vector<int32_t> ids;
  if (value == nullptr) return ids;
  const auto items = value->is_array() ? *value : Json::array({*value});
  for (const auto& item : items) {
    if (!item.is_number_integer() || item.get<int64_t>() < 0 || item.get<int64_t>() > INT32_MAX) {
      return Error("'" + key + "' must be a token id or a list of token ids, got " + value->dump());
    }
    ids.push_back(item.get<int32_t>());
  }
  return ids;
}

StatusOr<std::optional<JsonFields>> JsonFields::Object(const std::string& key) const {
  const Json* value = Find(key);
  if (value == nullptr) return std::optional<JsonFields>();
  if (!value->is_object()) return Error("'" + key + "' must be an object, got " + value->dump());
  return std::optional<JsonFields>(JsonFields(*value, source_ + ": '" + key + "'"));
}

StatusOr<std::vector<JsonFields>> JsonFields::ObjectArray(const std::string& key) const {
  const Json* value = Find(key);
  std::vector<JsonFields> objects;
  if (value == nullptr) return objects;
  if (!value->is_array()) return Error("'" + key + "' must be a list, got " + value->dump());
  for (size_t i = 0; i < value->size(); ++i) {
    const std::string where = source_ + ": '" + key + "'[" + std::to_string(i) + "]";
    if (!(*value)[i].is_object()) return InvalidArgumentError(where + ": must be an object");
    objects.emplace_back((*value)[i], where);
  }
  return objects;
}

Status JsonFields::RejectUnknownKeys(const std::vector<std::string_view>& known) const {
  for (const auto& [key, value] : object_.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return Error("unknown key '" + key + "'");
    }
  }
  return OkStatus();
}

StatusOr<Json> ParseJsonObject(const std::string& text, const std::string& source) {
  Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return InvalidArgumentError(source + ": malformed JSON");
  if (!json.is_object()) return InvalidArgumentError(source + ": not a JSON object");
  return json;
}

StatusOr<Json> ReadJsonObjectFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return FailedPreconditionError(path + ": cannot open");
  std::stringstream text;
  text << in.rdbuf();
  return ParseJsonObject(text.str(), path);
}

}  // namespace specd
