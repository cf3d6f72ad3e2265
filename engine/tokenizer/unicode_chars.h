// Unicode character predicates and mappings with the exact meaning tokenizers (Rust) gives them:
// char::is_whitespace, char::is_numeric, the regex crate's \w, char::to_lowercase.
// Backed by utf8proc's tables. Pure functions, thread-safe.
#pragma once

#include <string>

namespace specd::unicode {

// The White_Space property (Rust char::is_whitespace, the regex crate's \s).
bool IsWhitespace(char32_t c);

// General category Nd, Nl or No (Rust char::is_numeric).
bool IsNumeric(char32_t c);

// The regex crate's Unicode \w: Alphabetic, Mark, Decimal_Number, Connector_Punctuation,
// Join_Control.
bool IsWordChar(char32_t c);

// Appends the full lowercase mapping of `c` (Rust char::to_lowercase) as UTF-8.
void AppendLowercase(char32_t c, std::string& out);

}  // namespace specd::unicode
