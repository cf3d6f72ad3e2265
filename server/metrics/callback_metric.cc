#include "server/metrics/callback_metric.h"

#include "engine/base/check.h"
#include "server/metrics/text_format.h"

namespace specd::metrics {

CallbackMetric::CallbackMetric(std::string name, std::string help, Type type,
                               std::function<double()> value)
    : name_(std::move(name)), help_(std::move(help)), type_(type), value_(std::move(value)) {
  CheckFamilyNames(name_, {}, "");
  SPECD_CHECK(value_ != nullptr) << name_ << ": empty value function";
}

void CallbackMetric::Render(std::string* out) const {
  AppendFamilyHeader(name_, help_, type_ == Type::kCounter ? "counter" : "gauge", out);
  AppendSample(name_, "", value_(), out);
}

}  // namespace specd::metrics
