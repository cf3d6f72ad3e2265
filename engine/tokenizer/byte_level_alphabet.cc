// GPT-2 bytes_to_unicode (see byte_level_alphabet.h).
#include "engine/tokenizer/byte_level_alphabet.h"

#include <array>
#include <string>

#include "engine/tokenizer/utf8.h"

namespace specd::byte_level {
namespace {

constexpr char32_t kFirstRemappedChar = 0x100;
constexpr char32_t kTableEnd = kFirstRemappedChar + 256;  // every table char is below this

bool MapsToItself(uint8_t b) {
  return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
}

struct Tables {
  std::array<std::string, 256> byte_to_char;
  std::array<int16_t, kTableEnd> char_to_byte;  // -1: not a table char
};

Tables BuildTables() {
  Tables tables;
  tables.char_to_byte.fill(-1);
  char32_t next_remapped = kFirstRemappedChar;
  for (int b = 0; b < 256; ++b) {
    const auto byte = static_cast<uint8_t>(b);
    const char32_t c = MapsToItself(byte) ? byte : next_remapped++;
    tables.byte_to_char[b] = utf8::Encode(c);
    tables.char_to_byte[c] = static_cast<int16_t>(b);
  }
  return tables;
}

const Tables& GetTables() {
  static const Tables kTables = BuildTables();
  return kTables;
}

}  // namespace

std::string_view ByteToChar(uint8_t b) { return GetTables().byte_to_char[b]; }

std::optional<uint8_t> CharToByte(char32_t c) {
  if (c >= kTableEnd) return std::nullopt;
  const int16_t b = GetTables().char_to_byte[c];
  if (b < 0) return std::nullopt;
  return static_cast<uint8_t>(b);
}

}  // namespace specd::byte_level
