#include "replay_plan.hpp"

#include <cstdio>
#include <stdexcept>
#include <string_view>

#include "gpuperf/graph.hpp"
#include "gpuperf/io/catalog.hpp"
#include "gpuperf/io/measurements_loader.hpp"
#include "gpuperf/io/model_loader.hpp"
#include "gpuperf/io/params_loader.hpp"
#include "gpuperf/workloads.hpp"

namespace gpuperf_replay {

using namespace gpuperf;

const char* to_string(ReplayKind k) {
  switch (k) {
    case ReplayKind::gemv_q4:
      return "gemv_q4";
    case ReplayKind::gemv_fp16:
      return "gemv_fp16";
    case ReplayKind::gemm:
      return "gemm";
    case ReplayKind::attn_scores:
      return "attn_scores";
    case ReplayKind::attn_softmax:
      return "attn_softmax";
    case ReplayKind::attn_pv:
      return "attn_pv";
    case ReplayKind::attn_fused:
      return "attn_fused";
    case ReplayKind::attn_decode:
      return "attn_decode";
    case ReplayKind::bytes:
      return "bytes";
  }
  return "?";
}

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// "layer.12.attn..." -> 12; -1 when the name has no layer.
int layer_of(const std::string& name) {
  if (name.rfind("layer.", 0) != 0) return -1;
  return std::stoi(name.substr(6));
}

ReplayOp to_replay(const Op& op) {
  ReplayOp r;
  r.name = op.name;
  r.op_class = std::string(to_string(op.op_class));
  r.m = op.gemm.m;
  r.n = op.gemm.n;
  r.k = op.gemm.k;
  r.batch = op.gemm.batch;
  r.flops = op.flops;
  r.weight_bytes = op.weight_bytes;
  r.activation_bytes = op.activation_bytes;
  r.cache_bytes = op.cache_bytes;
  r.write_bytes = op.write_bytes;
  r.layer = layer_of(op.name);
  const bool matrix = op.op_class == OpClass::gemm || op.op_class == OpClass::conv ||
                      op.op_class == OpClass::dequant_gemv || op.op_class == OpClass::dequant_gemm;
  if (op.op_class == OpClass::attention) {
    // Over the K/V cache: one query a head (decode); else queries and keys both the op's own tensors.
    if (op.cache_bytes > 0 && op.gemm.m != 1)
      throw std::invalid_argument("replay: fused attention op '" + op.name + "' reads a cache with " +
                                  std::to_string(op.gemm.m) + " queries a head");
    r.kind = op.cache_bytes > 0 ? ReplayKind::attn_decode : ReplayKind::attn_fused;
    return r;
  }
  if (matrix && op.cache_bytes > 0) {
    if (ends_with(op.name, ".scores"))
      r.kind = ReplayKind::attn_scores;
    else if (ends_with(op.name, ".pv"))
      r.kind = ReplayKind::attn_pv;
    else
      throw std::invalid_argument("replay: op '" + op.name + "' reads a cache but is not attention");
  } else if (matrix && op.weight_bytes > 0 && op.gemm.m == 1 && op.gemm.batch == 1) {
    if (op.weight_dtype == DType::int4)
      r.kind = ReplayKind::gemv_q4;
    else if (op.weight_dtype == DType::fp16)
      r.kind = ReplayKind::gemv_fp16;
    else
      throw std::invalid_argument("replay: op '" + op.name + "' has a weight format the replay lacks");
  } else if (matrix) {
    r.kind = ReplayKind::gemm;
  } else if (op.op_class == OpClass::softmax && op.activation_bytes > 0 && r.layer >= 0) {
    r.kind = ReplayKind::attn_softmax;
  } else {
    r.kind = ReplayKind::bytes;
  }
  return r;
}

ReplayPlan plan_of(const Graph& g) {
  ReplayPlan p;
  p.model_id = g.model_id;
  p.unit = g.unit;
  for (const Op& op : g.ops) p.ops.push_back(to_replay(op));
  p.weight_bytes = total_weight_bytes(g);
  p.total_bytes = total_bytes(g);
  p.flops = total_flops(g);
  return p;
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string number(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4f", x);
  std::string s = buf;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

const ModelSpec& model_or_throw(const std::vector<ModelSpec>& models, const std::string& id) {
  const ModelSpec* m = io::find_model(models, id);
  if (!m) throw std::invalid_argument("replay: no model '" + id + "' in the specs");
  return *m;
}

}  // namespace

ReplayPlan llama_decode_plan(const std::string& specs_dir, const std::string& model_id, const std::string& weights,
                             int context, bool flash) {
  const auto models = io::load_models(specs_dir);
  const ModelSpec& ms = model_or_throw(models, model_id);
  if (!ms.llama()) throw std::invalid_argument("replay: '" + model_id + "' is not a LLaMA model");
  LlamaScenario sc;
  sc.phase = LlamaPhase::decode;
  sc.context = context;
  sc.batch = 1;
  const auto wf = weight_format_from_string(weights);
  if (!wf) throw std::invalid_argument("replay: unknown weight format '" + weights + "'");
  sc.weights = *wf;
  sc.kv_dtype = DType::fp16;
  sc.attention = flash ? AttentionKind::flash : AttentionKind::naive;
  if (auto bad = gpuperf::validate(*ms.llama(), sc)) throw std::invalid_argument("replay: " + *bad);
  ReplayPlan p = plan_of(build_llama_decode(*ms.llama(), sc));
  p.workload = model_id + " decode ctx " + std::to_string(context) + " " + weights + (flash ? " flash" : "");
  p.layers = int(ms.llama()->n_layers);
  p.heads = int(ms.llama()->n_heads);
  p.kv_heads = int(ms.llama()->n_kv_heads);
  p.head_dim = int(ms.llama()->head_dim());
  p.context = context;
  if (p.kv_heads <= 0 || p.heads % p.kv_heads != 0)
    throw std::invalid_argument("replay: " + std::to_string(p.heads) + " query heads do not share " +
                                std::to_string(p.kv_heads) + " K/V heads evenly");
  return p;
}

ReplayPlan sd_unet_plan(const std::string& specs_dir, const std::string& model_id, int side, int batch, bool cfg) {
  return sd_unet_plan(specs_dir, model_id, side, side, batch, cfg, false);
}

ReplayPlan sd_unet_plan(const std::string& specs_dir, const std::string& model_id, int width, int height, int batch,
                        bool cfg, bool flash) {
  const auto models = io::load_models(specs_dir);
  const ModelSpec& ms = model_or_throw(models, model_id);
  if (!ms.sd()) throw std::invalid_argument("replay: '" + model_id + "' is not a Stable Diffusion model");
  SdScenario sc;
  sc.resolution = {width, height};
  sc.batch = batch;
  sc.cfg = cfg;
  sc.attention = flash ? AttentionKind::flash : AttentionKind::naive;
  sc.precision = Precision::fp16;
  if (auto bad = gpuperf::validate(*ms.sd(), sc)) throw std::invalid_argument("replay: " + *bad);
  ReplayPlan p = plan_of(build_sd_unet_step(*ms.sd(), sc, 0));
  p.workload = model_id + " unet step " + std::to_string(width) + "x" + std::to_string(height) + " batch " +
               std::to_string(batch) + (cfg ? " cfg" : "") + (flash ? " flash" : "");
  return p;
}

std::vector<HoldoutScenario> holdout_scenarios() {
  std::vector<HoldoutScenario> v;
  auto llama = [&](const char* model, const char* tag_model, const char* weights, int context, bool flash = false,
                   bool variants = false) {
    HoldoutScenario h;
    h.tag = std::string(tag_model) + "-decode-ctx" + std::to_string(context) + "-" + weights + (flash ? "-flash" : "");
    h.model_id = model;
    h.weights = weights;
    h.context = context;
    h.flash = flash;
    h.variants = variants;
    h.scenario = "{phase: decode, context: " + std::to_string(context) + ", batch: 1, weights: " + weights +
                 ", kv_dtype: fp16, attention: " + (flash ? "flash" : "naive") + "}";
    v.push_back(h);
  };
  auto sd = [&](int width, int height, int batch) {
    HoldoutScenario h;
    const std::string res = std::to_string(width) + "x" + std::to_string(height);
    h.tag = "sd15-unet-" + res + (batch > 1 ? "-b" + std::to_string(batch) : std::string()) + "-cfg-flash";
    h.model_id = "sd15";
    h.llm = false;
    h.width = width;
    h.height = height;
    h.batch = batch;
    h.scenario = "{resolution: " + res + ", batch: " + std::to_string(batch) +
                 ", cfg: true, steps: 20, attention: flash, precision: fp16}";
    v.push_back(h);
  };
  // Another model size at the calibration's context, longer contexts.
  llama("llama-7b", "llama7b", "fp16", 512);
  llama("llama-7b", "llama7b", "gptq4-g128", 2048);
  llama("llama-13b", "llama13b", "gptq4-g128", 2048);
  llama("llama-13b", "llama13b", "fp16", 2048);
  llama("llama-7b", "llama7b", "gptq4-g128", 512);  // (33B and 65B: K = 17920 / 22016, past the GEMV's 16384)
  // Another family: Llama 3.1 8B (grouped-query attention, 8 K/V heads; a 128256-token vocabulary whose fp16
  // lm_head is a quarter of the 4-bit step's bytes).
  llama("llama3-8b", "llama3-8b", "gptq4-g128", 2048);
  llama("llama3-8b", "llama3-8b", "fp16", 512);
  llama("llama3-8b", "llama3-8b", "gptq4-g128", 8192);  // a long context: 1.07 GB of K/V read per token
  // A context that is no multiple of 4 or 16 (the softmax's scalar path, partial score tiles), and MHA at 4096
  // (Llama 2 13B, LLaMA-13B's shapes with a 4096 context: P·V blocks of 128 positions; 3.4 GB of K/V read per
  // token beside 6.9 GB of 4-bit weights), run 47.
  llama("llama3-8b", "llama3-8b", "gptq4-g128", 3001);
  llama("llama2-13b", "llama2-13b", "gptq4-g128", 4096);
  // Fused decode attention (flash decoding: one kernel a layer, the positions split over CTAs, the last CTA of a
  // K/V head combining the partial softmaxes), which the model describes as one attention op: at the
  // calibration's shape (with the fused-GEMV variants: the step's best form), and at long contexts.
  llama("llama-13b", "llama13b", "gptq4-g128", 512, true, true);
  llama("llama3-8b", "llama3-8b", "gptq4-g128", 8192, true);
  llama("llama2-13b", "llama2-13b", "gptq4-g128", 4096, true);
  // Resolutions between the calibration's 512x512 and 2048x1152, and a larger batch.
  sd(768, 768, 1);
  sd(1024, 1024, 1);
  sd(512, 512, 4);
  return v;
}

ReplayPlan holdout_plan(const std::string& specs_dir, const HoldoutScenario& h) {
  return h.llm ? llama_decode_plan(specs_dir, h.model_id, h.weights, h.context, h.flash)
               : sd_unet_plan(specs_dir, h.model_id, h.width, h.height, h.batch, true, true);
}

std::string to_yaml(const ReplayPointsFile& f) {
  if (f.points.empty()) throw std::invalid_argument("replay points file '" + f.id + "' has no point");
  const ReplayPoint& first = f.points.front();
  std::string out = "version: 1\nid: " + f.id + "\ndescription: >\n  " + f.description + "\nconditions: >\n  " +
                    f.conditions + "\nmodel: " + first.model + "\nstack: " + first.stack + "\nmetric: " + first.metric +
                    "\nscenario: " + first.scenario + "\npoints:\n";
  for (const ReplayPoint& p : f.points) {
    out += "  - gpu: " + f.gpu + "\n";
    if (p.model != first.model) out += "    model: " + p.model + "\n";
    if (p.stack != first.stack) out += "    stack: " + p.stack + "\n";
    if (p.metric != first.metric) out += "    metric: " + quote(p.metric) + "\n";
    if (p.scenario != first.scenario || p.model != first.model) out += "    scenario: " + p.scenario + "\n";
    out += "    value: " + number(p.value);
    if (!p.comment.empty()) out += "  # " + p.comment;
    out += "\n";
  }
  out += "sources:\n";
  for (const auto& s : f.sources) out += "  - " + quote(s) + "\n";
  return out;
}

}  // namespace gpuperf_replay

namespace gpuperf_replay {

std::vector<LoadedPoint> load_replay_points(const std::string& path, const std::string& specs_dir,
                                            std::string* set_id) {
  const auto cat = gpuperf::io::load_catalog(specs_dir);
  const auto models = gpuperf::io::load_models(specs_dir);
  const auto stacks = gpuperf::io::load_stacks(specs_dir);
  const gpuperf::MeasurementSet set = gpuperf::io::load_measurement_set(path, cat, models, stacks);
  if (set_id) *set_id = set.id;
  std::vector<LoadedPoint> out;
  for (const auto& p : set.points) out.push_back({p.gpu_id, p.model_id, p.stack_id, p.metric, p.value});
  return out;
}

}  // namespace gpuperf_replay
