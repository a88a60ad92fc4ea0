// Scenario vocabulary (precisions, attention kinds, weight formats) and the validation that keeps
// every builder total: a scenario that passes validate() builds without overflow or huge allocations.
#include <charconv>
#include <string>

#include "gpuperf/workloads.hpp"

namespace gpuperf {

std::string_view to_string(ModelKind kind) { return kind == ModelKind::diffusion ? "diffusion" : "llm"; }

std::string_view to_string(AttentionKind kind) { return kind == AttentionKind::flash ? "flash" : "naive"; }

std::optional<AttentionKind> attention_kind_from_string(std::string_view name) {
  if (name == "flash") return AttentionKind::flash;
  if (name == "naive") return AttentionKind::naive;
  return std::nullopt;
}

std::string_view to_string(Precision p) {
  switch (p) {
    case Precision::fp16:
      return "fp16";
    case Precision::bf16:
      return "bf16";
    case Precision::fp32:
      return "fp32";
    case Precision::tf32:
      return "tf32";
  }
  return "?";
}

std::optional<Precision> precision_from_string(std::string_view name) {
  for (Precision p : {Precision::fp16, Precision::bf16, Precision::fp32, Precision::tf32})
    if (to_string(p) == name) return p;
  return std::nullopt;
}

DType activation_dtype(Precision p) {
  switch (p) {
    case Precision::fp16:
      return DType::fp16;
    case Precision::bf16:
      return DType::bf16;
    case Precision::fp32:
    case Precision::tf32:
      return DType::fp32;
  }
  return DType::fp16;
}

std::optional<TensorMode> tensor_mode_of(Precision p) {
  switch (p) {
    case Precision::fp16:
      return TensorMode::fp16_acc32;
    case Precision::bf16:
      return TensorMode::bf16_acc32;
    case Precision::fp32:
      return std::nullopt;
    case Precision::tf32:
      return TensorMode::tf32;
  }
  return std::nullopt;
}

std::string to_string(const Resolution& r) { return std::to_string(r.width) + "x" + std::to_string(r.height); }

std::string_view to_string(LlamaPhase phase) { return phase == LlamaPhase::decode ? "decode" : "prefill"; }

std::string to_string(const WeightFormat& f) {
  switch (f.kind) {
    case WeightFormatKind::fp16:
      return "fp16";
    case WeightFormatKind::int8:
      return "int8";
    case WeightFormatKind::gptq4:
      return f.group_size > 0 ? "gptq4-g" + std::to_string(f.group_size) : "gptq4";
    case WeightFormatKind::q4_0:
      return "q4_0";
    case WeightFormatKind::q4_k:
      return "q4_k";
  }
  return "?";
}

std::optional<WeightFormat> weight_format_from_string(std::string_view name) {
  WeightFormat f;
  if (name == "fp16") return f;
  if (name == "int8") {
    f.kind = WeightFormatKind::int8;
    return f;
  }
  if (name == "q4_0") {
    f.kind = WeightFormatKind::q4_0;
    return f;
  }
  if (name == "q4_k") {
    f.kind = WeightFormatKind::q4_k;
    return f;
  }
  if (name == "gptq4") {
    f.kind = WeightFormatKind::gptq4;
    return f;
  }
  constexpr std::string_view prefix = "gptq4-g";
  if (name.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view digits = name.substr(prefix.size());
  std::int64_t g = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), g);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) return std::nullopt;
  // The group sizes GPTQ checkpoints are published with.
  for (std::int64_t allowed : {32, 64, 128, 256, 512, 1024}) {
    if (g == allowed) {
      f.kind = WeightFormatKind::gptq4;
      f.group_size = g;
      return f;
    }
  }
  return std::nullopt;
}

double weight_matrix_bytes(const WeightFormat& f, std::int64_t k, std::int64_t n) {
  const double kd = static_cast<double>(k);
  const double nd = static_cast<double>(n);
  switch (f.kind) {
    case WeightFormatKind::fp16:
      return 2.0 * kd * nd;
    case WeightFormatKind::int8:
      return kd * nd + 4.0 * nd;  // int8 + fp32 absmax per output row
    case WeightFormatKind::gptq4: {
      const std::int64_t groups = f.group_size > 0 ? (k + f.group_size - 1) / f.group_size : 1;
      // qweight: 4 bits per weight; per group and column: fp16 scale (scales) + 4-bit zero (qzeros).
      return kd * nd / 2.0 + static_cast<double>(groups) * nd * 2.5;
    }
    case WeightFormatKind::q4_0:
      return nd * static_cast<double>((k + 31) / 32) * 18.0;
    case WeightFormatKind::q4_k:
      return nd * static_cast<double>((k + 255) / 256) * 144.0;
  }
  return 0;
}

