// The supported post-processors (see post_processor.h).
#include "engine/tokenizer/post_processor.h"

#include <map>
#include <string>

namespace specd {
namespace {

class TemplateProcessor : public PostProcessor {
 public:
  // One element of the single-sequence template: the sequence itself ($A) or special ids.
  struct Piece {
    bool is_sequence;
    std::vector<int32_t> special_ids;
  };

  explicit TemplateProcessor(std::vector<Piece> pieces) : pieces_(std::move(pieces)) {}

  void Process(std::vector<int32_t>& ids, bool add_special_tokens) const override {
    std::vector<int32_t> result;
    for (const Piece& piece : pieces_) {
      if (piece.is_sequence) {
        result.insert(result.end(), ids.begin(), ids.end());
      } else if (add_special_tokens) {
        result.insert(result.end(), piece.special_ids.begin(), piece.special_ids.end());
      }
    }
    ids = std::move(result);
  }

 private:
  std::vector<Piece> pieces_;
};

class IdentityProcessor : public PostProcessor {
 public:
  void Process(std::vector<int32_t>&, bool) const override {}
};

class SequenceProcessor : public PostProcessor {
 public:
  explicit SequenceProcessor(std::vector<std::unique_ptr<PostProcessor>> steps)
      : steps_(std::move(steps)) {}

  void Process(std::vector<int32_t>& ids, bool add_special_tokens) const override {
    for (const auto& step : steps_) step->Process(ids, add_special_tokens);
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> steps_;
};

// The "special_tokens" map of a template: name -> ids.
StatusOr<std::map<std::string, std::vector<int32_t>>> ParseSpecialTokens(const JsonView& config) {
  std::map<std::string, std::vector<int32_t>> tokens;
  if (!config.Has("special_tokens")) return tokens;
  SPECD_ASSIGN_OR_RETURN(const JsonView map, config.Object("special_tokens"));
  for (const auto& item : map.json().items()) {
    SPECD_ASSIGN_OR_RETURN(const std::vector<JsonView> ids, map.Get(item.key()).Array("ids"));
    std::vector<int32_t>& out = tokens[item.key()];
    for (const JsonView& id : ids) {
      if (!id.json().is_number_integer() || id.json().get<int64_t>() < 0 ||
          id.json().get<int64_t>() > INT32_MAX) {
        return id.Error("expected a token id in [0, 2^31)");
      }
      out.push_back(static_cast<int32_t>(id.json().get<int64_t>()));
    }
  }
  return tokens;
}

StatusOr<TemplateProcessor::Piece> ParsePiece(
    const JsonView& item, const std::map<std::string, std::vector<int32_t>>& special_tokens) {
  if (item.Has("Sequence")) {
    SPECD_ASSIGN_OR_RETURN(const std::string id, item.Get("Sequence").String("id"));
    if (id != "A") return item.Error("the single-sequence template can only use sequence A");
    return TemplateProcessor::Piece{true, {}};
  }
  if (item.Has("SpecialToken")) {
    SPECD_ASSIGN_OR_RETURN(const std::string id, item.Get("SpecialToken").String("id"));
    const auto it = special_tokens.find(id);
    if (it == special_tokens.end()) {
      return item.Error("special token '" + id + "' is missing from special_tokens");
    }
    return TemplateProcessor::Piece{false, it->second};
  }
  return item.Error("expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
}

StatusOr<std::unique_ptr<PostProcessor>> MakeTemplate(const JsonView& config) {
  SPECD_ASSIGN_OR_RETURN(const auto special_tokens, ParseSpecialTokens(config));
  SPECD_ASSIGN_OR_RETURN(const std::vector<JsonView> items, config.Array("single"));
  std::vector<TemplateProcessor::Piece> pieces;
  for (const JsonView& item : items) {
    SPECD_ASSIGN_OR_RETURN(TemplateProcessor::Piece piece, ParsePiece(item, special_tokens));
    pieces.push_back(std::move(piece));
  }
  return std::unique_ptr<PostProcessor>(new TemplateProcessor(std::move(pieces)));
}

StatusOr<std::unique_ptr<PostProcessor>> MakeSequence(const JsonView& config) {
  SPECD_ASSIGN_OR_RETURN(auto steps, ComponentList<PostProcessor>(config, "processors", "a post-processor"));
  return std::unique_ptr<PostProcessor>(new SequenceProcessor(std::move(steps)));
}

}  // namespace

StatusOr<std::unique_ptr<PostProcessor>> PostProcessor::FromJson(const JsonView& config) {
  if (config.IsNull()) return std::unique_ptr<PostProcessor>();
  SPECD_ASSIGN_OR_RETURN(const std::string type, config.Type());
  if (type == "TemplateProcessing") return MakeTemplate(config);
  if (type == "ByteLevel") return std::unique_ptr<PostProcessor>(new IdentityProcessor());
  if (type == "Sequence") return MakeSequence(config);
  return config.Unsupported("post-processor", type);
}

}  // namespace specd
