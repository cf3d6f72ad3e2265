// The supported decoders (see decoder.h).
#include "engine/tokenizer/decoder.h"

#include <optional>

#include "engine/tokenizer/byte_level_alphabet.h"
#include "engine/tokenizer/pre_tokenizer.h"
#include "engine/tokenizer/unicode_regex.h"
#include "engine/tokenizer/utf8.h"

namespace specd {
namespace {

// The bytes a byte-level token stands for: each character through the GPT-2 table, or the
// token's own bytes when one character is not in the table (as tokenizers does).
std::string ByteLevelBytes(const std::string& token) {
  if (utf8::FindInvalid(token)) return token;
  std::string bytes;
  for (size_t pos = 0; pos < token.size();) {
    const utf8::DecodedChar c = utf8::DecodeAt(token, pos);
    const std::optional<uint8_t> byte = byte_level::CharToByte(c.code_point);
    if (!byte) return token;
    bytes.push_back(static_cast<char>(*byte));
    pos += c.length;
  }
  return bytes;
}

std::optional<int> HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return std::nullopt;
}

// The byte of a "<0xAB>" token (Rust u8::from_str_radix on the two digits, so "<0x+A>" also
// counts), or nullopt.
std::optional<uint8_t> ByteToken(const std::string& token) {
  if (token.size() != 6 || !token.starts_with("<0x") || token.back() != '>') return std::nullopt;
  const std::optional<int> low = HexDigit(token[4]);
  if (!low) return std::nullopt;
  if (token[3] == '+') return static_cast<uint8_t>(*low);
  const std::optional<int> high = HexDigit(token[3]);
  if (!high) return std::nullopt;
  return static_cast<uint8_t>(*high * 16 + *low);
}

class ByteLevelDecoder : public Decoder {
 public:
  Status DecodeChain(std::vector<std::string>& tokens, DecodeState& state) const override {
    std::string bytes;
    for (const std::string& token : tokens) bytes += ByteLevelBytes(token);
    tokens = {state.raw_bytes ? std::move(bytes) : utf8::DecodeLossy(bytes)};
    state.fused = true;
    return OkStatus();
  }
};

class ByteFallbackDecoder : public Decoder {
 public:
  Status DecodeChain(std::vector<std::string>& tokens, DecodeState& state) const override {
    std::vector<std::string> result;
    std::string pending;  // bytes of consecutive byte tokens
    const auto flush = [&] {
      if (pending.empty()) return;
      if (state.raw_bytes || !utf8::FindInvalid(pending)) {
        result.push_back(pending);
      } else {
        // tokenizers gives one U+FFFD per byte of an ill-formed group.
        result.insert(result.end(), pending.size(), std::string(utf8::kReplacementUtf8));
      }
      pending.clear();
    };
    for (std::string& token : tokens) {
      if (const std::optional<uint8_t> byte = ByteToken(token)) {
        pending.push_back(static_cast<char>(*byte));
        continue;
      }
      flush();
      result.push_back(std::move(token));
    }
    flush();
    tokens = std::move(result);
    return OkStatus();
  }
};

// Replaces every occurrence of `from` (not empty) in `text` by `to`.
void ReplaceAll(std::string& text, std::string_view from, std::string_view to) {
  std::string result;
  size_t pos = 0;
  for (size_t found = text.find(from); found != std::string::npos; found = text.find(from, pos)) {
    result.append(text, pos, found - pos);
    result.append(to);
    pos = found + from.size();
  }
  result.append(text, pos, std::string::npos);
  text = std::move(result);
}

class MetaspaceDecoder : public Decoder {
 public:
  MetaspaceDecoder(char32_t replacement, bool strip_first)
      : replacement_(utf8::Encode(replacement)), strip_first_(strip_first) {}

  Status DecodeChain(std::vector<std::string>& tokens, DecodeState& state) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      const bool first = i == 0 && state.starts_sequence;
      ReplaceAll(tokens[i], replacement_, first && strip_first_ ? "" : " ");
    }
    return OkStatus();
  }

 private:
  std::string replacement_;
  bool strip_first_;  // prepend_scheme is not "never": the first token loses its replacement
};

class ReplaceDecoder : public Decoder {
 public:
  ReplaceDecoder(UnicodeRegex pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}

