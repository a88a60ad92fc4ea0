#include "scenario_options.hpp"

#include <charconv>
#include <vector>

#include "commands.hpp"

namespace gpuperf::cli {

namespace {

const std::vector<std::string> kSdOptions = {"resolution", "batch",     "cfg",   "no-cfg",      "steps",
                                             "attention",  "precision", "hires", "hires-steps", "part"};
const std::vector<std::string> kLlamaOptions = {"context", "prompt-tokens", "weights",   "kv-dtype",
                                                "phase",   "batch",         "attention", "kv-cache"};

bool given(const po::variables_map& vm, const std::string& name) {
  auto it = vm.find(name);
  return it != vm.end() && !it->second.defaulted();
}

std::string str(const po::variables_map& vm, const std::string& name) { return vm[name].as<std::string>(); }

void reject_foreign(const po::variables_map& vm, const std::vector<std::string>& foreign,
                    const std::vector<std::string>& own, const ModelSpec& model) {
  for (const auto& name : foreign) {
    if (std::find(own.begin(), own.end(), name) != own.end()) continue;
    if (given(vm, name))
      throw UsageError("--" + name + " does not apply to " + model.id + " (a " + std::string(to_string(model.kind)) +
                       " model)");
  }
}

}  // namespace

std::string_view to_string(SdPart part) {
  switch (part) {
    case SdPart::unet:
      return "unet";
    case SdPart::text_encoder:
      return "text-encoder";
    case SdPart::vae_decode:
      return "vae-decode";
    case SdPart::image:
      return "image";
  }
  return "?";
}

std::int64_t parse_count(const std::string& text, const std::string& option, std::int64_t lo, std::int64_t hi) {
  std::int64_t v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec == std::errc::result_out_of_range || (ec == std::errc() && ptr == end && (v < lo || v > hi)))
    throw UsageError("--" + option + " '" + text + "' is out of range (" + std::to_string(lo) + " to " +
                     std::to_string(hi) + ")");
  if (ec != std::errc() || ptr != end) throw UsageError("--" + option + " '" + text + "' is not a whole number");
  return v;
}

Resolution parse_resolution(const std::string& text, const std::string& option) {
  const auto x = text.find_first_of("xX");
  if (x == std::string::npos || x == 0 || x + 1 == text.size())
    throw UsageError("--" + option + " '" + text + "' must be WIDTHxHEIGHT, e.g. 512x512");
  Resolution r;
  r.width = parse_count(text.substr(0, x), option + " width", 1, kMaxImageSide);
  r.height = parse_count(text.substr(x + 1), option + " height", 1, kMaxImageSide);
  return r;
}

void add_scenario_options(po::options_description& desc) {
  po::options_description sd("Stable Diffusion scenario");
  sd.add_options()("resolution", po::value<std::string>(), "image size WIDTHxHEIGHT, multiples of 8 (default 512x512)")(
      "batch", po::value<std::string>(), "images (SD) or sequences (LLaMA) per batch (default 1)")(
      "cfg", po::bool_switch(), "classifier-free guidance: the UNet runs a doubled batch (default)")(
      "no-cfg", po::bool_switch(), "no classifier-free guidance")("steps", po::value<std::string>(),
                                                                  "sampling steps of the base pass (default 100)")(
      "attention", po::value<std::string>(),
      "flash (fused, memory-efficient) or naive (writes the score matrix); default flash for SD, naive for LLaMA")(
      "precision", po::value<std::string>(), "fp16|bf16|fp32|tf32 (default fp16)")(
      "hires", po::value<std::string>(), "hires fix: second pass at WIDTHxHEIGHT after a latent upscale")(
      "hires-steps", po::value<std::string>(), "steps of the hires pass (default: --steps)")(
      "part", po::value<std::string>(), "unet|text-encoder|vae-decode|image (default unet)");
  po::options_description llm("LLaMA scenario");
  llm.add_options()("context", po::value<std::string>(),
                    "decode: tokens the new token attends to, itself included (default 512)")(
      "prompt-tokens", po::value<std::string>(), "prefill: prompt length (default 512)")(
      "weights", po::value<std::string>(), "fp16|int8|gptq4-g128 (g32..g1024, or gptq4)|q4_0|q4_k (default fp16)")(
      "kv-dtype", po::value<std::string>(), "KV-cache dtype fp16|fp8|int8 (default fp16)")(
      "kv-cache", po::value<std::string>(),
      "concat|in-place: how the K/V cache grows each decode step (default: as the stack runs the framework - "
      "transformers concatenates, llama.cpp and one-kernel-per-op stacks write in place)")(
      "phase", po::value<std::string>(), "decode|prefill (default decode)");
  desc.add(sd).add(llm);
}

