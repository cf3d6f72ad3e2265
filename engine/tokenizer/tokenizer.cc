// Tokenizer: loading and the encode / decode pipelines (see tokenizer.h).
#include "engine/tokenizer/tokenizer.h"

#include <fstream>
#include <sstream>

#include "engine/base/logging.h"
#include "engine/tokenizer/utf8.h"

namespace specd {
namespace {

constexpr std::string_view kSupportedVersion = "1.0";

Status CheckModelType(const JsonView& model) {
  if (!model.Has("type")) {
    if (model.Has("merges")) return OkStatus();  // old files: a BPE model without "type"
    return model.Error("missing \"type\" (only BPE models are supported)");
  }
  SPECD_ASSIGN_OR_RETURN(const std::string type, model.Type());
  if (type != "BPE") {
    return model.Error("unsupported model type '" + type + "' (only BPE is supported)");
  }
  return OkStatus();
}

Status CheckTopLevel(const JsonView& root) {
  if (!root.json().is_object()) return root.Error("expected a JSON object");
  if (root.Has("version")) {
    SPECD_ASSIGN_OR_RETURN(const std::string version, root.String("version"));
    if (version != kSupportedVersion) {
      return root.Get("version").Error("unknown tokenizer.json version '" + version + "'");
    }
  }
  for (const char* key : {"truncation", "padding"}) {
    if (root.Has(key)) GetLogger("tokenizer")->warn("{} settings are ignored", key);
  }
  return OkStatus();
}

}  // namespace

Tokenizer::Tokenizer(std::unique_ptr<Normalizer> normalizer,
                     std::unique_ptr<PreTokenizer> pre_tokenizer, BpeModel model,
                     AddedVocabulary added_vocabulary,
                     std::unique_ptr<PostProcessor> post_processor,
                     std::unique_ptr<Decoder> decoder)
    : normalizer_(std::move(normalizer)),
      pre_tokenizer_(std::move(pre_tokenizer)),
      model_(std::move(model)),
      added_vocabulary_(std::move(added_vocabulary)),
      post_processor_(std::move(post_processor)),
      decoder_(std::move(decoder)) {}

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return NotFoundError(path + ": cannot open tokenizer file");
  std::ostringstream content;
  content << file.rdbuf();
  if (file.bad()) return DataLossError(path + ": read error");
  return FromJsonString(content.str(), path);
}

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromJsonString(const std::string& json,
                                                               const std::string& source_name) {
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(json);
  } catch (const nlohmann::json::parse_error& error) {
    return InvalidArgumentError(source_name + ": malformed JSON: " + error.what());
  }
  StatusOr<std::unique_ptr<Tokenizer>> tokenizer = Build(JsonView(root, ""));
  if (!tokenizer.ok()) return tokenizer.status().WithContext(source_name);
  GetLogger("tokenizer")->debug("loaded {}: {} ids", source_name, (*tokenizer)->vocab_size());
  return tokenizer;
}

StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::Build(const JsonView& root) {
  SPECD_RETURN_IF_ERROR(CheckTopLevel(root));
  SPECD_ASSIGN_OR_RETURN(const JsonView model_config, root.Object("model"));
  SPECD_RETURN_IF_ERROR(CheckModelType(model_config));
  SPECD_ASSIGN_OR_RETURN(BpeModel model, BpeModel::FromJson(model_config));
  SPECD_ASSIGN_OR_RETURN(std::unique_ptr<Normalizer> normalizer,
                         Normalizer::FromJson(root.Get("normalizer")));
  SPECD_ASSIGN_OR_RETURN(std::unique_ptr<PreTokenizer> pre_tokenizer,
                         PreTokenizer::FromJson(root.Get("pre_tokenizer")));
  SPECD_ASSIGN_OR_RETURN(
      AddedVocabulary added_vocabulary,
      AddedVocabulary::FromJson(root.Get("added_tokens"), model, normalizer.get()));
  SPECD_ASSIGN_OR_RETURN(std::unique_ptr<PostProcessor> post_processor,
                         PostProcessor::FromJson(root.Get("post_processor")));
  SPECD_ASSIGN_OR_RETURN(std::unique_ptr<Decoder> decoder, Decoder::FromJson(root.Get("decoder")));
  return std::unique_ptr<Tokenizer>(new Tokenizer(std::move(normalizer), std::move(pre_tokenizer),
                                                  std::move(model), std::move(added_vocabulary),
                                                  std::move(post_processor), std::move(decoder)));
}

