// StopStringMatcher (see stop_string_matcher.h). One per request, on its output thread.
//
// Each Append looks at held_ + text:
//
//   held_ + text:  | ... emitted ... | tail |      tail = the longest suffix that is a proper
//                                    ^ s             prefix of some stop string: held back
//   a match:       | ... emitted ... | stop | rest |   emit up to the stop (or through it with
//                                    ^ q               include_stop_in_output); drop the rest
//
// A match is decided as soon as a stop string is complete in the text seen so far: the
// earliest start wins, then the longest stop at that start, then the lowest index. (The stream
// ends at a match, so a longer stop that might still complete at an earlier start is not waited
// for: with stops {"a", "ab"}, Append("a") matches "a"; Append("ab") in one call matches "ab".)
//
// Invariant: held_ holds no complete stop string and is a proper prefix of one of them, so it is
// shorter than the longest stop.
//
// Bytes, not characters: text and stops are valid UTF-8, and a stop string starts with a lead
// byte (never a continuation byte 10xxxxxx). Both the cut s of the held tail and the match start
// q sit where text bytes equal a stop's first byte, hence on a lead byte, hence on a character
// boundary of the text: neither the emitted text nor the held tail splits a character.
#include "engine/output/stop_string_matcher.h"

#include <algorithm>
#include <utility>

#include "engine/base/check.h"

namespace specd {
namespace {

struct Match {
  size_t start = std::string::npos;
  size_t index = 0;
};

// The earliest match in `text`; at the same start the longest stop, then the lowest index.
Match FindEarliestMatch(const std::vector<std::string>& stops, std::string_view text) {
  Match best;
  for (size_t i = 0; i < stops.size(); ++i) {
    const size_t start = text.find(stops[i]);
    if (start == std::string_view::npos) continue;
    const bool earlier = start < best.start;
    const bool longer_here = start == best.start && stops[i].size() > stops[best.index].size();
    if (earlier || longer_here) best = {start, i};
  }
  return best;
}

// True if `tail` is a proper prefix of some stop string.
bool IsProperPrefixOfStop(const std::vector<std::string>& stops, std::string_view tail) {
  for (const std::string& stop : stops) {
    if (tail.size() < stop.size() && std::string_view(stop).starts_with(tail)) return true;
  }
  return false;
}

// Where the held tail of `text` starts: the earliest s whose suffix is a proper prefix of a
// stop, or text.size() (nothing held).
size_t HoldBackStart(const std::vector<std::string>& stops, size_t max_stop_size,
                     std::string_view text) {
  const size_t first = text.size() >= max_stop_size ? text.size() - max_stop_size + 1 : 0;
  for (size_t s = first; s < text.size(); ++s) {
    if (IsProperPrefixOfStop(stops, text.substr(s))) return s;
  }
  return text.size();
}

}  // namespace

StopStringMatcher::StopStringMatcher(std::vector<std::string> stops, bool include_stop_in_output)
    : stops_(std::move(stops)), include_stop_in_output_(include_stop_in_output) {
  for (const std::string& stop : stops_) {
    SPECD_CHECK(!stop.empty()) << "empty stop string (SamplingParams::Validate rejects these)";
  }
}

StopStringMatcher::Result StopStringMatcher::Append(std::string_view text) {
  Result result;
  if (matched_) return result;
  std::string buffer = std::move(held_);
  held_.clear();
  buffer.append(text);
  const Match match = FindEarliestMatch(stops_, buffer);
  if (match.start != std::string::npos) {
    const size_t stop_size = stops_[match.index].size();
    buffer.resize(match.start + (include_stop_in_output_ ? stop_size : 0));
    result.text = std::move(buffer);
    result.stop_index = match.index;
    matched_ = true;
    return result;
  }
  size_t max_stop_size = 0;
  for (const std::string& stop : stops_) max_stop_size = std::max(max_stop_size, stop.size());
  const size_t hold_start = HoldBackStart(stops_, max_stop_size, buffer);
  held_ = buffer.substr(hold_start);
  buffer.resize(hold_start);
  result.text = std::move(buffer);
  return result;
}

std::string StopStringMatcher::Flush() {
  std::string tail = std::move(held_);
  held_.clear();
  return tail;
}

}  // namespace specd
