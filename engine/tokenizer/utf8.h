// UTF-8 helpers for the tokenizer: strict validation, code point iteration and the lossy
// conversion that Rust's String::from_utf8_lossy (and Python's errors="replace") perform.
//
// Lossy rule ("maximal subpart" substitution, Unicode 15 section 3.9): every maximal prefix of a
// well-formed sequence that cannot be completed becomes one U+FFFD, and a byte that can never
// start a sequence becomes one U+FFFD. Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace specd::utf8 {

inline constexpr std::string_view kReplacementUtf8 = "\xEF\xBF\xBD";

// One decoded code point and the number of bytes it used.
struct DecodedChar {
  char32_t code_point;
  size_t length;
};

// Decodes the well-formed character at `pos`. Precondition: `text` is valid UTF-8 and `pos` is a
// character boundary inside it.
DecodedChar DecodeAt(std::string_view text, size_t pos);

// Whether `byte` continues a multi-byte sequence (10xxxxxx).
inline bool IsContinuationByte(char byte) { return (static_cast<uint8_t>(byte) & 0xC0) == 0x80; }

// The start of the character that ends at byte `end` of valid UTF-8 `text` (end > 0).
size_t PreviousCharStart(std::string_view text, size_t end);

// Appends the UTF-8 encoding of `code_point` (a Unicode scalar value) to `out`.
void Append(char32_t code_point, std::string& out);
std::string Encode(char32_t code_point);

// The byte offset of the first ill-formed sequence, or nullopt when `text` is valid UTF-8.
std::optional<size_t> FindInvalid(std::string_view text);

// Lossy conversion of arbitrary bytes to valid UTF-8 (U+FFFD substitution as described above).
std::string DecodeLossy(std::string_view bytes);

// Like DecodeLossy, but stops before a trailing sequence that is incomplete yet could still
// become valid with more bytes. Returns the converted text; `consumed` is the number of input
// bytes it covers (the rest is to be held back until more bytes arrive).
std::string DecodeLossyPrefix(std::string_view bytes, size_t& consumed);

// The number of characters in valid UTF-8 `text`.
size_t CountChars(std::string_view text);

}  // namespace specd::utf8
