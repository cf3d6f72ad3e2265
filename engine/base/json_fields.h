// JsonFields: typed access to one JSON object's fields, with errors that name the source (file
// and path) and the field: "configs/engine.json: 'max_num_seqs' must be an integer in [1, 4096],
// got 0". Used for Hugging Face files (unknown keys ignored) and for our own configs, which
// call RejectUnknownKeys. A view: the JSON must outlive it. Read-only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/base/status.h"

namespace specd {

class JsonFields {
 public:
  JsonFields(const nlohmann::json& object, std::string source)
      : object_(object), source_(std::move(source)) {}

  // The value under `key`, or nullptr when it is missing or null.
  const nlohmann::json* Find(const std::string& key) const;

  StatusOr<int64_t> PositiveInt(const std::string& key, std::optional<int64_t> fallback) const;
  StatusOr<int64_t> IntInRange(const std::string& key, int64_t fallback, int64_t min, int64_t max) const;
  StatusOr<double> PositiveNumber(const std::string& key, double fallback) const;
  StatusOr<bool> Bool(const std::string& key, bool fallback) const;
  StatusOr<std::string> String(const std::string& key, const std::string& fallback) const;
  // A token id, or a list of them (eos_token_id may be either).
  StatusOr<std::vector<int32_t>> TokenIds(const std::string& key) const;
  // A nested object (nullopt when missing); its source is "<source>: '<key>'".
  StatusOr<std::optional<JsonFields>> Object(const std::string& key) const;
  // The objects of an array field (empty when missing); sources "<source>: '<key>'[i]".
  StatusOr<std::vector<JsonFields>> ObjectArray(const std::string& key) const;

  // INVALID_ARGUMENT naming the first key not in `known`.
  Status RejectUnknownKeys(const std::vector<std::string_view>& known) const;

  const std::string& source() const { return source_; }
  Status Error(const std::string& message) const { return InvalidArgumentError(source_ + ": " + message); }

 private:
  const nlohmann::json& object_;
  std::string source_;
};

// Reads and parses a JSON object file: FAILED_PRECONDITION if it cannot be read,
// INVALID_ARGUMENT if malformed or not an object.
StatusOr<nlohmann::json> ReadJsonObjectFile(const std::string& path);
// The same for text; `source` names it in errors.
StatusOr<nlohmann::json> ParseJsonObject(const std::string& text, const std::string& source);

}  // namespace specd
