// UTF-8 scanning shared by validation and lossy conversion (see utf8.h).
#include "engine/tokenizer/utf8.h"

#include "engine/base/check.h"

namespace specd::utf8 {
namespace {

enum class SequenceKind { kValid, kInvalid, kIncomplete };

// What starts at `pos`: a valid character, an ill-formed maximal subpart (`length` bytes to
// replace by one U+FFFD), or a well-formed prefix cut by the end of the input.
struct Sequence {
  SequenceKind kind;
  size_t length;
  char32_t code_point;
};

// The number of bytes a sequence led by `lead` has, and the allowed range of its second byte
// (Unicode table 3-7); 0 when `lead` can never start a sequence.
struct LeadInfo {
  size_t length;
  uint8_t second_min;
  uint8_t second_max;
};

LeadInfo InfoForLead(uint8_t lead) {
  if (lead >= 0xC2 && lead <= 0xDF) return {2, 0x80, 0xBF};
  if (lead == 0xE0) return {3, 0xA0, 0xBF};
  if (lead == 0xED) return {3, 0x80, 0x9F};
  if (lead >= 0xE1 && lead <= 0xEF) return {3, 0x80, 0xBF};
  if (lead == 0xF0) return {4, 0x90, 0xBF};
  if (lead >= 0xF1 && lead <= 0xF3) return {4, 0x80, 0xBF};
  if (lead == 0xF4) return {4, 0x80, 0x8F};
  return {0, 0, 0};
}

Sequence ScanAt(std::string_view bytes, size_t pos) {
  const auto lead = static_cast<uint8_t>(bytes[pos]);
  if (lead < 0x80) return {SequenceKind::kValid, 1, lead};
  const LeadInfo info = InfoForLead(lead);
  if (info.length == 0) return {SequenceKind::kInvalid, 1, 0};
  char32_t code_point = lead & (0xFF >> (info.length + 1));
  for (size_t i = 1; i < info.length; ++i) {
    if (pos + i >= bytes.size()) return {SequenceKind::kIncomplete, i, 0};
    const auto byte = static_cast<uint8_t>(bytes[pos + i]);
    const uint8_t min = i == 1 ? info.second_min : 0x80;
    const uint8_t max = i == 1 ? info.second_max : 0xBF;
    if (byte < min || byte > max) return {SequenceKind::kInvalid, i, 0};
    code_point = (code_point << 6) | (byte & 0x3F);
  }
  return {SequenceKind::kValid, info.length, code_point};
}

// Shared loop of the lossy converters; stops at an incomplete tail when `hold_incomplete`.
std::string Lossy(std::string_view bytes, bool hold_incomplete, size_t& consumed) {
  std::string out;
  out.reserve(bytes.size());
  size_t pos = 0;
  while (pos < bytes.size()) {
    const Sequence seq = ScanAt(bytes, pos);
    if (seq.kind == SequenceKind::kIncomplete && hold_incomplete) break;
    if (seq.kind == SequenceKind::kValid) {
      out.append(bytes.substr(pos, seq.length));
    } else {
      out.append(kReplacementUtf8);
    }
    pos += seq.length;
  }
  consumed = pos;
  return out;
}

}  // namespace

DecodedChar DecodeAt(std::string_view text, size_t pos) {
  const Sequence seq = ScanAt(text, pos);
  SPECD_DCHECK(seq.kind == SequenceKind::kValid) << "ill-formed UTF-8 at byte " << pos;
  return {seq.code_point, seq.length};
}

size_t PreviousCharStart(std::string_view text, size_t end) {
  size_t start = end - 1;
  while (start > 0 && IsContinuationByte(text[start])) --start;
  return start;
}

void Append(char32_t code_point, std::string& out) {
  if (code_point < 0x80) {
    out.push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else if (code_point < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (code_point >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (code_point >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
}

std::string Encode(char32_t code_point) {
  std::string out;
  Append(code_point, out);
  return out;
}

std::optional<size_t> FindInvalid(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    const Sequence seq = ScanAt(text, pos);
    if (seq.kind != SequenceKind::kValid) return pos;
    pos += seq.length;
  }
  return std::nullopt;
}

std::string DecodeLossy(std::string_view bytes) {
  size_t consumed = 0;
  return Lossy(bytes, /*hold_incomplete=*/false, consumed);
}

std::string DecodeLossyPrefix(std::string_view bytes, size_t& consumed) {
  return Lossy(bytes, /*hold_incomplete=*/true, consumed);
}

size_t CountChars(std::string_view text) {
  size_t count = 0;
  for (const char c : text) {
    if (!IsContinuationByte(c)) ++count;
  }
  return count;
}

}  // namespace specd::utf8