double bits_per_weight(const WeightFormat& f, std::int64_t k) {
  if (k <= 0) return 0;
  return weight_matrix_bytes(f, k, 1) * 8.0 / static_cast<double>(k);
}

namespace {

std::optional<std::string> check_count(const char* what, std::int64_t v, std::int64_t lo, std::int64_t hi) {
  if (v < lo || v > hi)
    return std::string(what) + " " + std::to_string(v) + " is out of range (" + std::to_string(lo) + " to " +
           std::to_string(hi) + ")";
  return std::nullopt;
}

std::optional<std::string> check_resolution(const char* what, const Resolution& r, std::int64_t multiple) {
  constexpr std::int64_t kMinSide = 64;
  if (r.width < kMinSide || r.height < kMinSide || r.width > kMaxImageSide || r.height > kMaxImageSide)
    return std::string(what) + " " + to_string(r) + " is out of range (each side " + std::to_string(kMinSide) + " to " +
           std::to_string(kMaxImageSide) + " pixels)";
  if (r.width % multiple != 0 || r.height % multiple != 0)
    return std::string(what) + " " + to_string(r) + ": width and height must be multiples of " +
           std::to_string(multiple) + " (the VAE's scale factor)";
  return std::nullopt;
}

}  // namespace

std::optional<std::string> validate(const SdModelSpec& model, const SdScenario& sc) {
  const std::int64_t multiple = model.vae.scale_factor > 0 ? model.vae.scale_factor : 8;
  if (auto e = check_resolution("resolution", sc.resolution, multiple)) return e;
  if (auto e = check_count("batch", sc.batch, 1, kMaxBatch)) return e;
  if (auto e = check_count("steps", sc.steps, 1, kMaxSteps)) return e;
  if (sc.hires) {
    if (auto e = check_resolution("hires resolution", *sc.hires, multiple)) return e;
    if (auto e = check_count("hires steps", sc.hires_steps, 0, kMaxSteps)) return e;
  } else if (sc.hires_steps != 0) {
    return std::string("hires steps given without a hires resolution");
  }
  return std::nullopt;
}

std::optional<std::string> validate(const LlamaModelSpec& model, const LlamaScenario& sc) {
  if (auto e = check_count("batch", sc.batch, 1, kMaxBatch)) return e;
  if (sc.phase == LlamaPhase::decode) {
    if (sc.context < 1 || sc.context > model.max_context)
      return "context " + std::to_string(sc.context) + " is out of range (1 to the model's limit of " +
             std::to_string(model.max_context) + " tokens)";
  } else if (sc.prompt_tokens < 1 || sc.prompt_tokens > model.max_context) {
    return "prompt tokens " + std::to_string(sc.prompt_tokens) + " is out of range (1 to the model's limit of " +
           std::to_string(model.max_context) + " tokens)";
  }
  if (sc.kv_dtype != DType::fp16 && sc.kv_dtype != DType::bf16 && sc.kv_dtype != DType::fp8 &&
      sc.kv_dtype != DType::int8)
    return "KV-cache dtype " + std::string(to_string(sc.kv_dtype)) + " is not supported (fp16, bf16, fp8 or int8)";
  if (sc.weights.kind == WeightFormatKind::gptq4 && sc.weights.group_size < 0)
    return std::string("GPTQ group size must be positive");
  const std::int64_t block = sc.weights.kind == WeightFormatKind::q4_0   ? 32
                             : sc.weights.kind == WeightFormatKind::q4_k ? 256
                                                                         : 1;
  if (model.dim % block != 0 || model.ffn_dim % block != 0)
    return "weight format " + to_string(sc.weights) + " needs dim and ffn_dim to be multiples of " +
           std::to_string(block);
  return std::nullopt;
}

}  // namespace gpuperf
