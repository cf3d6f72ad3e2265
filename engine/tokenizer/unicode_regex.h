// UnicodeRegex: an RAII wrapper over a compiled PCRE2 (8-bit, UTF + UCP) regular expression that
// behaves like the Oniguruma regexes of tokenizers (the `onig` crate): Oniguruma's Unicode
// meaning of \s \S \w \W \h \H is restored by rewriting them before compiling, and FindMatches
// iterates matches exactly like onig's find_iter (an empty match right after the previous match
// is skipped by one character).
//
// Compiled once at load; immutable afterwards. Copies share the compiled code. All const methods
// are thread-safe (each call uses its own match data).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"

struct pcre2_real_code_8;
struct pcre2_real_match_data_8;

namespace specd {

// A half-open byte range [begin, end) of a string, flagged when it is a pattern match. A list of
// spans covers the whole string, in order (tokenizers' Pattern::find_matches output).
struct Span {
  size_t begin;
  size_t end;
  bool is_match;
};

class UnicodeRegex {
 public:
  // Compiles a pattern written for Oniguruma (as in tokenizer.json "Regex" patterns).
  static StatusOr<UnicodeRegex> Compile(std::string_view pattern);
  // A regex matching `literal` verbatim (tokenizer.json "String" patterns).
  static StatusOr<UnicodeRegex> Literal(std::string_view literal);

  // Splits `text` into matches and the gaps between them. An empty `text` gives one empty
  // non-match span. `text` may hold ill-formed UTF-8 (such bytes never match).
  StatusOr<std::vector<Span>> FindMatches(std::string_view text) const;

 private:
  struct CodeDeleter {
    void operator()(pcre2_real_code_8* code) const;
  };

  UnicodeRegex(std::string pattern, std::shared_ptr<pcre2_real_code_8> code)
      : pattern_(std::move(pattern)), code_(std::move(code)) {}
  static StatusOr<UnicodeRegex> Build(std::string_view pattern, std::string_view compiled,
                                      uint32_t options);
  // The first match at or after byte `offset`, or nullopt.
  StatusOr<std::optional<Span>> Search(std::string_view text, size_t offset,
                                       pcre2_real_match_data_8* match_data) const;

  std::string pattern_;  // as written in the configuration, for error messages
  std::shared_ptr<pcre2_real_code_8> code_;
};

// Rewrites Oniguruma class escapes whose Unicode meaning differs in PCRE2 (exposed for tests).
std::string TranslateOnigurumaPattern(std::string_view pattern);

}  // namespace specd
