// JsonView: typed, path-aware access to the fields of tokenizer.json. Every error is an
// INVALID_ARGUMENT Status naming the JSON path ("model.merges[3]: expected a string"); the
// loader prefixes the file name. Unknown keys are ignored, as tokenizers does.
//
// A view never outlives the parsed document it points into. Read-only, used at load time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/base/status.h"
#include "engine/tokenizer/unicode_regex.h"

namespace specd {

class JsonView {
 public:
  JsonView(const nlohmann::json& value, std::string path)
      : value_(&value), path_(std::move(path)) {}

  const nlohmann::json& json() const { return *value_; }
  const std::string& path() const { return path_; }
  bool IsNull() const { return value_->is_null(); }

  // Whether `key` is present with a non-null value.
  bool Has(std::string_view key) const;
  // The value under `key`; a missing key reads as null.
  JsonView Get(std::string_view key) const;

  // Required fields.
  StatusOr<std::string> String(std::string_view key) const;
  StatusOr<int64_t> Int(std::string_view key) const;
  StatusOr<std::vector<JsonView>> Array(std::string_view key) const;
  // The elements of this value, which must be an array.
  StatusOr<std::vector<JsonView>> Items() const;
  // An object field; "expected an object" when it is anything else.
  StatusOr<JsonView> Object(std::string_view key) const;
  // A string holding exactly one character.
  StatusOr<char32_t> Char(std::string_view key) const;
  // A {"String": ...} or {"Regex": ...} pattern, compiled.
  StatusOr<UnicodeRegex> Pattern(std::string_view key) const;
  // The "type" of a component.
  StatusOr<std::string> Type() const { return String("type"); }

  // Optional fields: `fallback` when missing or null.
  StatusOr<bool> BoolOr(std::string_view key, bool fallback) const;
  StatusOr<std::string> StringOr(std::string_view key, std::string fallback) const;

  // INVALID_ARGUMENT "<path>: <message>".
  Status Error(const std::string& message) const;
  // Error about a component type this loader does not support.
  Status Unsupported(const std::string& kind, const std::string& type) const;

 private:
  std::string ChildPath(std::string_view key) const;

  const nlohmann::json* value_;
  std::string path_;
};

// The components listed under config[key] (a Sequence's steps), each built by
// Component::FromJson; `what` names one in the error for a null entry ("a decoder").
template <typename Component>
StatusOr<std::vector<std::unique_ptr<Component>>> ComponentList(const JsonView& config,
                                                                std::string_view key,
                                                                const std::string& what) {
  SPECD_ASSIGN_OR_RETURN(const std::vector<JsonView> items, config.Array(key));
  std::vector<std::unique_ptr<Component>> steps;
  for (const JsonView& item : items) {
    if (item.IsNull()) return item.Error("expected " + what + ", got null");
    SPECD_ASSIGN_OR_RETURN(std::unique_ptr<Component> step, Component::FromJson(item));
    steps.push_back(std::move(step));
  }
  return steps;
}

}  // namespace specd
