// `specd generate`: the continuation of one prompt through the engine on the CPU reference runner
// (greedy unless --temperature is given), printed as it is produced, or as one JSON object with
// --json. The first thing a new user tries.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "engine/base/status.h"

namespace specd {

// args: the flags after "generate". Writes the continuation (or JSON) to `out`.
Status RunGenerateCommand(const std::vector<std::string>& args, std::ostream& out);

inline constexpr char kGenerateUsage[] =
    "usage: specd generate --prompt TEXT [--model DIR] [--max-tokens N] [--json]\n"
    "                      [--temperature X] [--top-p X] [--top-k N] [--seed N] [--stop TEXT]\n"
    "                      [--log-level trace|debug|info|warn|error|off]\n"
    "  --model defaults to the bundled models/specd-code-target; --max-tokens to 64;\n"
    "  --temperature to 0 (greedy).\n";

}  // namespace specd
