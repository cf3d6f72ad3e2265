// The supported pre-tokenizers (see pre_tokenizer.h).
#include "engine/tokenizer/pre_tokenizer.h"

#include <vector>

#include "engine/tokenizer/byte_level_alphabet.h"
#include "engine/tokenizer/unicode_chars.h"
#include "engine/tokenizer/utf8.h"

namespace specd {
namespace {

// tokenizers' ByteLevel splitting regex (GPT-2).
constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// Splits every piece along `spans_of(piece text)` with `behavior`.
template <typename SpansFn>
Status SplitAll(PreTokenizedText& text, SplitBehavior behavior, const SpansFn& spans_of) {
  return text.Split([&](const NormalizedText& piece) -> StatusOr<std::vector<NormalizedText>> {
    SPECD_ASSIGN_OR_RETURN(const std::vector<Span> spans, spans_of(piece.text()));
    return piece.Split(spans, behavior);
  });
}

// Maps each byte of the text to its GPT-2 alphabet character.
void AppendByteLevelChars(char32_t c, std::string& out) {
  for (const char byte : utf8::Encode(c)) {
    out.append(byte_level::ByteToChar(static_cast<uint8_t>(byte)));
  }
}

class ByteLevelPreTokenizer : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, std::optional<UnicodeRegex> regex)
      : add_prefix_space_(add_prefix_space), regex_(std::move(regex)) {}

  Status PreTokenize(PreTokenizedText& text) const override {
    SPECD_RETURN_IF_ERROR(
        text.Split([&](const NormalizedText& piece) -> StatusOr<std::vector<NormalizedText>> {
          NormalizedText prefixed = piece;
          if (add_prefix_space_ && prefixed.text().front() != ' ') prefixed.Prepend(" ");
          if (!regex_) return std::vector<NormalizedText>{std::move(prefixed)};
          SPECD_ASSIGN_OR_RETURN(const std::vector<Span> spans,
                                 regex_->FindMatches(prefixed.text()));
          return prefixed.Split(spans, SplitBehavior::kIsolated);
        }));
    text.Transform([](NormalizedText& piece) { piece.MapChars(&AppendByteLevelChars); });
    return OkStatus();
  }

 private:
  bool add_prefix_space_;
  std::optional<UnicodeRegex> regex_;  // the GPT-2 regex when use_regex
};

class SplitPreTokenizer : public PreTokenizer {
 public:
  SplitPreTokenizer(UnicodeRegex pattern, SplitBehavior behavior, bool invert)
      : pattern_(std::move(pattern)), behavior_(behavior), invert_(invert) {}

  Status PreTokenize(PreTokenizedText& text) const override {
    return SplitAll(text, behavior_, [&](const std::string& piece) -> StatusOr<std::vector<Span>> {
      SPECD_ASSIGN_OR_RETURN(std::vector<Span> spans, pattern_.FindMatches(piece));
      if (invert_) InvertMatches(spans);
      return spans;
    });
  }

 private:
  UnicodeRegex pattern_;
  SplitBehavior behavior_;
  bool invert_;
};

class MetaspacePreTokenizer : public PreTokenizer {
 public:
  MetaspacePreTokenizer(char32_t replacement, PrependScheme scheme, bool split)
      : replacement_(replacement),
        replacement_utf8_(utf8::Encode(replacement)),
        scheme_(scheme),
        split_(split) {}

  Status PreTokenize(PreTokenizedText& text) const override {
    return text.Split([&](const NormalizedText& piece) -> StatusOr<std::vector<NormalizedText>> {
      NormalizedText replaced = piece;
      replaced.Replace(CharMatches(replaced.text(), [](char32_t c) { return c == ' '; }),
                       replacement_utf8_);
      if (NeedsPrefix(replaced)) replaced.Prepend(replacement_utf8_);
      if (!split_) return std::vector<NormalizedText>{std::move(replaced)};
      const auto is_replacement = [&](char32_t c) { return c == replacement_; };
      return replaced.Split(CharMatches(replaced.text(), is_replacement),
                            SplitBehavior::kMergedWithNext);
    });
  }

 private:
  bool NeedsPrefix(const NormalizedText& piece) const {
    if (piece.text().starts_with(replacement_utf8_)) return false;
    return scheme_ == PrependScheme::kAlways ||
           (scheme_ == PrependScheme::kFirst && piece.original_start() == 0);
  }

  char32_t replacement_;
  std::string replacement_utf8_;
  PrependScheme scheme_;
  bool split_;
};

class DigitsPreTokenizer : public PreTokenizer {
 public:
  explicit DigitsPreTokenizer(bool individual_digits)
      : behavior_(individual_digits ? SplitBehavior::kIsolated : SplitBehavior::kContiguous) {}

  Status PreTokenize(PreTokenizedText& text) const override {
    return SplitAll(text, behavior_, [](const std::string& piece) -> StatusOr<std::vector<Span>> {
      return CharMatches(piece, &unicode::IsNumeric);
    });
  }

