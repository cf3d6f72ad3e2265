// MetricFamilyBase: what the registry needs from one metric family (a name with HELP and TYPE
// and its samples): render it in the text format. Render is called on the scrape thread.
#pragma once

#include <string>

namespace specd::metrics {

class MetricFamilyBase {
 public:
  virtual ~MetricFamilyBase() = default;

  virtual const std::string& name() const = 0;
  // Appends "# HELP", "# TYPE" and every sample line of the family.
  virtual void Render(std::string* out) const = 0;
};

}  // namespace specd::metrics
