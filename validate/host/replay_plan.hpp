// replay_plan: what a workload replay on the GPU runs, built from the model library's own graphs (so
// the shapes and byte counts are the model's), and the workload-level points file its results go to.
// Plain C++ with a C++17 interface (the CUDA replay includes it); the model library stays in the .cpp.
// Its namespace is not gpuperf::validate: the model's headers declare a function gpuperf::validate(),
// so no file can see both (common.cuh imports these names into gpuperf::validate).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gpuperf_replay {

// How the replay runs one op of the graph.
enum class ReplayKind {
  gemv_q4,       // 4-bit GPTQ-like GEMV (own kernel), m = 1
  gemv_fp16,     // fp16 weights, m = 1 (cuBLAS GEMM with one column)
  gemm,          // fp16 GEMM (cuBLAS, strided-batched when batch > 1): convolutions as implicit GEMMs too
  attn_scores,   // decode attention: q . K over the cached positions (reads the layer's K cache)
  attn_softmax,  // decode attention: softmax over the scores
  attn_pv,       // decode attention: probabilities x V (reads the layer's V cache)
  attn_fused,    // fused (flash) attention: m = queries, n = keys, k = head dim, batch = images x heads
  attn_decode,   // fused decode attention over the K/V cache (flash decoding: the positions split over CTAs)
  bytes,         // any other op: a kernel reading its input bytes and writing its output bytes
};
const char* to_string(ReplayKind k);

struct ReplayOp {
  std::string name;
  std::string op_class;  // the model's OpClass name (per-class timing groups by it)
  ReplayKind kind = ReplayKind::bytes;
  std::int64_t m = 0, n = 0, k = 0, batch = 1;
  double flops = 0;
  double weight_bytes = 0, activation_bytes = 0, cache_bytes = 0, write_bytes = 0;
  int layer = -1;  // decoder layer of an attention op (which K/V cache it reads)
  double bytes() const { return weight_bytes + activation_bytes + cache_bytes + write_bytes; }
};

struct ReplayPlan {
  std::string workload;  // e.g. "llama-13b decode ctx 512 gptq4-g128"
  std::string model_id;
  std::string unit;  // "decode step", "UNet step"
  std::vector<ReplayOp> ops;
  double weight_bytes = 0;  // the model's total_weight_bytes
  double total_bytes = 0;   // the model's total_bytes
  double flops = 0;
  // LLaMA decode only: attention geometry and the KV cache (kv_heads < heads: grouped-query attention, query
  // head h reading K/V head h / (heads / kv_heads)).
  int layers = 0, heads = 0, kv_heads = 0, head_dim = 0, context = 0;
};

// LLaMA decode step (batch 1, fp16 KV cache) of `model_id` from <specs>/models, with naive attention (scores,
// softmax and P·V ops) or, with `flash`, one fused attention op per layer (attn_decode).
// `weights`: a weight format name the model library knows ("gptq4-g128", "fp16").
ReplayPlan llama_decode_plan(const std::string& specs_dir, const std::string& model_id, const std::string& weights,
                             int context, bool flash = false);
// Stable Diffusion UNet step (fp16, naive attention) at `side` x `side` pixels, `batch` images, CFG.
ReplayPlan sd_unet_plan(const std::string& specs_dir, const std::string& model_id, int side, int batch, bool cfg);
// The same at `width` x `height` pixels, with fused (flash) attention when `flash`: each attention is one
// attn_fused op (the model's OpClass::attention op) instead of scores, softmax and PV.
ReplayPlan sd_unet_plan(const std::string& specs_dir, const std::string& model_id, int width, int height, int batch,
                        bool cfg, bool flash);

// Held-out replays: workload scenarios that no calibration set contains (other model sizes, longer
// contexts, other resolutions and batches), replayed like the calibration's (graph and eager) and written
// to a file of their own, so the model's predictions for them can be checked against measurements it
// was never fitted on.
struct HoldoutScenario {
  std::string tag;       // measurement id part, e.g. "llama7b-decode-ctx512-fp16"
  std::string model_id;  // llama-7b, sd15, ...
  bool llm = true;
  // LLaMA decode (batch 1, fp16 KV cache; naive attention, or fused with `flash`)
  std::string weights;  // gptq4-g128 or fp16
  int context = 0;
  bool flash = false;
  bool variants = false;  // also the fused-GEMV variants of the calibration's replays (the step's best form)
  // SD UNet step with CFG and fused attention
  int width = 0, height = 0, batch = 0;
  std::string scenario;  // the points file's scenario (a YAML flow map)
};
std::vector<HoldoutScenario> holdout_scenarios();
// The scenario's replay plan (llama_decode_plan or sd_unet_plan with flash attention).
ReplayPlan holdout_plan(const std::string& specs_dir, const HoldoutScenario& h);

// One workload-level point of the replay file (specs/measurements "points:" schema).
struct ReplayPoint {
  std::string model;     // model id
  std::string stack;     // stack id (cuda-graph, cuda-eager)
  std::string metric;    // tokens/s or it/s
  std::string scenario;  // a YAML flow map, e.g. "{phase: decode, context: 512, ...}"
  double value = 0;
  std::string comment;  // written after the point as a YAML comment
};
struct ReplayPointsFile {
  std::string id;  // must equal the file name without .yaml
  std::string description;
  std::string conditions;
  std::string gpu;                  // card id for every point
  std::vector<ReplayPoint> points;  // the first one also gives the file's model, stack, metric, scenario
  std::vector<std::string> sources;
};
// The file's text; throws std::invalid_argument when there is no point.
std::string to_yaml(const ReplayPointsFile& f);

// A points file read back through the project's strict measurement loader (with the catalog, models
// and stacks of `specs_dir`); throws what the loader throws.
struct LoadedPoint {
  std::string gpu, model, stack, metric;
  double value = 0;
};
std::vector<LoadedPoint> load_replay_points(const std::string& path, const std::string& specs_dir,
                                            std::string* set_id = nullptr);

}  // namespace gpuperf_replay
