#include "bench/harness/hardware_key.h"

#include <cctype>

namespace specd::bench {
namespace {

constexpr char kVendorPrefix[] = "nvidia_";
constexpr char kUnknown[] = "unknown";

}  // namespace

std::string HardwareKey(const std::string& device_name) {
  std::string key;
  for (const char c : device_name) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) != 0) {
      key += static_cast<char>(std::tolower(byte));
    } else if (!key.empty() && key.back() != '_') {
      key += '_';
    }
  }
  if (!key.empty() && key.back() == '_') key.pop_back();
  if (key.rfind(kVendorPrefix, 0) == 0) key.erase(0, sizeof(kVendorPrefix) - 1);
  return key.empty() ? kUnknown : key;
}

}  // namespace specd::bench
