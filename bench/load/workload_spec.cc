// Parsing workload presets (see workload_spec.h). Pure functions; any thread.
#include "bench/load/workload_spec.h"

#include <filesystem>
#include <limits>

#include <fmt/format.h>

#include "engine/base/json_fields.h"

namespace specd::bench {
namespace {

using Json = nlohmann::json;

// An optional number in [min, max] ((min, max] when min_open).
StatusOr<std::optional<double>> OptionalNumber(const JsonFields& fields, const std::string& key,
                                               double min, double max, bool min_open = false) {
  const Json* value = fields.Find(key);
  if (value == nullptr) return std::optional<double>();
  const bool in_range = value->is_number() && (min_open ? value->get<double>() > min : value->get<double>() >= min) &&
                        value->get<double>() <= max;
  if (!in_range) {
    const std::string range = fmt::format("{}{:g}, {:g}]", min_open ? "(" : "[", min, max);
    return fields.Error("'" + key + "' must be a number in " + range + ", got " + value->dump());
  }
  return std::optional<double>(value->get<double>());
}

StatusOr<std::optional<int64_t>> OptionalInt(const JsonFields& fields, const std::string& key, int64_t min,
                                             int64_t max) {
  if (fields.Find(key) == nullptr) return std::optional<int64_t>();
  SPECD_ASSIGN_OR_RETURN(const int64_t value, fields.IntInRange(key, min, min, max));
  return std::optional<int64_t>(value);
}

// A required nested object.
StatusOr<JsonFields> Section(const JsonFields& fields, const std::string& key) {
  SPECD_ASSIGN_OR_RETURN(std::optional<JsonFields> section, fields.Object(key));
  if (!section) return fields.Error("missing required field '" + key + "'");
  return *section;
}

StatusOr<RunLimit> ParseLimit(const JsonFields& fields) {
  const bool has_requests = fields.Find("requests") != nullptr;
  if (has_requests == (fields.Find("duration_s") != nullptr)) {
    return fields.Error("give exactly one of 'requests' and 'duration_s'");
  }
  RunLimit limit;
  if (has_requests) {
    SPECD_ASSIGN_OR_RETURN(limit.requests, fields.PositiveInt("requests", std::nullopt));
  } else {
    SPECD_ASSIGN_OR_RETURN(limit.duration_s, fields.PositiveNumber("duration_s", 0));
  }
  return limit;
}

// "sweep": {"rates": [...]} under a poisson arrival, {"clients": [...]} under concurrency.
StatusOr<std::vector<ArrivalPattern>> ParseSweep(const JsonFields& fields, const ArrivalPattern& arrival) {
  SPECD_ASSIGN_OR_RETURN(const std::optional<JsonFields> sweep, fields.Object("sweep"));
  if (!sweep) return std::vector<ArrivalPattern>();
  SPECD_RETURN_IF_ERROR(sweep->RejectUnknownKeys({"rates", "clients"}));
  const bool rates = arrival.kind == ArrivalPattern::Kind::kPoisson;
  if (!rates && arrival.kind != ArrivalPattern::Kind::kConcurrency) {
    return sweep->Error("a sweep needs the poisson (\"rates\") or concurrency (\"clients\") arrival pattern");
  }
  const std::string key = rates ? "rates" : "clients";
  const Json* list = sweep->Find(key);
  if (list == nullptr || !list->is_array() || list->empty()) {
    return sweep->Error("needs '" + key + "', a non-empty list, for the " + (rates ? "poisson" : "concurrency") +
                        " arrival pattern");
  }
  std::vector<ArrivalPattern> runs;
  for (const Json& item : *list) {
    const bool valid = rates ? item.is_number() && item.get<double>() > 0
                             : item.is_number_integer() && item.get<int64_t>() >= 1 && item.get<int64_t>() <= kMaxClients;
    if (!valid) return sweep->Error("'" + key + "' has an invalid entry " + item.dump());
    runs.push_back(rates ? ArrivalPattern::Poisson(item.get<double>()) : ArrivalPattern::Concurrency(item.get<int64_t>()));
  }
  return runs;
}

StatusOr<PromptSpec> ParsePrompt(const JsonFields& fields) {
  SPECD_RETURN_IF_ERROR(fields.RejectUnknownKeys({"source", "tokens", "path", "separator"}));
  PromptSpec prompt;
  SPECD_ASSIGN_OR_RETURN(prompt.tokens, LengthDistribution::Parse(fields, "tokens"));
  SPECD_ASSIGN_OR_RETURN(const std::string source, fields.String("source", "random"));
  if (source == "random") {
    if (fields.Find("path") != nullptr) return fields.Error("'path' is only for the text_file source");
    return prompt;
  }
  if (source != "text_file") return fields.Error("'source' must be \"random\" or \"text_file\", got \"" + source + "\"");
  prompt.source = PromptSpec::Source::kTextFile;
  SPECD_ASSIGN_OR_RETURN(prompt.path, fields.String("path", ""));
  if (prompt.path.empty()) return fields.Error("the text_file source needs 'path'");
  SPECD_ASSIGN_OR_RETURN(prompt.separator, fields.String("separator", prompt.separator));
  if (prompt.separator.empty() || prompt.separator.find('\n') != std::string::npos) {
    return fields.Error("'separator' must be a non-empty line of text");
  }
  return prompt;
}

StatusOr<OutputSpec> ParseOutput(const JsonFields& fields) {
  SPECD_RETURN_IF_ERROR(fields.RejectUnknownKeys({"tokens", "ignore_eos"}));
  OutputSpec output;
  SPECD_ASSIGN_OR_RETURN(output.tokens, LengthDistribution::Parse(fields, "tokens"));
  SPECD_ASSIGN_OR_RETURN(output.ignore_eos, fields.Bool("ignore_eos", output.ignore_eos));
  return output;
}

Status ParseOptionalSections(const JsonFields& fields, WorkloadSpec& spec) {
  SPECD_ASSIGN_OR_RETURN(const std::optional<JsonFields> sampling, fields.Object("sampling"));
  if (sampling) {
    SPECD_RETURN_IF_ERROR(sampling->RejectUnknownKeys({"temperature", "top_p", "top_k"}));
    SPECD_ASSIGN_OR_RETURN(spec.sampling.temperature, OptionalNumber(*sampling, "temperature", 0, 100));
    SPECD_ASSIGN_OR_RETURN(spec.sampling.top_p, OptionalNumber(*sampling, "top_p", 0, 1, /*min_open=*/true));
    SPECD_ASSIGN_OR_RETURN(spec.sampling.top_k, OptionalInt(*sampling, "top_k", 0, std::numeric_limits<int32_t>::max()));
  }
  SPECD_ASSIGN_OR_RETURN(const std::optional<JsonFields> speculation, fields.Object("speculation"));
  if (speculation) {
    SPECD_RETURN_IF_ERROR(speculation->RejectUnknownKeys({"enabled", "max_draft_tokens"}));
    SPECD_ASSIGN_OR_RETURN(spec.speculation.enabled, speculation->Bool("enabled", true));
    SPECD_ASSIGN_OR_RETURN(spec.speculation.max_draft_tokens, OptionalInt(*speculation, "max_draft_tokens", 1, kMaxDraftTokens));
  }
  SPECD_ASSIGN_OR_RETURN(const std::optional<JsonFields> slo, fields.Object("slo"));
  if (slo) {
    SPECD_RETURN_IF_ERROR(slo->RejectUnknownKeys({"ttft_ms", "tpot_ms", "e2e_ms"}));
    constexpr double kMaxMs = 1e9;
    SPECD_ASSIGN_OR_RETURN(spec.slo.ttft_ms, OptionalNumber(*slo, "ttft_ms", 0, kMaxMs, /*min_open=*/true));
    SPECD_ASSIGN_OR_RETURN(spec.slo.tpot_ms, OptionalNumber(*slo, "tpot_ms", 0, kMaxMs, /*min_open=*/true));
    SPECD_ASSIGN_OR_RETURN(spec.slo.e2e_ms, OptionalNumber(*slo, "e2e_ms", 0, kMaxMs, /*min_open=*/true));
    if (spec.slo.empty()) return slo->Error("give at least one of 'ttft_ms', 'tpot_ms' and 'e2e_ms'");
  }
  return OkStatus();
}

// {"key": value} for each optional that is set.
template <typename T>
void PutIfSet(Json& json, const std::string& key, const std::optional<T>& value) {
  if (value) json[key] = *value;
}

Json PromptJson(const PromptSpec& prompt) {
  if (prompt.source == PromptSpec::Source::kRandom) return {{"source", "random"}, {"tokens", prompt.tokens.ToJson()}};
  return {{"source", "text_file"}, {"path", prompt.path}, {"separator", prompt.separator},
          {"tokens", prompt.tokens.ToJson()}};
}

}  // namespace

std::vector<ArrivalPattern> WorkloadSpec::Runs() const {
  return sweep.empty() ? std::vector<ArrivalPattern>{arrival} : sweep;
}

Json WorkloadSpec::ToJson() const {
  Json json = {{"name", name}, {"description", description}, {"seed", seed}, {"arrival", arrival.ToJson()},
               {"prompt", PromptJson(prompt)},
               {"output", {{"tokens", output.tokens.ToJson()}, {"ignore_eos", output.ignore_eos}}},
               {"sampling", Json::object()}, {"speculation", {{"enabled", speculation.enabled}}}};
  PutIfSet(json, "requests", limit.requests);
  PutIfSet(json, "duration_s", limit.duration_s);
  for (const ArrivalPattern& run : sweep) json["sweep"].push_back(run.ToJson());
  PutIfSet(json["sampling"], "temperature", sampling.temperature);
  PutIfSet(json["sampling"], "top_p", sampling.top_p);
  PutIfSet(json["sampling"], "top_k", sampling.top_k);
  PutIfSet(json["speculation"], "max_draft_tokens", speculation.max_draft_tokens);
  if (slo.empty()) return json;
  json["slo"] = Json::object();
  PutIfSet(json["slo"], "ttft_ms", slo.ttft_ms);
  PutIfSet(json["slo"], "tpot_ms", slo.tpot_ms);
  PutIfSet(json["slo"], "e2e_ms", slo.e2e_ms);
  return json;
}

StatusOr<WorkloadSpec> ParseWorkloadSpec(const Json& json, const std::string& source, const std::string& default_name) {
  const JsonFields fields(json, source);
  SPECD_RETURN_IF_ERROR(fields.RejectUnknownKeys({"name", "description", "seed", "requests", "duration_s",
                                                  "arrival", "sweep", "prompt", "output", "sampling",
                                                  "speculation", "slo"}));
  WorkloadSpec spec;
  SPECD_ASSIGN_OR_RETURN(spec.name, fields.String("name", default_name));
  SPECD_ASSIGN_OR_RETURN(spec.description, fields.String("description", ""));
  SPECD_ASSIGN_OR_RETURN(const int64_t seed, fields.IntInRange("seed", 0, 0, std::numeric_limits<int64_t>::max()));
  spec.seed = static_cast<uint64_t>(seed);
  SPECD_ASSIGN_OR_RETURN(spec.limit, ParseLimit(fields));
  SPECD_ASSIGN_OR_RETURN(const JsonFields arrival, Section(fields, "arrival"));
  SPECD_ASSIGN_OR_RETURN(spec.arrival, ArrivalPattern::Parse(arrival));
  SPECD_ASSIGN_OR_RETURN(spec.sweep, ParseSweep(fields, spec.arrival));
  SPECD_ASSIGN_OR_RETURN(const JsonFields prompt, Section(fields, "prompt"));
  SPECD_ASSIGN_OR_RETURN(spec.prompt, ParsePrompt(prompt));
  SPECD_ASSIGN_OR_RETURN(const JsonFields output, Section(fields, "output"));
  SPECD_ASSIGN_OR_RETURN(spec.output, ParseOutput(output));
  SPECD_RETURN_IF_ERROR(ParseOptionalSections(fields, spec));
  return spec;
}

StatusOr<WorkloadSpec> LoadWorkloadSpec(const std::string& path) {
  SPECD_ASSIGN_OR_RETURN(const Json json, ReadJsonObjectFile(path));
  return ParseWorkloadSpec(json, path, std::filesystem::path(path).stem().string());
}

}  // namespace specd::bench
