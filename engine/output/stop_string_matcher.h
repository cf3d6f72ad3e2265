// StopStringMatcher: finds stop strings in streamed output text, holding back any tail that could
// still grow into one, so a stream never shows part of a stop string. One per request, on the
// output side (server or offline threads, never the engine thread); not thread-safe.
//
//   stops {"\n\n"}: Append("foo\n") -> emit "foo", hold "\n"
//                   Append("\nbar") -> match: emit "" (or "\n\n" with include_stop_str_in_output)
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace specd {

class StopStringMatcher {
 public:
  StopStringMatcher(std::vector<std::string> stops, bool include_stop_in_output);

  struct Result {
    std::string text;                   // safe to emit now
    std::optional<size_t> stop_index;   // which stop matched (earliest in the text; the longest
                                        // at the same position); the stream ends there
  };

  // Feeds newly detokenized text. After a match, further calls return nothing.
  Result Append(std::string_view text);

  // End of the stream without a match: the held-back tail.
  std::string Flush();

 private:
  std::vector<std::string> stops_;
  bool include_stop_in_output_;
  std::string held_;
  bool matched_ = false;
};

}  // namespace specd
