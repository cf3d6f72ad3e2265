// All tensors of a model folder: model.safetensors, or the shards that
// model.safetensors.index.json names. Every shard is memory-mapped and validated at open.
// Immutable after Open: safe to read from any thread.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"
#include "engine/model/safetensors_file.h"

namespace specd {

class WeightStore {
 public:
  // Errors name the file and the problem: no weights file, malformed index, an index naming a
  // missing shard or a tensor its shard lacks, and everything SafetensorsFile::Open reports.
  static StatusOr<std::unique_ptr<WeightStore>> Open(const std::string& model_dir);

  // nullptr if no file of the model holds the tensor.
  const TensorView* Find(std::string_view name) const;
  std::vector<std::string> TensorNames() const;
  // Where the tensors come from, for messages: "DIR/model.safetensors" or "DIR/model.safetensors.index.json".
  const std::string& source() const { return source_; }

 private:
  Status AddFile(const std::string& path);
  Status OpenShards(const std::string& model_dir, const std::string& index_path);

  std::string source_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, const TensorView*, std::less<>> tensors_;
};

}  // namespace specd
