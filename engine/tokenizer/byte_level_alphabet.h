// The GPT-2 byte-to-unicode table (bytes_to_unicode): every byte maps to a printable character,
// so byte-level BPE vocabularies can be stored as text. Printable Latin-1 bytes ('!'..'~',
// U+00A1..U+00AC, U+00AE..U+00FF) map to themselves; the other 68 bytes map, in order, to
// U+0100 and up (space -> U+0120 'Ġ', newline -> U+010A 'Ċ').
//
// Constant tables; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace specd::byte_level {

// The UTF-8 spelling of the character byte `b` maps to.
std::string_view ByteToChar(uint8_t b);

// The byte a table character stands for, or nullopt when `c` is not in the table.
std::optional<uint8_t> CharToByte(char32_t c);

}  // namespace specd::byte_level
