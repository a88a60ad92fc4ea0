// workloads: the models gpuperf costs (Stable Diffusion 1.5, LLaMA-1/2), the scenarios they run in, and
// pure builders that turn a model and a scenario into the Graph of operations a framework launches.
//
// Which "it/s" a Stable Diffusion figure counts: one iteration is one UNet step (one denoiser
// evaluation, both CFG halves batched together, plus the sampler's update). With the hires fix there
// are two passes; Automatic1111 shows it/s per pass in its progress bar, and the survey's hires figure
// is the high-resolution pass's (pass 1, `build_sd_unet_step(..., 1)`). Text encoding, the latent
// upscale and the VAE decode are per image and are not in any it/s figure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "gpuperf/graph.hpp"

namespace gpuperf {

// ---------------------------------------------------------------- models

// Kernel launches per operation in the eager framework that runs Stable Diffusion (Automatic1111 on
// PyTorch eager, 2023). Loaded from specs/models/sd15.yaml, where each count is derived.
struct SdKernelCounts {
  int groupnorm = 1;
  int layernorm = 1;
  int silu = 1;
  int conv = 1;    // a convolution with bias
  int linear = 1;  // a linear layer, with or without bias
  int geglu = 1;   // GEGLU gating after the projection (chunk, gelu, mul)
  int quick_gelu = 1;
  int attention_flash = 1;
  int attention_naive_scores = 1;
  int softmax = 1;
  int attention_naive_pv = 1;
  int causal_mask = 1;  // CLIP's causal mask, added before its softmax
  int layout_copy = 1;  // NCHW <-> token-major copies around a spatial transformer
  int residual_add = 1;
  int timestep_embedding = 1;
  int embedding = 1;
  int upsample = 1;  // nearest 2x interpolation (before the upsampling conv)
  int concat = 1;    // skip concatenation
  int latent_scale = 1;
  int cfg_combine = 1;
  int sampler_step = 1;
  int latent_upscale = 1;
};

struct SdUnetSpec {
  int in_channels = 4;
  int out_channels = 4;
  std::vector<int> block_channels;    // per resolution level, e.g. 320, 640, 1280, 1280
  std::vector<bool> block_attention;  // spatial transformers in this level's down block (mirrored up)
  int layers_per_block = 2;           // ResNet blocks per down block (up blocks have one more)
  int attention_heads = 8;
  int transformer_depth = 1;
  int context_dim = 768;
  int ff_mult = 4;  // GEGLU inner width = ff_mult x channels
  int norm_groups = 32;
  int timestep_channels = 320;  // sinusoidal timestep features
  int time_embed_dim = 1280;
};

struct ClipTextSpec {
  int vocab_size = 49408;
  int max_length = 77;
  int width = 768;
  int layers = 12;
  int heads = 12;
  int mlp_dim = 3072;
};

struct SdVaeSpec {
  int latent_channels = 4;
  std::vector<int> block_channels;  // encoder order, e.g. 128, 256, 512, 512; the decoder runs reversed
  int layers_per_block = 2;         // decoder up blocks have one more
  int out_channels = 3;
  int norm_groups = 32;
  int scale_factor = 8;  // pixels per latent cell along each side
  double scaling_factor = 0.18215;
};

struct SdModelSpec {
  std::string id;  // the spec file's id (graphs carry it)
  SdUnetSpec unet;
  ClipTextSpec text;
  SdVaeSpec vae;
  SdKernelCounts kernels;
};

// How the LLM's logits are computed during prefill.
enum class PrefillLogits { last, all };

// Kernel launches per operation of one LLM framework, loaded from the model's YAML.
struct LlamaFramework {
  std::string name;  // "hf-transformers", "llama.cpp"
  int embedding = 1;
  int rmsnorm = 1;
  int linear = 1;  // per linear layer in this framework's native (fp16 or ggml) format
  int linear_int8 = 1;
  int linear_gptq = 1;
  int rotary = 1;  // q and k together
  int kv_append = 1;
  int attention_flash = 1;
  int attention_naive_scores = 1;
  int softmax = 1;
  int attention_naive_pv = 1;
  int silu_mul = 1;
  int residual_add = 1;
  int sampling = 1;
  PrefillLogits prefill_logits = PrefillLogits::last;
  // When a stack runs this framework's own ops (`kernels: framework`): `kv_concat` rebuilds each layer's
  // K/V cache every step (transformers' torch.cat of past and new: the whole cache read and written)
  // instead of writing the new entry in place; `expand_grouped_kv` materialises grouped-query K/V at the
  // query heads' count before attention (transformers' repeat_kv), which attention then reads.
  bool kv_concat = false;
  bool expand_grouped_kv = false;
};

struct LlamaModelSpec {
  std::string id;  // the spec file's id (graphs carry it)
  std::int64_t dim = 0;
  std::int64_t n_layers = 0;
  std::int64_t n_heads = 0;
  std::int64_t n_kv_heads = 0;
  std::int64_t ffn_dim = 0;
  std::int64_t vocab_size = 0;
  std::int64_t max_context = 0;
  double norm_eps = 1e-6;
  LlamaFramework hf;         // text-generation-webui + transformers: fp16, int8, GPTQ
  LlamaFramework llama_cpp;  // ggml formats: q4_0, q4_k