 private:
  SplitBehavior behavior_;
};

class SequencePreTokenizer : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps)
      : steps_(std::move(steps)) {}

  Status PreTokenize(PreTokenizedText& text) const override {
    for (const auto& step : steps_) SPECD_RETURN_IF_ERROR(step->PreTokenize(text));
    return OkStatus();
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

StatusOr<SplitBehavior> ParseBehavior(const JsonView& config) {
  SPECD_ASSIGN_OR_RETURN(const std::string name, config.String("behavior"));
  if (name == "Removed") return SplitBehavior::kRemoved;
  if (name == "Isolated") return SplitBehavior::kIsolated;
  if (name == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (name == "Contiguous") return SplitBehavior::kContiguous;
  return config.Get("behavior").Error("unknown split behavior '" + name + "'");
}

StatusOr<std::unique_ptr<PreTokenizer>> MakeByteLevel(const JsonView& config) {
  SPECD_ASSIGN_OR_RETURN(const bool add_prefix_space, config.BoolOr("add_prefix_space", true));
  SPECD_ASSIGN_OR_RETURN(const bool use_regex, config.BoolOr("use_regex", true));
  std::optional<UnicodeRegex> regex;
  if (use_regex) {
    SPECD_ASSIGN_OR_RETURN(regex, UnicodeRegex::Compile(kGpt2Pattern));
  }
  return std::unique_ptr<PreTokenizer>(new ByteLevelPreTokenizer(add_prefix_space, regex));
}

StatusOr<std::unique_ptr<PreTokenizer>> MakeSplit(const JsonView& config) {
  SPECD_ASSIGN_OR_RETURN(UnicodeRegex pattern, config.Pattern("pattern"));
  SPECD_ASSIGN_OR_RETURN(const SplitBehavior behavior, ParseBehavior(config));
  SPECD_ASSIGN_OR_RETURN(const bool invert, config.BoolOr("invert", false));
  return std::unique_ptr<PreTokenizer>(new SplitPreTokenizer(std::move(pattern), behavior, invert));
}

StatusOr<std::unique_ptr<PreTokenizer>> MakeMetaspace(const JsonView& config) {
  SPECD_ASSIGN_OR_RETURN(const char32_t replacement, config.Char("replacement"));
  SPECD_ASSIGN_OR_RETURN(const PrependScheme scheme, ParsePrependScheme(config));
  SPECD_ASSIGN_OR_RETURN(const bool split, config.BoolOr("split", true));
  return std::unique_ptr<PreTokenizer>(new MetaspacePreTokenizer(replacement, scheme, split));
}

StatusOr<std::unique_ptr<PreTokenizer>> MakeSequence(const JsonView& config) {
  SPECD_ASSIGN_OR_RETURN(auto steps, ComponentList<PreTokenizer>(config, "pretokenizers", "a pre-tokenizer"));
  return std::unique_ptr<PreTokenizer>(new SequencePreTokenizer(std::move(steps)));
}

}  // namespace

StatusOr<PrependScheme> ParsePrependScheme(const JsonView& config) {
  std::optional<PrependScheme> scheme;
  if (config.Has("prepend_scheme")) {
    SPECD_ASSIGN_OR_RETURN(const std::string name, config.String("prepend_scheme"));
    if (name == "always") {
      scheme = PrependScheme::kAlways;
    } else if (name == "first") {
      scheme = PrependScheme::kFirst;
    } else if (name == "never") {
      scheme = PrependScheme::kNever;
    } else {
      return config.Get("prepend_scheme").Error("unknown prepend scheme '" + name + "'");
    }
  }
  SPECD_ASSIGN_OR_RETURN(const bool add_prefix_space, config.BoolOr("add_prefix_space", true));
  if (!add_prefix_space) {
    if (scheme && *scheme != PrependScheme::kNever) {
      return config.Error("add_prefix_space false contradicts prepend_scheme");
    }
    return PrependScheme::kNever;
  }
  return scheme.value_or(PrependScheme::kAlways);
}

StatusOr<std::unique_ptr<PreTokenizer>> PreTokenizer::FromJson(const JsonView& config) {
  if (config.IsNull()) return std::unique_ptr<PreTokenizer>();
  SPECD_ASSIGN_OR_RETURN(const std::string type, config.Type());
  if (type == "ByteLevel") return MakeByteLevel(config);
  if (type == "Split") return MakeSplit(config);
  if (type == "Metaspace") return MakeMetaspace(config);
  if (type == "Digits") {
    SPECD_ASSIGN_OR_RETURN(const bool individual, config.BoolOr("individual_digits", false));
    return std::unique_ptr<PreTokenizer>(new DigitsPreTokenizer(individual));
  }
  if (type == "Sequence") return MakeSequence(config);
  return config.Unsupported("pre-tokenizer", type);
}

}  // namespace specd