SdScenario sd_scenario_from(const po::variables_map& vm, const ModelSpec& model) {
  const SdModelSpec* spec = model.sd();
  if (!spec) throw UsageError(model.id + " is not a diffusion model");
  reject_foreign(vm, kLlamaOptions, kSdOptions, model);
  SdScenario sc;
  if (given(vm, "resolution")) sc.resolution = parse_resolution(str(vm, "resolution"), "resolution");
  if (given(vm, "batch")) sc.batch = parse_count(str(vm, "batch"), "batch", 1, kMaxBatch);
  const bool cfg = vm.count("cfg") && vm["cfg"].as<bool>();
  const bool no_cfg = vm.count("no-cfg") && vm["no-cfg"].as<bool>();
  if (cfg && no_cfg) throw UsageError("--cfg and --no-cfg contradict each other");
  sc.cfg = !no_cfg;
  if (given(vm, "steps")) sc.steps = parse_count(str(vm, "steps"), "steps", 1, kMaxSteps);
  if (given(vm, "attention")) {
    auto a = attention_kind_from_string(str(vm, "attention"));
    if (!a) throw UsageError("--attention '" + str(vm, "attention") + "' is unknown (expected flash or naive)");
    sc.attention = *a;
  }
  if (given(vm, "precision")) {
    auto p = precision_from_string(str(vm, "precision"));
    if (!p)
      throw UsageError("--precision '" + str(vm, "precision") + "' is unknown (expected fp16, bf16, fp32 or tf32)");
    sc.precision = *p;
  }
  if (given(vm, "hires")) sc.hires = parse_resolution(str(vm, "hires"), "hires");
  if (given(vm, "hires-steps")) {
    if (!sc.hires) throw UsageError("--hires-steps needs --hires WIDTHxHEIGHT");
    sc.hires_steps = parse_count(str(vm, "hires-steps"), "hires-steps", 1, kMaxSteps);
  }
  if (auto e = validate(*spec, sc)) throw UsageError(*e);
  return sc;
}

SdPart sd_part_from(const po::variables_map& vm) {
  if (!given(vm, "part")) return SdPart::unet;
  const std::string p = str(vm, "part");
  for (SdPart part : {SdPart::unet, SdPart::text_encoder, SdPart::vae_decode, SdPart::image})
    if (to_string(part) == p) return part;
  throw UsageError("--part '" + p + "' is unknown (expected unet, text-encoder, vae-decode or image)");
}

LlamaScenario llama_scenario_from(const po::variables_map& vm, const ModelSpec& model) {
  const LlamaModelSpec* spec = model.llama();
  if (!spec) throw UsageError(model.id + " is not an LLM");
  reject_foreign(vm, kSdOptions, kLlamaOptions, model);
  LlamaScenario sc;
  if (given(vm, "phase")) {
    const std::string p = str(vm, "phase");
    if (p == "decode")
      sc.phase = LlamaPhase::decode;
    else if (p == "prefill")
      sc.phase = LlamaPhase::prefill;
    else
      throw UsageError("--phase '" + p + "' is unknown (expected decode or prefill)");
  }
  if (given(vm, "context")) {
    if (sc.phase != LlamaPhase::decode) throw UsageError("--context applies to --phase decode (use --prompt-tokens)");
    sc.context = parse_count(str(vm, "context"), "context", 1, spec->max_context);
  }
  if (given(vm, "prompt-tokens")) {
    if (sc.phase != LlamaPhase::prefill) throw UsageError("--prompt-tokens applies to --phase prefill (use --context)");
    sc.prompt_tokens = parse_count(str(vm, "prompt-tokens"), "prompt-tokens", 1, spec->max_context);
  }
  if (given(vm, "batch")) sc.batch = parse_count(str(vm, "batch"), "batch", 1, kMaxBatch);
  if (given(vm, "weights")) {
    auto f = weight_format_from_string(str(vm, "weights"));
    if (!f)
      throw UsageError("--weights '" + str(vm, "weights") +
                       "' is unknown (expected fp16, int8, gptq4, gptq4-g32|g64|g128|g256|g512|g1024, q4_0 or q4_k)");
    sc.weights = *f;
  }
  if (given(vm, "kv-dtype")) {
    const std::string k = str(vm, "kv-dtype");
    if (k == "fp16")
      sc.kv_dtype = DType::fp16;
    else if (k == "bf16")
      sc.kv_dtype = DType::bf16;
    else if (k == "fp8")
      sc.kv_dtype = DType::fp8;
    else if (k == "int8")
      sc.kv_dtype = DType::int8;
    else
      throw UsageError("--kv-dtype '" + k + "' is unknown (expected fp16, bf16, fp8 or int8)");
  }
  if (given(vm, "attention")) {
    auto a = attention_kind_from_string(str(vm, "attention"));
    if (!a) throw UsageError("--attention '" + str(vm, "attention") + "' is unknown (expected flash or naive)");
    sc.attention = *a;
  }
  if (given(vm, "kv-cache")) {
    const std::string k = str(vm, "kv-cache");
    if (k != "concat" && k != "in-place")
      throw UsageError("--kv-cache '" + k + "' is unknown (expected concat or in-place)");
    sc.kv_concat = k == "concat";
  }
  if (auto e = validate(*spec, sc)) throw UsageError(*e);
  return sc;
}

std::string describe_scenario(const Scenario& scenario, int sd_pass) {
  if (const auto* sd = std::get_if<SdScenario>(&scenario))
    return to_string(sd->pass_resolution(sd_pass)) + ", batch " + std::to_string(sd->batch) +
           (sd->cfg ? " with CFG" : "") + ", " + std::string(to_string(sd->attention)) + " attention, " +
           std::string(to_string(sd->precision)) + (sd_pass == 1 ? ", hires pass" : "");
  const auto& ll = std::get<LlamaScenario>(scenario);
  const std::string phase = ll.phase == LlamaPhase::prefill
                                ? "prefill of " + std::to_string(ll.prompt_tokens) + " prompt tokens"
                                : "decode at context " + std::to_string(ll.context);
  // LLaMA's default attention is naive (scores, softmax, P·V): only the fused kernel is named.
  return phase + ", " + std::string(to_string(ll.weights)) + " weights, batch " + std::to_string(ll.batch) +
         (ll.attention == AttentionKind::flash ? ", flash attention" : "") +
         (ll.kv_concat ? (*ll.kv_concat ? ", K/V cache concatenated" : ", K/V cache in place") : "");
}

}  // namespace gpuperf::cli
