// The supported normalizers (see normalizer.h).
#include "engine/tokenizer/normalizer.h"

#include <utf8proc.h>

#include <cstdlib>
#include <optional>
#include <vector>

#include "engine/base/check.h"
#include "engine/tokenizer/unicode_chars.h"
#include "engine/tokenizer/utf8.h"

namespace specd {
namespace {

// NFC / NFD / NFKC / NFKD through utf8proc. The text is normalized per run of characters that
// starts with a combining class 0 character, so that every output character keeps the original
// offset of the run it came from; runs whose normalization interacts are merged.
class UnicodeNormalizer : public Normalizer {
 public:
  explicit UnicodeNormalizer(utf8proc_option_t options) : options_(options) {}

  Status Normalize(NormalizedText& text) const override {
    const std::string& input = text.text();
    const std::string whole = Map(input);
    if (whole == input) return OkStatus();
    std::vector<NormalizedText::Rewrite> rewrites;
    std::string joined;
    for (const auto& [begin, end] : Runs(input)) {
      std::string output = Map(std::string_view(input).substr(begin, end - begin));
      if (!rewrites.empty()) {
        NormalizedText::Rewrite& last = rewrites.back();
        std::string merged = Map(std::string_view(input).substr(last.begin, end - last.begin));
        if (merged != last.replacement + output) {
          last.end = end;
          last.replacement = std::move(merged);
          continue;
        }
      }
      rewrites.push_back({begin, end, std::move(output), text.OriginAt(begin)});
    }
    for (const auto& rewrite : rewrites) joined += rewrite.replacement;
    if (joined != whole) rewrites = {{0, input.size(), whole, text.OriginAt(0)}};
    text.Apply(rewrites);
    return OkStatus();
  }

 private:
  std::string Map(std::string_view input) const {
    utf8proc_uint8_t* output = nullptr;
    const utf8proc_ssize_t length =
        utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(input.data()),
                     static_cast<utf8proc_ssize_t>(input.size()), &output, options_);
    SPECD_CHECK(length >= 0) << "utf8proc_map failed on valid UTF-8: " << utf8proc_errmsg(length);
    std::string result(reinterpret_cast<const char*>(output), static_cast<size_t>(length));
    std::free(output);
    return result;
  }

  // Byte ranges each starting at a character of combining class 0 (or at the text start).
  static std::vector<std::pair<size_t, size_t>> Runs(const std::string& input) {
    std::vector<std::pair<size_t, size_t>> runs;
    size_t pos = 0;
    while (pos < input.size()) {
      const utf8::DecodedChar c = utf8::DecodeAt(input, pos);
      const bool starter =
          utf8proc_get_property(static_cast<utf8proc_int32_t>(c.code_point))->combining_class == 0;
      if (runs.empty() || starter) {
        runs.emplace_back(pos, pos + c.length);
      } else {
        runs.back().second = pos + c.length;
      }
      pos += c.length;
    }
    return runs;
  }

  utf8proc_option_t options_;
};

class LowercaseNormalizer : public Normalizer {
 public:
  Status Normalize(NormalizedText& text) const override {
    text.MapChars(&unicode::AppendLowercase);
    return OkStatus();
  }
};

class StripNormalizer : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}

  Status Normalize(NormalizedText& text) const override {
    text.Strip(left_, right_);
    return OkStatus();
  }

 private:
  bool left_;
  bool right_;
};

class ReplaceNormalizer : public Normalizer {
 public:
  ReplaceNormalizer(UnicodeRegex pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}

  Status Normalize(NormalizedText& text) const override {
    SPECD_ASSIGN_OR_RETURN(const std::vector<Span> spans, pattern_.FindMatches(text.text()));
    text.Replace(spans, content_);
    return OkStatus();
  }

 private:
  UnicodeRegex pattern_;
  std::string content_;
};

class PrependNormalizer : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}

  Status Normalize(NormalizedText& text) const override {
    text.Prepend(prefix_);
    return OkStatus();
  }

 private:
  std::string prefix_;
};

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps)
      : steps_(std::move(steps)) {}

  Status Normalize(NormalizedText& text) const override {
    for (const auto& step : steps_) SPECD_RETURN_IF_ERROR(step->Normalize(text));
    return OkStatus();
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

// utf8proc options for the Unicode normalization forms, nullopt for other types.
std::optional<utf8proc_option_t> UnicodeFormOptions(const std::string& type) {
  int options = UTF8PROC_STABLE;
  if (type == "NFC") {
    options |= UTF8PROC_COMPOSE;
  } else if (type == "NFD") {
    options |= UTF8PROC_DECOMPOSE;
  } else if (type == "NFKC") {
    options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
  } else if (type == "NFKD") {
    options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
  } else {
    return std::nullopt;
  }
  return static_cast<utf8proc_option_t>(options);
}

StatusOr<std::unique_ptr<Normalizer>> MakeSequence(const JsonView& config) {
  SPECD_ASSIGN_OR_RETURN(auto steps, ComponentList<Normalizer>(config, "normalizers", "a normalizer"));
  return std::unique_ptr<Normalizer>(new SequenceNormalizer(std::move(steps)));
}

}  // namespace

StatusOr<std::unique_ptr<Normalizer>> Normalizer::FromJson(const JsonView& config) {
  if (config.IsNull()) return std::unique_ptr<Normalizer>();
  SPECD_ASSIGN_OR_RETURN(const std::string type, config.Type());
  if (const std::optional<utf8proc_option_t> options = UnicodeFormOptions(type)) {
    return std::unique_ptr<Normalizer>(new UnicodeNormalizer(*options));
  }
  if (type == "Lowercase") return std::unique_ptr<Normalizer>(new LowercaseNormalizer());
  if (type == "Strip") {
    SPECD_ASSIGN_OR_RETURN(const bool left, config.BoolOr("strip_left", true));
    SPECD_ASSIGN_OR_RETURN(const bool right, config.BoolOr("strip_right", true));
    return std::unique_ptr<Normalizer>(new StripNormalizer(left, right));
  }
  if (type == "Replace") {
    SPECD_ASSIGN_OR_RETURN(UnicodeRegex pattern, config.Pattern("pattern"));
    SPECD_ASSIGN_OR_RETURN(std::string content, config.String("content"));
    return std::unique_ptr<Normalizer>(
        new ReplaceNormalizer(std::move(pattern), std::move(content)));
  }
  if (type == "Prepend") {
    SPECD_ASSIGN_OR_RETURN(std::string prefix, config.String("prepend"));
    return std::unique_ptr<Normalizer>(new PrependNormalizer(std::move(prefix)));
  }
  if (type == "Sequence") return MakeSequence(config);
  return config.Unsupported("normalizer", type);
}

}  // namespace specd