  Status DecodeChain(std::vector<std::string>& tokens, DecodeState&) const override {
    for (std::string& token : tokens) {
      SPECD_ASSIGN_OR_RETURN(const std::vector<Span> spans, pattern_.FindMatches(token));
      std::string replaced;
      for (const Span& span : spans) {
        if (span.is_match) {
          replaced += content_;
        } else {
          replaced.append(token, span.begin, span.end - span.begin);
        }
      }
      token = std::move(replaced);
    }
    return OkStatus();
  }

 private:
  UnicodeRegex pattern_;
  std::string content_;
};

class FuseDecoder : public Decoder {
 public:
  Status DecodeChain(std::vector<std::string>& tokens, DecodeState& state) const override {
    std::string joined;
    for (const std::string& token : tokens) joined += token;
    tokens = {std::move(joined)};
    state.fused = true;
    return OkStatus();
  }
};

class StripDecoder : public Decoder {
 public:
  StripDecoder(char32_t content, int64_t start, int64_t stop)
      : content_(utf8::Encode(content)), start_(start), stop_(stop) {}

  Status DecodeChain(std::vector<std::string>& tokens, DecodeState& state) const override {
    // After a fuse, a streamed token is a slice of the whole text: only the slice at the start
    // may lose leading characters, and the end of the text is not known yet.
    const bool strip_start = !state.fused || state.starts_sequence;
    const bool strip_stop = !state.fused || !state.raw_bytes;
    for (std::string& token : tokens) {
      std::string_view view = token;
      for (int64_t i = 0; strip_start && i < start_ && view.starts_with(content_); ++i) {
        view.remove_prefix(content_.size());
      }
      for (int64_t i = 0; strip_stop && i < stop_ && view.ends_with(content_); ++i) {
        view.remove_suffix(content_.size());
      }
      token = std::string(view);
    }
    return OkStatus();
  }

 private:
  std::string content_;
  int64_t start_;
  int64_t stop_;
};

class SequenceDecoder : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> steps)
      : steps_(std::move(steps)) {}

  Status DecodeChain(std::vector<std::string>& tokens, DecodeState& state) const override {
    for (const auto& step : steps_) SPECD_RETURN_IF_ERROR(step->DecodeChain(tokens, state));
    return OkStatus();
  }

 private:
  std::vector<std::unique_ptr<Decoder>> steps_;
};

StatusOr<std::unique_ptr<Decoder>> MakeSequence(const JsonView& config) {
  SPECD_ASSIGN_OR_RETURN(auto steps, ComponentList<Decoder>(config, "decoders", "a decoder"));
  return std::unique_ptr<Decoder>(new SequenceDecoder(std::move(steps)));
}

StatusOr<std::unique_ptr<Decoder>> MakeStrip(const JsonView& config) {
  SPECD_ASSIGN_OR_RETURN(const char32_t content, config.Char("content"));
  SPECD_ASSIGN_OR_RETURN(const int64_t start, config.Int("start"));
  SPECD_ASSIGN_OR_RETURN(const int64_t stop, config.Int("stop"));
  if (start < 0 || stop < 0) return config.Error("Strip start and stop must be >= 0");
  return std::unique_ptr<Decoder>(new StripDecoder(content, start, stop));
}

}  // namespace

StatusOr<std::unique_ptr<Decoder>> Decoder::FromJson(const JsonView& config) {
  if (config.IsNull()) return std::unique_ptr<Decoder>();
  SPECD_ASSIGN_OR_RETURN(const std::string type, config.Type());
  if (type == "ByteLevel") return std::unique_ptr<Decoder>(new ByteLevelDecoder());
  if (type == "ByteFallback") return std::unique_ptr<Decoder>(new ByteFallbackDecoder());
  if (type == "Fuse") return std::unique_ptr<Decoder>(new FuseDecoder());
  if (type == "Metaspace") {
    SPECD_ASSIGN_OR_RETURN(const char32_t replacement, config.Char("replacement"));
    SPECD_ASSIGN_OR_RETURN(const PrependScheme scheme, ParsePrependScheme(config));
    return std::unique_ptr<Decoder>(
        new MetaspaceDecoder(replacement, scheme != PrependScheme::kNever));
  }
  if (type == "Replace") {
    SPECD_ASSIGN_OR_RETURN(UnicodeRegex pattern, config.Pattern("pattern"));
    SPECD_ASSIGN_OR_RETURN(std::string content, config.String("content"));
    return std::unique_ptr<Decoder>(new ReplaceDecoder(std::move(pattern), std::move(content)));
  }
  if (type == "Strip") return MakeStrip(config);
  if (type == "Sequence") return MakeSequence(config);
  return config.Unsupported("decoder", type);
}

}  // namespace specd
