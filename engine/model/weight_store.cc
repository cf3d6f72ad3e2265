#include "engine/model/weight_store.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace specd {
namespace {

constexpr char kSingleFile[] = "model.safetensors";
constexpr char kIndexFile[] = "model.safetensors.index.json";

// Reads the index's weight_map: tensor name -> shard file name.
StatusOr<std::map<std::string, std::string>> ReadWeightMap(const std::string& index_path) {
  std::ifstream in(index_path);
  if (!in) return FailedPreconditionError(index_path + ": cannot open");
  std::stringstream text;
  text << in.rdbuf();
  const auto index = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (index.is_discarded() || !index.is_object()) {
    return InvalidArgumentError(index_path + ": malformed JSON");
  }
  const auto weight_map = index.find("weight_map");
  if (weight_map == index.end() || !weight_map->is_object()) {
    return InvalidArgumentError(index_path + ": missing 'weight_map' object");
  }
  std::map<std::string, std::string> shard_of;
  for (const auto& [name, shard] : weight_map->items()) {
    if (!shard.is_string()) {
      return InvalidArgumentError(index_path + ": weight_map['" + name + "'] is not a file name");
    }
    const std::string file = shard.get<std::string>();
    if (file.empty() || file.find('/') != std::string::npos || file == "." || file == "..") {
      return InvalidArgumentError(index_path + ": shard name '" + file +
                                  "' must be a plain file name in the model folder");
    }
    shard_of.emplace(name, file);
  }
  return shard_of;
}

}  // namespace

StatusOr<std::unique_ptr<WeightStore>> WeightStore::Open(const std::string& model_dir) {
  namespace fs = std::filesystem;
  auto store = std::unique_ptr<WeightStore>(new WeightStore());
  const std::string index_path = (fs::path(model_dir) / kIndexFile).string();
  const std::string single_path = (fs::path(model_dir) / kSingleFile).string();
  std::error_code ec;
  if (fs::exists(index_path, ec)) {
    store->source_ = index_path;
    SPECD_RETURN_IF_ERROR(store->OpenShards(model_dir, index_path));
  } else if (fs::exists(single_path, ec)) {
    store->source_ = single_path;
    SPECD_RETURN_IF_ERROR(store->AddFile(single_path));
  } else {
    return NotFoundError(model_dir + ": no " + kSingleFile + " or " + kIndexFile);
  }
  return store;
}

Status WeightStore::AddFile(const std::string& path) {
  SPECD_ASSIGN_OR_RETURN(auto file, SafetensorsFile::Open(path));
  for (const auto& name : file->TensorNames()) tensors_.emplace(name, file->Find(name));
  files_.push_back(std::move(file));
  return OkStatus();
}

Status WeightStore::OpenShards(const std::string& model_dir, const std::string& index_path) {
  SPECD_ASSIGN_OR_RETURN(const auto shard_of, ReadWeightMap(index_path));
  std::map<std::string, const SafetensorsFile*> opened;  // shard file name -> its file
  for (const auto& [name, shard] : shard_of) {
    if (opened.count(shard) > 0) continue;
    const std::string path = (std::filesystem::path(model_dir) / shard).string();
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      return NotFoundError(index_path + ": names shard '" + shard + "', which does not exist");
    }
    SPECD_RETURN_IF_ERROR(AddFile(path));
    opened.emplace(shard, files_.back().get());
  }
  for (const auto& [name, shard] : shard_of) {
    if (opened.at(shard)->Find(name) == nullptr) {
      return DataLossError(index_path + ": maps '" + name + "' to shard '" + shard +
                           "', which has no such tensor");
    }
  }
  return OkStatus();
}

const TensorView* WeightStore::Find(std::string_view name) const {
  const auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : it->second;
}

std::vector<std::string> WeightStore::TensorNames() const {
  std::vector<std::string> names;
  for (const auto& entry : tensors_) names.push_back(entry.first);
  return names;
}

}  // namespace specd
