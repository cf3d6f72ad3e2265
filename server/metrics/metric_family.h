// MetricFamily<T>: one named metric (T = Counter, Gauge or Histogram) with HELP text, optional
// label names, and one child T per distinct set of label values, created on first use and kept
// for the family's lifetime (references to children stay valid).
//
// Threads: WithLabels and Render take the family's mutex (any thread); Get() of an unlabeled
// family is lock-free. On hot paths, look a labeled child up once and keep the reference.
// Children render in lexicographic order of their label values, so output is deterministic.
#pragma once

#include <algorithm>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/check.h"
#include "server/metrics/metric_family_base.h"
#include "server/metrics/text_format.h"

namespace specd::metrics {

template <typename T>
class MetricFamily final : public MetricFamilyBase {
 public:
  using Factory = std::function<std::unique_ptr<T>()>;

  // CHECK-fails on an invalid metric or label name. An unlabeled family creates its one child
  // now, so it is exported (as 0) before first use.
  MetricFamily(std::string name, std::string help, std::vector<std::string> label_names,
               Factory factory)
      : name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        factory_(std::move(factory)) {
    CheckFamilyNames(name_, label_names_, T::kReservedLabel);
    if (label_names_.empty()) unlabeled_ = &WithLabels({});
  }

  // The child for `values` (one per label name, in the order the names were given).
  // Precondition (CHECKed): values.size() == number of label names.
  T& WithLabels(std::initializer_list<std::string_view> values) {
    SPECD_CHECK(values.size() == label_names_.size())
        << name_ << ": " << values.size() << " label values for " << label_names_.size()
        << " label names";
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = children_.find(values);
    if (it == children_.end()) {
      std::vector<std::string> key(values.begin(), values.end());
      Child child{FormatLabels(label_names_, key), factory_()};
      it = children_.emplace(std::move(key), std::move(child)).first;
    }
    return *it->second.metric;
  }

  // The only child of an unlabeled family. Precondition (CHECKed): no label names.
  T& Get() {
    SPECD_CHECK(unlabeled_ != nullptr) << name_ << " has labels: use WithLabels";
    return *unlabeled_;
  }

  const std::string& name() const override { return name_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

  void Render(std::string* out) const override {
    AppendFamilyHeader(name_, help_, T::kTypeName, out);
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [values, child] : children_) {
      child.metric->AppendSamples(name_, child.labels_text, out);
    }
  }

 private:
  struct Child {
    std::string labels_text;  // `a="x",b="y"`, formatted once
    std::unique_ptr<T> metric;
  };
  // Orders label-value lists, and finds a stored list from string_views without copying.
  struct ValuesLess {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return std::lexicographical_compare(
          a.begin(), a.end(), b.begin(), b.end(),
          [](std::string_view x, std::string_view y) { return x < y; });
    }
  };

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const Factory factory_;
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, Child, ValuesLess> children_;
  T* unlabeled_ = nullptr;
};

}  // namespace specd::metrics
