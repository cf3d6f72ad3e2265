// BPE model (see bpe_model.h).
#include "engine/tokenizer/bpe_model.h"

#include <algorithm>
#include <cstdio>
#include <queue>

#include "engine/base/logging.h"
#include "engine/tokenizer/utf8.h"

namespace specd {
namespace {

uint64_t PairKey(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

// "<0x0A>": the byte-fallback spelling of a byte (Rust format "<{:#04X}>").
std::string ByteTokenName(uint8_t b) {
  char name[8];
  std::snprintf(name, sizeof(name), "<0x%02X>", b);
  return name;
}

// A merge candidate in the queue: lowest rank first, then leftmost (tokenizers' Merge order).
struct Candidate {
  size_t pos;
  uint32_t rank;
  int32_t new_id;
};
struct CandidateAfter {
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
  }
};

StatusOr<std::pair<std::string, std::string>> ParseMerge(const JsonView& merge) {
  if (merge.json().is_string()) {
    const std::string line = merge.json().get<std::string>();
    const size_t space = line.find(' ');
    if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos) {
      return merge.Error("expected \"left right\" (two tokens separated by one space), got '" +
                         line + "'");
    }
    return std::make_pair(line.substr(0, space), line.substr(space + 1));
  }
  const nlohmann::json& pair = merge.json();
  if (pair.is_array() && pair.size() == 2 && pair[0].is_string() && pair[1].is_string()) {
    return std::make_pair(pair[0].get<std::string>(), pair[1].get<std::string>());
  }
  return merge.Error("expected \"left right\" or [\"left\", \"right\"]");
}

}  // namespace

StatusOr<BpeModel> BpeModel::FromJson(const JsonView& config) {
  BpeModel model;
  SPECD_RETURN_IF_ERROR(model.LoadOptions(config));
  SPECD_RETURN_IF_ERROR(model.LoadVocab(config));
  SPECD_RETURN_IF_ERROR(model.LoadMerges(config));
  return model;
}

Status BpeModel::LoadOptions(const JsonView& config) {
  if (config.Has("dropout")) {
    const JsonView dropout = config.Get("dropout");
    if (!dropout.json().is_number()) return dropout.Error("expected a number or null");
    if (dropout.json().get<double>() != 0.0) {
      return dropout.Error("BPE dropout is not supported (encoding must be deterministic)");
    }
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    SPECD_ASSIGN_OR_RETURN(const std::string affix, config.StringOr(key, ""));
    if (!affix.empty()) {
      return config.Get(key).Error("BPE " + std::string(key) + " '" + affix + "' is not supported");
    }
  }
  if (config.Has("unk_token")) {
    SPECD_ASSIGN_OR_RETURN(unk_token_, config.String("unk_token"));
  }
  SPECD_ASSIGN_OR_RETURN(fuse_unk_, config.BoolOr("fuse_unk", false));
  SPECD_ASSIGN_OR_RETURN(byte_fallback_, config.BoolOr("byte_fallback", false));
  SPECD_ASSIGN_OR_RETURN(ignore_merges_, config.BoolOr("ignore_merges", false));
  return OkStatus();
}

Status BpeModel::LoadVocab(const JsonView& config) {
  SPECD_ASSIGN_OR_RETURN(const JsonView vocab, config.Object("vocab"));
  for (const auto& [token, id_json] : vocab.json().items()) {
    const JsonView entry = vocab.Get(token);
    if (!id_json.is_number_integer() || id_json.get<int64_t>() < 0 ||
        id_json.get<int64_t>() > INT32_MAX) {
      return entry.Error("expected a token id in [0, 2^31)");
    }
    const auto id = static_cast<int32_t>(id_json.get<int64_t>());
    vocab_.emplace(token, id);
    if (!vocab_r_.emplace(id, token).second) {
      GetLogger("tokenizer")
          ->warn("{}: id {} is used by '{}' and '{}'; decoding uses '{}'", vocab.path(), id,
                 vocab_r_[id], token, vocab_r_[id]);
    }
    max_id_ = std::max(max_id_, id);
  }
  for (int b = 0; b < 256; ++b) {
    byte_token_ids_[b] = TokenToId(ByteTokenName(static_cast<uint8_t>(b)));
  }
  return OkStatus();
}

Status BpeModel::LoadMerges(const JsonView& config) {
  SPECD_ASSIGN_OR_RETURN(const std::vector<JsonView> merges, config.Array("merges"));
  merges_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    SPECD_ASSIGN_OR_RETURN(const auto pair, ParseMerge(merges[rank]));
    const std::optional<int32_t> left = TokenToId(pair.first);
    const std::optional<int32_t> right = TokenToId(pair.second);
    const std::optional<int32_t> merged = TokenToId(pair.first + pair.second);
    for (const auto& [id, token] : {std::pair{left, pair.first}, std::pair{right, pair.second},
                                    std::pair{merged, pair.first + pair.second}}) {
      if (!id) return merges[rank].Error("merge token '" + token + "' is not in the vocabulary");
    }
    // A repeated pair keeps its last rank, as in tokenizers.
    merges_[PairKey(*left, *right)] = {static_cast<uint32_t>(rank), *merged};
  }
  return OkStatus();
}