  std::int64_t head_dim() const { return n_heads > 0 ? dim / n_heads : 0; }
  std::int64_t kv_dim() const { return n_kv_heads * head_dim(); }
};

enum class ModelKind { diffusion, llm };
std::string_view to_string(ModelKind kind);

struct ModelSpec {
  std::string id;
  std::string name;
  ModelKind kind = ModelKind::llm;
  std::variant<SdModelSpec, LlamaModelSpec> spec;
  std::vector<std::string> sources;
  std::string notes;

  const SdModelSpec* sd() const { return std::get_if<SdModelSpec>(&spec); }
  const LlamaModelSpec* llama() const { return std::get_if<LlamaModelSpec>(&spec); }
};

// ---------------------------------------------------------------- scenarios

enum class AttentionKind { flash, naive };
std::string_view to_string(AttentionKind kind);
std::optional<AttentionKind> attention_kind_from_string(std::string_view name);

// Compute precision of Stable Diffusion. fp16/bf16 run on tensor cores with fp32 accumulate (what
// PyTorch, cuBLAS and cuDNN use); fp32 runs on CUDA cores; tf32 is fp32 storage on TF32 tensor cores.
enum class Precision { fp16, bf16, fp32, tf32 };
std::string_view to_string(Precision p);
std::optional<Precision> precision_from_string(std::string_view name);
DType activation_dtype(Precision p);
std::optional<TensorMode> tensor_mode_of(Precision p);

struct Resolution {
  std::int64_t width = 512;
  std::int64_t height = 512;
};
std::string to_string(const Resolution& r);

struct SdScenario {
  Resolution resolution;   // the base (or only) pass, in pixels
  std::int64_t batch = 1;  // images per batch
  bool cfg = true;         // classifier-free guidance: the UNet runs cond and uncond in one doubled batch
  std::int64_t steps = 100;
  AttentionKind attention = AttentionKind::flash;
  Precision precision = Precision::fp16;
  std::optional<Resolution> hires;  // Automatic1111 hires fix: the second pass's resolution
  std::int64_t hires_steps = 0;     // UNet steps of the second pass; 0 = same as `steps`

  std::int64_t unet_batch() const { return cfg ? 2 * batch : batch; }
  std::int64_t effective_hires_steps() const { return hires_steps > 0 ? hires_steps : steps; }
  // The pixel resolution of pass 0 (base) or 1 (hires; the base resolution when there is no hires pass).
  Resolution pass_resolution(int pass) const { return pass == 1 && hires ? *hires : resolution; }
};

enum class WeightFormatKind { fp16, int8, gptq4, q4_0, q4_k };

// How LLM weights are stored. Bytes include every scale and zero point the kernels read.
//   fp16: 2 bytes per weight.
//   int8: LLM.int8() as bitsandbytes stores it: int8 weights plus one fp32 absmax per output row.
//   gptq4-gN: GPTQ (GPTQ-for-LLaMa / AutoGPTQ layout): 4-bit weights, and per group of N weights
//     along the input dimension of each output column one fp16 scale and one packed 4-bit zero;
//     `gptq4` alone is one group per column. The g_idx permutation (act-order) is not counted.
//   q4_0: llama.cpp blocks of 32 weights in 18 bytes (fp16 scale + 32 nibbles) = 4.5 bits.
//   q4_k: llama.cpp super-blocks of 256 weights in 144 bytes (fp16 d and dmin, 12 bytes of 6-bit
//     sub-block scales and mins, 128 bytes of nibbles) = 4.5 bits; the output matrix is Q6_K (210
//     bytes per 256 weights, as llama.cpp's quantize writes it), the token embedding stays q4_k.
struct WeightFormat {
  WeightFormatKind kind = WeightFormatKind::fp16;
  std::int64_t group_size = 0;  // gptq4 only; 0 = one group per output column

