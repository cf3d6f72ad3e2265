// PCRE2 wrapper with Oniguruma semantics (see unicode_regex.h).
#define PCRE2_CODE_UNIT_WIDTH 8
#include "engine/tokenizer/unicode_regex.h"

#include <pcre2.h>

#include <optional>

#include "engine/tokenizer/utf8.h"

namespace specd {
namespace {

constexpr uint32_t kUnicodeOptions = PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF;

// Oniguruma's Unicode classes, spelled for PCRE2 (which counts U+180E as \s, lacks marks in \w
// and reads \h as horizontal space).
constexpr std::string_view kOnigWordItems = "\\p{L}\\p{M}\\p{N}\\p{Pc}";
constexpr std::string_view kOnigHexItems = "0-9a-fA-F";

std::string PcreErrorMessage(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof(buffer));
  return reinterpret_cast<const char*>(buffer);
}

// The replacement for escape `\<letter>`, inside or outside a character class; nullopt keeps
// the escape as written.
std::optional<std::string> TranslateEscape(char letter, bool in_class) {
  const auto items = [&](std::string_view body, bool negated) -> std::optional<std::string> {
    if (in_class) {
      if (negated) return std::nullopt;  // no way to negate inside a class; keep PCRE2's
      return std::string(body);
    }
    return std::string(negated ? "[^" : "[") + std::string(body) + "]";
  };
  switch (letter) {
    case 's':
      return std::string("\\p{White_Space}");
    case 'S':
      return std::string("\\P{White_Space}");
    case 'w':
      return items(kOnigWordItems, false);
    case 'W':
      return items(kOnigWordItems, true);
    case 'h':
      return items(kOnigHexItems, false);
    case 'H':
      return items(kOnigHexItems, true);
    default:
      return std::nullopt;
  }
}

}  // namespace

std::string TranslateOnigurumaPattern(std::string_view pattern) {
  std::string out;
  bool in_class = false;
  size_t class_start = 0;  // index of the first member position of the current class
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char letter = pattern[++i];
      std::optional<std::string> replacement = TranslateEscape(letter, in_class);
      if (replacement) {
        out += *replacement;
      } else {
        out += c;
        out += letter;
      }
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      class_start = i + 1;
      if (class_start < pattern.size() && pattern[class_start] == '^') ++class_start;
    } else if (in_class && c == ']' && i != class_start) {
      in_class = false;
    }
    out += c;
  }
  return out;
}

void UnicodeRegex::CodeDeleter::operator()(pcre2_real_code_8* code) const { pcre2_code_free(code); }

StatusOr<UnicodeRegex> UnicodeRegex::Compile(std::string_view pattern) {
  return Build(pattern, TranslateOnigurumaPattern(pattern), kUnicodeOptions);
}

StatusOr<UnicodeRegex> UnicodeRegex::Literal(std::string_view literal) {
  return Build(literal, literal, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_LITERAL);
}

StatusOr<UnicodeRegex> UnicodeRegex::Build(std::string_view pattern, std::string_view compiled,
                                           uint32_t options) {
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(compiled.data()), compiled.size(),
                                   options, &error_code, &error_offset, nullptr);
  if (code == nullptr) {
    return InvalidArgumentError("invalid regex '" + std::string(pattern) +
                                "': " + PcreErrorMessage(error_code) + " (at offset " +
                                std::to_string(error_offset) + ")");
  }
  // JIT is an optimization only: matching falls back to the interpreter when it is unavailable.
  (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  return UnicodeRegex(std::string(pattern),
                      std::shared_ptr<pcre2_real_code_8>(code, CodeDeleter()));
}

StatusOr<std::optional<Span>> UnicodeRegex::Search(std::string_view text, size_t offset,
                                                   pcre2_match_data_8* match_data) const {
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  int rc = pcre2_match(code_.get(), subject, text.size(), offset, 0, match_data, nullptr);
  if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
    rc = pcre2_match(code_.get(), subject, text.size(), offset, PCRE2_NO_JIT, match_data, nullptr);
  }
  if (rc == PCRE2_ERROR_NOMATCH) return std::optional<Span>();
  if (rc < 0) {
    return ResourceExhaustedError("regex '" + pattern_ + "' failed on a " +
                                  std::to_string(text.size()) +
                                  "-byte text: " + PcreErrorMessage(rc));
  }
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match_data);
  return std::optional<Span>(Span{ovector[0], ovector[1], true});
}

StatusOr<std::vector<Span>> UnicodeRegex::FindMatches(std::string_view text) const {
  if (text.empty()) return std::vector<Span>{{0, 0, false}};
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> match_data(
      pcre2_match_data_create_from_pattern(code_.get(), nullptr), &pcre2_match_data_free);
  std::vector<Span> spans;
  size_t previous_end = 0;               // end of the last span pushed
  size_t search_from = 0;                // onig's last_end
  std::optional<size_t> last_match_end;  // onig's last_match_end
  while (search_from <= text.size()) {
    SPECD_ASSIGN_OR_RETURN(const std::optional<Span> match,
                           Search(text, search_from, match_data.get()));
    if (!match) break;
    if (match->begin == match->end && last_match_end == match->end) {
      // No empty match right after the previous match: move on by one character (one byte past
      // the end or on an ill-formed byte).
      do {
        ++search_from;
      } while (search_from < text.size() && utf8::IsContinuationByte(text[search_from]));
      continue;
    }
    search_from = last_match_end.emplace(match->end);
    if (previous_end != match->begin) spans.push_back({previous_end, match->begin, false});
    spans.push_back(*match);
    previous_end = match->end;
  }
  if (previous_end != text.size()) spans.push_back({previous_end, text.size(), false});
  return spans;
}

}  // namespace specd