std::optional<int32_t> BpeModel::TokenToId(std::string_view token) const {
  const auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::IdToToken(int32_t id) const {
  const auto it = vocab_r_.find(id);
  return it == vocab_r_.end() ? nullptr : &it->second;
}

const BpeModel::MergeTarget* BpeModel::FindMerge(int32_t left, int32_t right) const {
  const auto it = merges_.find(PairKey(left, right));
  return it == merges_.end() ? nullptr : &it->second;
}

StatusOr<std::vector<BpeModel::Symbol>> BpeModel::InitialSymbols(std::string_view piece) const {
  std::vector<Symbol> symbols;
  const auto add = [&symbols](int32_t id, size_t byte_length) {
    const auto index = static_cast<int32_t>(symbols.size());
    if (!symbols.empty()) symbols.back().next = index;
    symbols.push_back({id, index - 1, -1, byte_length});
  };
  // An unk not added yet, so that the next unknown characters can be fused into it.
  int32_t unk_id = -1;
  size_t unk_length = 0;  // 0: no pending unk
  const auto flush_unk = [&] {
    if (unk_length > 0) add(unk_id, unk_length);
    unk_length = 0;
  };
  for (size_t pos = 0; pos < piece.size();) {
    const size_t length = utf8::DecodeAt(piece, pos).length;
    const std::string_view ch = piece.substr(pos, length);
    pos += length;
    if (const std::optional<int32_t> id = TokenToId(ch)) {
      flush_unk();
      add(*id, length);
      continue;
    }
    if (byte_fallback_ && std::all_of(ch.begin(), ch.end(), [&](char b) {
          return byte_token_ids_[static_cast<uint8_t>(b)].has_value();
        })) {
      // Like tokenizers, a pending unk is not flushed before byte-fallback tokens.
      for (const char b : ch) add(*byte_token_ids_[static_cast<uint8_t>(b)], 1);
      continue;
    }
    if (!unk_token_) continue;  // no unk token: the character is dropped
    if (unk_length > 0 && fuse_unk_) {
      unk_length += length;
      continue;
    }
    flush_unk();
    const std::optional<int32_t> id = TokenToId(*unk_token_);
    if (!id) {
      return InvalidArgumentError("unk_token '" + *unk_token_ +
                                  "' is not in the vocabulary (needed for character '" +
                                  std::string(ch) + "')");
    }
    unk_id = *id;
    unk_length = length;
  }
  flush_unk();
  return symbols;
}

void BpeModel::MergeAll(std::vector<Symbol>& symbols) const {
  std::priority_queue<Candidate, std::vector<Candidate>, CandidateAfter> queue;
  for (size_t i = 0; i + 1 < symbols.size(); ++i) {
    if (const MergeTarget* merge = FindMerge(symbols[i].id, symbols[i + 1].id)) {
      queue.push({i, merge->rank, merge->new_id});
    }
  }
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.pos];
    if (left.byte_length == 0 || left.next == -1) continue;
    Symbol& right = symbols[static_cast<size_t>(left.next)];
    const MergeTarget* current = FindMerge(left.id, right.id);
    if (current == nullptr || current->new_id != top.new_id) continue;  // stale entry
    left.id = top.new_id;
    left.byte_length += right.byte_length;
    left.next = right.next;
    right.byte_length = 0;
    if (left.next != -1)
      symbols[static_cast<size_t>(left.next)].prev = static_cast<int32_t>(top.pos);
    if (left.prev != -1) {
      const auto prev = static_cast<size_t>(left.prev);
      if (const MergeTarget* merge = FindMerge(symbols[prev].id, left.id)) {
        queue.push({prev, merge->rank, merge->new_id});
      }
    }
    if (left.next != -1) {
      if (const MergeTarget* merge =
              FindMerge(left.id, symbols[static_cast<size_t>(left.next)].id)) {
        queue.push({top.pos, merge->rank, merge->new_id});
      }
    }
  }
}

Status BpeModel::Tokenize(std::string_view piece, std::vector<int32_t>& ids) const {
  if (piece.empty()) return OkStatus();
  if (ignore_merges_) {
    if (const std::optional<int32_t> id = TokenToId(piece)) {
      ids.push_back(*id);
      return OkStatus();
    }
  }
  SPECD_ASSIGN_OR_RETURN(std::vector<Symbol> symbols, InitialSymbols(piece));
  MergeAll(symbols);
  for (const Symbol& symbol : symbols) {
    if (symbol.byte_length != 0) ids.push_back(symbol.id);
  }
  return OkStatus();
}

}  // namespace specd
