#include "tests/unit/metrics/prometheus_text_parser.h"

#include <algorithm>
#include <cstdlib>
#include <set>

namespace specd::metrics_test {
namespace {

bool IsNameStart(char c, bool colon_ok) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon_ok && c == ':');
}
bool IsNameChar(char c, bool colon_ok) {
  return IsNameStart(c, colon_ok) || (c >= '0' && c <= '9');
}

std::string Escape(std::string_view value) {
  std::string out;
  for (const char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// A cursor over one line.
class LineReader {
 public:
  explicit LineReader(std::string_view line) : line_(line) {}

  bool AtEnd() const { return pos_ == line_.size(); }
  char Peek() const { return AtEnd() ? '\0' : line_[pos_]; }
  bool Consume(char c) {
    if (Peek() != c) return false;
    ++pos_;
    return true;
  }
  void SkipSpaces() {
    while (Peek() == ' ' || Peek() == '\t') ++pos_;
  }
  // A metric name (colons allowed) or label name; empty when none starts here.
  std::string_view Name(bool colon_ok) {
    const size_t start = pos_;
    if (!IsNameStart(Peek(), colon_ok)) return {};
    while (!AtEnd() && IsNameChar(line_[pos_], colon_ok)) ++pos_;
    return line_.substr(start, pos_ - start);
  }
  // The text up to the next space or tab (or the end).
  std::string_view Token() {
    const size_t start = pos_;
    while (!AtEnd() && Peek() != ' ' && Peek() != '\t') ++pos_;
    return line_.substr(start, pos_ - start);
  }
  std::string_view Rest() {
    const std::string_view rest = line_.substr(pos_);
    pos_ = line_.size();
    return rest;
  }

  // A double-quoted label value with \\, \" and \n escapes, unescaped into `out`.
  bool QuotedValue(std::string* out) {
    if (!Consume('"')) return false;
    while (!AtEnd()) {
      const char c = line_[pos_++];
      if (c == '"') return true;
      if (c != '\\') {
        *out += c;
        continue;
      }
      const char escaped = Peek();
      if (escaped != '\\' && escaped != '"' && escaped != 'n') return false;
      *out += escaped == 'n' ? '\n' : escaped;
      ++pos_;
    }
    return false;
  }

 private:
  std::string_view line_;
  size_t pos_ = 0;
};

std::optional<double> ParseValue(std::string_view token) {
  const std::string text(token);
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) return std::nullopt;
  return value;
}

bool ParseLabels(LineReader* reader, Labels* labels) {
  if (!reader->Consume('{')) return true;
  std::set<std::string> seen;
  while (true) {
    reader->SkipSpaces();
    if (reader->Consume('}')) return true;
    const std::string name(reader->Name(/*colon_ok=*/false));
    reader->SkipSpaces();
    std::string value;
    if (name.empty() || !reader->Consume('=')) return false;
    reader->SkipSpaces();
    if (!reader->QuotedValue(&value) || !seen.insert(name).second) return false;
    labels->emplace_back(name, std::move(value));
    reader->SkipSpaces();
    if (!reader->Consume(',') && reader->Peek() != '}') return false;
  }
}

class Parser {
 public:
  Status ParseLine(std::string_view line) {
    LineReader reader(line);
    reader.SkipSpaces();
    if (reader.AtEnd()) return OkStatus();
    if (reader.Consume('#')) return ParseComment(&reader);
    return ParseSample(&reader);
  }

  ParsedMetrics Take() { return std::move(parsed_); }

 private:
  Status ParseComment(LineReader* reader) {
    reader->SkipSpaces();
    const std::string_view keyword = reader->Token();
    if (keyword != "HELP" && keyword != "TYPE") return OkStatus();  // a plain comment
    reader->SkipSpaces();
    const std::string name(reader->Name(/*colon_ok=*/true));
    if (name.empty() || (!reader->AtEnd() && !reader->Consume(' '))) {
      return InvalidArgumentError("bad metric name in # " + std::string(keyword));
    }
    if (keyword == "HELP") return AddHelp(name, reader->Rest());
    return AddType(name, reader->Rest());
  }

  Status AddHelp(const std::string& name, std::string_view escaped) {
    std::string text;
    for (size_t i = 0; i < escaped.size(); ++i) {
      if (escaped[i] != '\\') {
        text += escaped[i];
        continue;
      }
      const char next = i + 1 < escaped.size() ? escaped[++i] : '\0';
      if (next != '\\' && next != 'n') return InvalidArgumentError("bad escape in HELP " + name);
      text += next == 'n' ? '\n' : '\\';
    }
    if (!parsed_.help.emplace(name, std::move(text)).second) {
      return InvalidArgumentError("second HELP for " + name);
    }
    return OkStatus();
  }

  Status AddType(const std::string& name, std::string_view type) {
    static const std::set<std::string_view> kTypes = {"counter", "gauge", "histogram", "summary",
                                                      "untyped"};
    if (!kTypes.contains(type)) return InvalidArgumentError("unknown TYPE " + std::string(type));
    if (sampled_families_.contains(name)) {
      return InvalidArgumentError("TYPE for " + name + " after its samples");
    }
    if (!parsed_.types.emplace(name, std::string(type)).second) {
      return InvalidArgumentError("second TYPE for " + name);
    }
    return OkStatus();
  }

  // The declared family of sample `name`, or "" when none.
  std::string FamilyOf(const std::string& name, const Labels& labels) const {
    if (parsed_.types.contains(name)) return name;
    for (const std::string_view suffix : {"_bucket", "_sum", "_count"}) {
      if (!name.ends_with(suffix)) continue;
      std::string base = name.substr(0, name.size() - suffix.size());
      const auto it = parsed_.types.find(base);
      if (it == parsed_.types.end()) continue;
      const bool has_le = std::any_of(labels.begin(), labels.end(),
                                      [](const auto& label) { return label.first == "le"; });
      if (it->second == "histogram" && (suffix != "_bucket" || has_le)) return base;
      if (it->second == "summary" && suffix != "_bucket") return base;
    }
    return "";
  }

  Status ParseSample(LineReader* reader) {
    const std::string name(reader->Name(/*colon_ok=*/true));
    Labels labels;
    if (name.empty() || !ParseLabels(reader, &labels)) {
      return InvalidArgumentError("bad sample name or labels");
    }
    reader->SkipSpaces();
    const std::optional<double> value = ParseValue(reader->Token());
    reader->SkipSpaces();
    const std::string_view timestamp = reader->Token();
    if (!value || (!timestamp.empty() && !ParseValue(timestamp)) || !reader->AtEnd()) {
      return InvalidArgumentError("bad value or trailing text");
    }
    const std::string family = FamilyOf(name, labels);
    if (family.empty()) return InvalidArgumentError("sample " + name + " has no # TYPE line");
    sampled_families_.insert(family);
    if (!parsed_.samples.emplace(SampleKey(name, labels), *value).second) {
      return InvalidArgumentError("repeated sample " + SampleKey(name, labels));
    }
    return OkStatus();
  }

  ParsedMetrics parsed_;
  std::set<std::string> sampled_families_;
};

}  // namespace

std::optional<double> ParsedMetrics::Find(const std::string& key) const {
  const auto it = samples.find(key);
  if (it == samples.end()) return std::nullopt;
  return it->second;
}

std::optional<double> ParsedMetrics::Find(std::string_view name, const Labels& labels) const {
  return Find(SampleKey(name, labels));
}

std::string SampleKey(std::string_view name, const Labels& labels) {
  std::string key(name);
  if (labels.empty()) return key;
  key += '{';
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) key += ',';
    key += labels[i].first + "=\"" + Escape(labels[i].second) + "\"";
  }
  return key + "}";
}

StatusOr<ParsedMetrics> ParsePrometheusText(std::string_view text) {
  if (!text.empty() && !text.ends_with('\n')) {
    return InvalidArgumentError("exposition does not end with a newline");
  }
  Parser parser;
  size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text.remove_prefix(end + 1);
    const Status status = parser.ParseLine(line);
    if (!status.ok()) {
      return status.WithContext("line " + std::to_string(line_number) + " '" + std::string(line) +
                                "'");
    }
  }
  return parser.Take();
}

}  // namespace specd::metrics_test