  bool is_ggml() const { return kind == WeightFormatKind::q4_0 || kind == WeightFormatKind::q4_k; }
  bool is_weight_only_quantized() const { return kind == WeightFormatKind::gptq4 || is_ggml(); }
};
std::string to_string(const WeightFormat& f);
// "fp16", "int8", "gptq4", "gptq4-g32" ... "gptq4-g1024", "q4_0", "q4_k"; nullopt if unknown.
std::optional<WeightFormat> weight_format_from_string(std::string_view name);
// Exact stored bytes of a weight matrix with `k` input features and `n` output features.
double weight_matrix_bytes(const WeightFormat& f, std::int64_t k, std::int64_t n);
// Bits per weight including scales and zeros, for a matrix whose rows have `k` inputs (the per-row
// scale of int8 and the one-group-per-column gptq4 depend on it; the block formats do not).
double bits_per_weight(const WeightFormat& f, std::int64_t k);

enum class LlamaPhase { decode, prefill };
std::string_view to_string(LlamaPhase phase);

struct LlamaScenario {
  LlamaPhase phase = LlamaPhase::decode;
  // Decode: the sequence length the new token attends to, itself included; the step reads `context`
  // K/V entries per layer from the cache (the new one written just before) and appends one.
  std::int64_t context = 512;
  std::int64_t prompt_tokens = 512;  // prefill: tokens processed from an empty cache
  std::int64_t batch = 1;            // sequences
  WeightFormat weights;
  DType kv_dtype = DType::fp16;  // fp16, or fp8/int8 (one byte per element)
  AttentionKind attention = AttentionKind::naive;
  // The stack runs the framework's own ops (`kernels: framework`), so the framework's cache update and
  // K/V expansion apply; false: one fused kernel per op writes the new K/V in place (fused runtimes,
  // gpuperf-validate's replay). make_workload sets it from the stack.
  bool framework_ops = false;
  // When set, how the K/V cache grows whatever the framework and stack do (`--kv-cache`, a measurement's
  // `kv_cache:`): a what-if, or a stack run with a preallocated cache (transformers' StaticCache).
  std::optional<bool> kv_concat;
};

// ---------------------------------------------------------------- validation (no throwing)

// Largest scenario values accepted: far beyond any real run, small enough that no shape overflows.
inline constexpr std::int64_t kMaxImageSide = 16384;
inline constexpr std::int64_t kMaxBatch = 4096;
inline constexpr std::int64_t kMaxSteps = 100000;

// nullopt when the scenario can be built; otherwise one line saying what is wrong.
std::optional<std::string> validate(const SdModelSpec& model, const SdScenario& scenario);
std::optional<std::string> validate(const LlamaModelSpec& model, const LlamaScenario& scenario);

// ---------------------------------------------------------------- graph builders (pure)

// One UNet step (one denoiser evaluation plus the sampler update) of pass 0 (base) or 1 (hires).
Graph build_sd_unet_step(const SdModelSpec& model, const SdScenario& scenario, int pass = 0);
// The CLIP text encoder, once per image batch (prompt and, with CFG, negative prompt).
Graph build_sd_text_encoder(const SdModelSpec& model, const SdScenario& scenario);
// The VAE decoder (with post_quant_conv) at the final resolution (the hires one when set).
Graph build_sd_vae_decode(const SdModelSpec& model, const SdScenario& scenario);
// The hires fix's latent upscale between the passes (empty graph without hires).
Graph build_sd_latent_upscale(const SdModelSpec& model, const SdScenario& scenario);

// A graph run `repeat` times (a UNet step per sampling step).
struct GraphRun {
  std::string part;  // "text-encoder", "unet", "unet-hires", "latent-upscale", "vae-decode"
  Graph graph;
  std::int64_t repeat = 1;
};
// Everything one batch of images costs, in run order.
std::vector<GraphRun> build_sd_image(const SdModelSpec& model, const SdScenario& scenario);

// One decode step: `batch` sequences each produce one token.
Graph build_llama_decode(const LlamaModelSpec& model, const LlamaScenario& scenario);
// Prefill of `prompt_tokens` per sequence from an empty cache, ending with one sampled token each.
Graph build_llama_prefill(const LlamaModelSpec& model, const LlamaScenario& scenario);
// The graph of the scenario's phase.
Graph build_llama(const LlamaModelSpec& model, const LlamaScenario& scenario);
// Whether the scenario's step rebuilds each layer's K/V cache by concatenation (its `kv_concat` override,
// else the framework's `kv_cache` when the stack runs the framework's ops), as build_llama builds it.
bool kv_cache_concatenates(const LlamaModelSpec& model, const LlamaScenario& scenario);
// The K/V cache update's traffic in a LLaMA graph (its `kv_append` ops: the new entries, or the whole cache
// read and written where it concatenates, plus a grouped-K/V expansion); 0 for other graphs.
double kv_cache_update_bytes(const Graph& graph);

// ---------------------------------------------------------------- memory footprint

// What must fit in GPU memory (bytes). Activations are an estimate of the peak live set: the
// largest op's inputs plus outputs, plus (UNet) every skip tensor held for the up blocks.
struct MemoryFootprint {
  double weight_bytes = 0;
  double kv_cache_bytes = 0;
  double activation_bytes = 0;
  double total() const { return weight_bytes + kv_cache_bytes + activation_bytes; }
};
// SD: UNet, text encoder and VAE decoder weights in the scenario's precision.
MemoryFootprint memory_footprint(const SdModelSpec& model, const SdScenario& scenario);
// LLaMA: stored weights (whole embedding table included), the KV cache at the scenario's length.
MemoryFootprint memory_footprint(const LlamaModelSpec& model, const LlamaScenario& scenario);

}  // namespace gpuperf