StatusOr<std::vector<int32_t>> Tokenizer::Encode(std::string_view text,
                                                 bool add_special_tokens) const {
  if (const std::optional<size_t> bad = utf8::FindInvalid(text)) {
    return InvalidArgumentError("text to encode is not valid UTF-8 (ill-formed sequence at byte " +
                                std::to_string(*bad) + ")");
  }
  SPECD_ASSIGN_OR_RETURN(PreTokenizedText pieces,
                         added_vocabulary_.ExtractAndNormalize(text, normalizer_.get()));
  if (pre_tokenizer_) SPECD_RETURN_IF_ERROR(pre_tokenizer_->PreTokenize(pieces));
  std::vector<int32_t> ids;
  for (const TextSplit& split : pieces.splits()) {
    if (split.token_id) {
      ids.push_back(*split.token_id);
    } else {
      SPECD_RETURN_IF_ERROR(model_.Tokenize(split.text.text(), ids));
    }
  }
  if (post_processor_) post_processor_->Process(ids, add_special_tokens);
  return ids;
}

const std::string* Tokenizer::FindToken(int32_t id) const {
  if (const AddedToken* token = added_vocabulary_.FindById(id)) return &token->spelling;
  return model_.IdToToken(id);
}

StatusOr<const std::string*> Tokenizer::TokenRef(int32_t id) const {
  if (const std::string* token = FindToken(id)) return token;
  return InvalidArgumentError("token id " + std::to_string(id) +
                              " is not in the vocabulary (size " + std::to_string(vocab_size()) +
                              ")");
}

StatusOr<std::string> Tokenizer::Decode(std::span<const int32_t> ids,
                                        bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (const int32_t id : ids) {
    SPECD_ASSIGN_OR_RETURN(const std::string* token, TokenRef(id));
    if (skip_special_tokens && added_vocabulary_.IsSpecialContent(*token)) continue;
    tokens.push_back(*token);
  }
  std::string text;
  if (!decoder_) {
    for (size_t i = 0; i < tokens.size(); ++i) text += (i == 0 ? "" : " ") + tokens[i];
    return text;
  }
  DecodeState state;
  SPECD_RETURN_IF_ERROR(decoder_->DecodeChain(tokens, state));
  for (const std::string& token : tokens) text += token;
  return text;
}

StatusOr<std::string> Tokenizer::TokenBytes(int32_t id, bool first_in_sequence) const {
  SPECD_ASSIGN_OR_RETURN(const std::string* token, TokenRef(id));
  if (!decoder_) return first_in_sequence ? *token : " " + *token;
  std::vector<std::string> tokens = {*token};
  DecodeState state{.raw_bytes = true, .starts_sequence = first_in_sequence};
  SPECD_RETURN_IF_ERROR(decoder_->DecodeChain(tokens, state));
  std::string bytes;
  for (const std::string& piece : tokens) bytes += piece;
  return bytes;
}

int32_t Tokenizer::vocab_size() const {
  return std::max(model_.max_id(), added_vocabulary_.max_id()) + 1;
}

std::optional<int32_t> Tokenizer::TokenToId(std::string_view token) const {
  if (const std::optional<int32_t> id = added_vocabulary_.TokenToId(token)) return id;
  return model_.TokenToId(token);
}

std::optional<std::string> Tokenizer::IdToToken(int32_t id) const {
  const std::string* token = FindToken(id);
  if (token == nullptr) return std::nullopt;
  return *token;
}

bool Tokenizer::IsSpecialToken(int32_t id) const {
  const std::string* token = FindToken(id);
  return token != nullptr && added_vocabulary_.IsSpecialContent(*token);
}

}  // namespace specd
