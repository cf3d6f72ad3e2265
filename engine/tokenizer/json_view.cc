// JsonView (see json_view.h).
#include "engine/tokenizer/json_view.h"

#include "engine/tokenizer/utf8.h"

namespace specd {
namespace {

const nlohmann::json& NullJson() {
  static const nlohmann::json kNull;
  return kNull;
}

}  // namespace

std::string JsonView::ChildPath(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

bool JsonView::Has(std::string_view key) const { return !Get(key).IsNull(); }

JsonView JsonView::Get(std::string_view key) const {
  if (value_->is_object()) {
    const auto it = value_->find(key);
    if (it != value_->end()) return JsonView(*it, ChildPath(key));
  }
  return JsonView(NullJson(), ChildPath(key));
}

Status JsonView::Error(const std::string& message) const {
  return InvalidArgumentError((path_.empty() ? std::string("(root)") : path_) + ": " + message);
}

Status JsonView::Unsupported(const std::string& kind, const std::string& type) const {
  return Error("unsupported " + kind + " type '" + type + "'");
}

StatusOr<std::string> JsonView::String(std::string_view key) const {
  const JsonView field = Get(key);
  if (field.IsNull()) return field.Error("missing required field");
  if (!field.json().is_string()) return field.Error("expected a string");
  return field.json().get<std::string>();
}

StatusOr<int64_t> JsonView::Int(std::string_view key) const {
  const JsonView field = Get(key);
  if (field.IsNull()) return field.Error("missing required field");
  if (!field.json().is_number_integer()) return field.Error("expected an integer");
  return field.json().get<int64_t>();
}

StatusOr<std::vector<JsonView>> JsonView::Array(std::string_view key) const {
  const JsonView field = Get(key);
  if (field.IsNull()) return field.Error("missing required field");
  return field.Items();
}

StatusOr<std::vector<JsonView>> JsonView::Items() const {
  if (!value_->is_array()) return Error("expected an array");
  std::vector<JsonView> items;
  items.reserve(value_->size());
  for (size_t i = 0; i < value_->size(); ++i) {
    items.emplace_back((*value_)[i], path_ + "[" + std::to_string(i) + "]");
  }
  return items;
}

StatusOr<JsonView> JsonView::Object(std::string_view key) const {
  const JsonView field = Get(key);
  if (field.IsNull()) return field.Error("missing required field");
  if (!field.json().is_object()) return field.Error("expected an object");
  return field;
}

StatusOr<char32_t> JsonView::Char(std::string_view key) const {
  SPECD_ASSIGN_OR_RETURN(const std::string text, String(key));
  if (utf8::FindInvalid(text) || utf8::CountChars(text) != 1) {
    return Get(key).Error("expected exactly one character, got '" + text + "'");
  }
  return utf8::DecodeAt(text, 0).code_point;
}

StatusOr<UnicodeRegex> JsonView::Pattern(std::string_view key) const {
  SPECD_ASSIGN_OR_RETURN(const JsonView pattern, Object(key));
  const bool is_string = pattern.Has("String");
  if (is_string == pattern.Has("Regex")) {
    return pattern.Error("expected {\"String\": ...} or {\"Regex\": ...}");
  }
  SPECD_ASSIGN_OR_RETURN(const std::string text, pattern.String(is_string ? "String" : "Regex"));
  StatusOr<UnicodeRegex> regex =
      is_string ? UnicodeRegex::Literal(text) : UnicodeRegex::Compile(text);
  if (!regex.ok()) return pattern.Error(regex.status().message());
  return regex;
}

StatusOr<bool> JsonView::BoolOr(std::string_view key, bool fallback) const {
  const JsonView field = Get(key);
  if (field.IsNull()) return fallback;
  if (!field.json().is_boolean()) return field.Error("expected true or false");
  return field.json().get<bool>();
}

StatusOr<std::string> JsonView::StringOr(std::string_view key, std::string fallback) const {
  if (!Has(key)) return fallback;
  return String(key);
}

}  // namespace specd
