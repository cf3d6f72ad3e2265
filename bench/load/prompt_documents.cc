// Splitting a prompt file into documents (see prompt_documents.h).
#include "bench/load/prompt_documents.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

namespace specd::bench {
namespace {

bool IsBlank(const std::string& text) {
  return std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isspace(c) != 0; });
}

}  // namespace

std::vector<std::string> SplitDocuments(const std::string& text, const std::string& separator) {
  std::vector<std::string> documents;
  std::string current;
  std::istringstream lines(text);
  std::string line;
  const auto close = [&] {
    if (!IsBlank(current)) documents.push_back(current);
    current.clear();
  };
  while (std::getline(lines, line)) {
    if (line == separator) {
      close();
    } else {
      current += line + "\n";
    }
  }
  close();
  return documents;
}

StatusOr<std::vector<std::string>> ReadDocuments(const std::string& path, const std::string& separator) {
  std::ifstream in(path);
  if (!in) return FailedPreconditionError(path + ": cannot open the prompt file");
  std::stringstream text;
  text << in.rdbuf();
  std::vector<std::string> documents = SplitDocuments(text.str(), separator);
  if (documents.empty()) return InvalidArgumentError(path + ": no prompt in the file");
  return documents;
}

}  // namespace specd::bench
