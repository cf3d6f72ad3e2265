// Helpers for the tokenizer tests: small hand-made tokenizer.json documents.
#pragma once

#include <catch2/catch.hpp>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/tokenizer/byte_level_alphabet.h"
#include "engine/tokenizer/tokenizer.h"

namespace specd::testing {

// The Llama-3 pre-tokenizer split pattern.
inline constexpr const char* kLlama3Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*)"
    R"(|\s*[\r\n]+|\s+(?!\S)|\s+)";

// A BPE model whose vocabulary is `tokens` with ids 0, 1, 2, ... in order.
inline nlohmann::json BpeModelJson(const std::vector<std::string>& tokens,
                                   const nlohmann::json& merges = nlohmann::json::array()) {
  nlohmann::json vocab = nlohmann::json::object();
  for (size_t i = 0; i < tokens.size(); ++i) vocab[tokens[i]] = static_cast<int>(i);
  return {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}};
}

// A tokenizer.json around `model` with every other component null.
inline nlohmann::json TokenizerJson(const nlohmann::json& model) {
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", nlohmann::json::array()},
          {"normalizer", nullptr},
          {"pre_tokenizer", nullptr},
          {"post_processor", nullptr},
          {"decoder", nullptr},
          {"model", model}};
}

// An entry of "added_tokens".
inline nlohmann::json AddedTokenJson(int id, const std::string& content, bool special,
                                     bool lstrip = false, bool rstrip = false,
                                     bool single_word = false, bool normalized = false) {
  return {{"id", id},          {"content", content}, {"single_word", single_word},
          {"lstrip", lstrip},  {"rstrip", rstrip},   {"normalized", normalized},
          {"special", special}};
}

inline std::unique_ptr<Tokenizer> LoadTokenizer(const nlohmann::json& config) {
  StatusOr<std::unique_ptr<Tokenizer>> tokenizer =
      Tokenizer::FromJsonString(config.dump(), "test.json");
  INFO(tokenizer.status().ToString());
  REQUIRE(tokenizer.ok());
  return std::move(tokenizer).value();
}

inline std::vector<int32_t> EncodeOk(const Tokenizer& tokenizer, const std::string& text,
                                     bool add_special_tokens = false) {
  StatusOr<std::vector<int32_t>> ids = tokenizer.Encode(text, add_special_tokens);
  INFO(ids.status().ToString());
  REQUIRE(ids.ok());
  return *ids;
}

inline std::string DecodeOk(const Tokenizer& tokenizer, const std::vector<int32_t>& ids,
                            bool skip_special_tokens = false) {
  StatusOr<std::string> text = tokenizer.Decode(ids, skip_special_tokens);
  INFO(text.status().ToString());
  REQUIRE(text.ok());
  return *text;
}

// The 256 GPT-2 byte characters, in byte order (ids 0..255 when used as a vocabulary prefix).
inline std::vector<std::string> ByteLevelAlphabet() {
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b) {
    tokens.emplace_back(byte_level::ByteToChar(static_cast<uint8_t>(b)));
  }
  return tokens;
}

// A byte-level BPE tokenizer: the 256 byte characters (ids = byte values) plus the tokens that
// `merges` ("a b" strings over byte characters) create, in order; ByteLevel pre-tokenizer
// (GPT-2 regex, no prefix space) and decoder; "<|endoftext|>" special at the next id.
inline nlohmann::json ByteLevelTokenizerJson(const std::vector<std::string>& merges) {
  std::vector<std::string> tokens = ByteLevelAlphabet();
  for (const std::string& merge : merges) {
    const size_t space = merge.find(' ');
    tokens.push_back(merge.substr(0, space) + merge.substr(space + 1));
  }
  nlohmann::json config = TokenizerJson(BpeModelJson(tokens, merges));
  config["pre_tokenizer"] = {{"type", "ByteLevel"},
                             {"add_prefix_space", false},
                             {"trim_offsets", true},
                             {"use_regex", true}};
  config["decoder"] = {{"type", "ByteLevel"},
                       {"add_prefix_space", true},
                       {"trim_offsets", true},
                       {"use_regex", true}};
  config["added_tokens"] = {AddedTokenJson(static_cast<int>(tokens.size()), "<|endoftext|>",
                                           /*special=*/true)};
  return config;
}

}  // namespace specd::testing
