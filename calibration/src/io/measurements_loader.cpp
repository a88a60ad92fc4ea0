#include "gpuperf/io/measurements_loader.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <tuple>

#include "gpuperf/io/yaml_reader.hpp"

namespace gpuperf::io {

namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kMaxInt = std::numeric_limits<std::int32_t>::max();

Resolution read_resolution(MapReader& r, const char* key) {
  std::string s = r.string(key);
  auto x = s.find('x');
  std::int64_t w = 0, h = 0;
  try {
    if (x == std::string::npos) throw std::invalid_argument("no x");
    std::size_t used_w = 0, used_h = 0;
    w = std::stoll(s.substr(0, x), &used_w);
    h = std::stoll(s.substr(x + 1), &used_h);
    if (used_w != x || used_h != s.size() - x - 1) throw std::invalid_argument("junk");
  } catch (const std::exception&) {
    r.fail(key, "expected WIDTHxHEIGHT in pixels, got '" + s + "'");
  }
  return Resolution{w, h};
}

SdScenario read_sd(MapReader& r, int& pass) {
  SdScenario s;
  if (r.has("resolution")) s.resolution = read_resolution(r, "resolution");
  if (r.has("batch")) s.batch = r.int_in("batch", 1, kMaxBatch);
  if (r.has("cfg")) s.cfg = r.boolean("cfg");
  if (r.has("steps")) s.steps = r.int_in("steps", 1, kMaxSteps);
  if (r.has("attention")) s.attention = *attention_kind_from_string(r.choice("attention", {"flash", "naive"}));
  if (r.has("precision")) s.precision = *precision_from_string(r.choice("precision", {"fp16", "bf16", "fp32", "tf32"}));
  if (r.has("hires")) s.hires = read_resolution(r, "hires");
  if (r.has("hires_steps")) s.hires_steps = r.int_in("hires_steps", 1, kMaxSteps);
  pass = 0;
  if (r.has("pass")) {
    pass = r.choice("pass", {"base", "hires"}) == "hires" ? 1 : 0;
    if (pass == 1 && !s.hires) r.fail("pass", "'hires' needs a hires resolution");
  }
  return s;
}

LlamaScenario read_llama(MapReader& r) {
  LlamaScenario s;
  if (r.has("phase"))
    s.phase = r.choice("phase", {"decode", "prefill"}) == "decode" ? LlamaPhase::decode : LlamaPhase::prefill;
  if (r.has("context")) s.context = r.int_in("context", 1, kMaxInt);
  if (r.has("prompt_tokens")) s.prompt_tokens = r.int_in("prompt_tokens", 1, kMaxInt);
  if (r.has("batch")) s.batch = r.int_in("batch", 1, kMaxBatch);
  if (r.has("weights")) {
    std::string w = r.string("weights");
    auto f = weight_format_from_string(w);
    if (!f) r.fail("weights", "unknown weight format '" + w + "' (fp16, int8, gptq4, gptq4-g128, q4_0, q4_k)");
    s.weights = *f;
  }
  if (r.has("kv_cache")) s.kv_concat = r.choice("kv_cache", {"concat", "in-place"}) == "concat";
  if (r.has("kv_dtype")) {
    std::string k = r.choice("kv_dtype", {"fp16", "fp8", "int8"});
    s.kv_dtype = k == "fp16" ? DType::fp16 : k == "fp8" ? DType::fp8 : DType::int8;
  }
  if (r.has("attention")) s.attention = *attention_kind_from_string(r.choice("attention", {"flash", "naive"}));
  return s;
}

}  // namespace

Scenario read_scenario_map(MapReader& r, const ModelSpec& model, int& pass) {
  pass = 0;
  Scenario out;
  std::optional<std::string> problem;
  if (const SdModelSpec* sd = model.sd()) {
    SdScenario s = read_sd(r, pass);
    problem = validate(*sd, s);
    out = s;
  } else {
    LlamaScenario s = read_llama(r);
    problem = validate(*model.llama(), s);
    out = s;
  }
  r.finish();
  if (problem) throw InputError(r.location(), r.field_path(""), *problem);
  return out;
}

namespace {

template <class T, class Id>
const T* find_by_id(const std::vector<T>& items, const std::string& id, Id id_of) {
  for (const auto& x : items)
    if (id_of(x) == id) return &x;
  return nullptr;
}

// A flat map of a micro item's conditions (numbers and strings), read without schema: the writer
// is gpuperf-validate's, and unknown conditions are simply not used.
std::map<std::string, std::string> conditions_of(const YAML::Node& node) {
  std::map<std::string, std::string> out;
  if (!node.IsMap()) return out;
  for (const auto& kv : node)
    if (kv.first.IsScalar() && kv.second.IsScalar()) out[kv.first.Scalar()] = kv.second.Scalar();
  return out;
}

std::int64_t cond_int(MapReader& item, const std::map<std::string, std::string>& c, const char* key) {
  auto it = c.find(key);
  if (it == c.end()) item.fail("conditions", std::string("missing '") + key + "'");
  try {
    std::size_t used = 0;
    long long v = std::stoll(it->second, &used);
    if (used != it->second.size() || v <= 0 || v > (1LL << 40)) throw std::invalid_argument("range");
    return v;
  } catch (const std::exception&) {
    item.fail("conditions", std::string("'") + key + "' must be a positive integer, got '" + it->second + "'");
  }
}

// The one-op workload a micro measurement times; nullopt for kinds the model does not express.
std::optional<Workload> micro_workload(MapReader& item, const std::string& kind,
                                       const std::map<std::string, std::string>& c) {
  auto get = [&](const char* key) {
    auto it = c.find(key);
    return it == c.end() ? std::string() : it->second;
  };
  Workload w;
  Op op;
  op.name = item.string("id");
  op.kernels = 1;
  if (kind == "gemm_tflops") {
    auto mode = tensor_mode_for(get("dtype"), get("accumulate"));
    if (!mode) return std::nullopt;  // e.g. tf32 storage conventions the graph does not use
    const double m = static_cast<double>(cond_int(item, c, "m")), n = static_cast<double>(cond_int(item, c, "n")),
                 k = static_cast<double>(cond_int(item, c, "k")), b = static_cast<double>(cond_int(item, c, "batch"));
    const double elt = get("dtype") == "fp8" || get("dtype") == "int8" ? 1.0 : 2.0;
    // The suite's TN layout writes D column-major with leading dimension m. Where that is no multiple of
    // 16 bytes (m = 154 or 2 rows of fp16) the library cannot use its aligned kernels and runs up to 2.8x
    // slower (run 24); the workloads' tensors are row-major with the output width as leading dimension,
    // so the model describes aligned outputs only.
    const double d_elt = get("dtype") == "int8" || get("dtype") == "tf32" ? 4.0 : 2.0;
    if (get("layout") == "TN" && std::fmod(m * d_elt, 16.0) != 0.0) return std::nullopt;
    op.op_class = OpClass::gemm;
    // The model's convention: m rows of activations (tokens) times the n x k weights. Since run 28 the
    // suite states workload shapes out-major, as PyTorch calls cuBLAS (m = output features, n = tokens).
    const bool out_major = get("orientation") == "out-major";
    const std::int64_t rows = cond_int(item, c, out_major ? "n" : "m"), cols = cond_int(item, c, out_major ? "m" : "n");
    op.gemm = {rows, cols, cond_int(item, c, "k"), cond_int(item, c, "batch")};
    op.tensor_mode = mode;
    op.flops = 2.0 * m * n * k * b;
    op.weight_bytes = b * static_cast<double>(cols) * k * elt;
    op.activation_bytes = b * static_cast<double>(rows) * k * elt;
    op.write_bytes = b * m * n * 2.0;
    w.items_per_step = op.flops / 1e12;
    w.unit = is_integer_mode(*mode) ? "TOPS" : "TFLOP/s";
  } else if (kind == "dram_copy_gb_s") {
    if (get("method") != "kernel") return std::nullopt;
    const double bytes = static_cast<double>(cond_int(item, c, "buffer_mib")) * 1024.0 * 1024.0;
    op.op_class = OpClass::elementwise;
    op.activation_bytes = bytes;
    op.write_bytes = bytes;
    w.items_per_step = 2.0 * bytes / 1e9;
    w.unit = "GB/s";
  } else if (kind == "gemv_q4_gb_s") {
    if (get("mode") != "graph" || get("shape").find("layer") != std::string::npos) return std::nullopt;
    const double n = static_cast<double>(cond_int(item, c, "n")), k = static_cast<double>(cond_int(item, c, "k"));
    const double bytes = static_cast<double>(cond_int(item, c, "bytes"));
    op.op_class = OpClass::dequant_gemv;
    op.gemm = {1, cond_int(item, c, "n"), cond_int(item, c, "k"), 1};
    op.dtype = DType::fp16;
    op.weight_dtype = DType::int4;
    op.flops = 2.0 * n * k;
    op.activation_bytes = 2.0 * k;
    op.write_bytes = 2.0 * n;
    op.weight_bytes = bytes - op.activation_bytes - op.write_bytes;
    if (!(op.weight_bytes > 0))
      item.fail("conditions",
                "'bytes' (" + get("bytes") + ") must exceed the fp16 vectors read and written (2*k + 2*n = " +
                    std::to_string(static_cast<std::int64_t>(op.activation_bytes + op.write_bytes)) + ")");
    op.dequant_weights = n * k;
    w.items_per_step = bytes / 1e9;
    w.unit = "GB/s";
  } else if (kind == "attention_tflops") {
    // Fused attention, fp16 in and fp32 accumulate: Q·Kᵀ and P·V of every (sequence, head) pair.
    const double bh = static_cast<double>(cond_int(item, c, "batch_heads"));
    const double q = static_cast<double>(cond_int(item, c, "q_len")),
                 kv = static_cast<double>(cond_int(item, c, "kv_len"));
    const double d = static_cast<double>(cond_int(item, c, "head_dim"));
    op.op_class = OpClass::attention;
    op.gemm = {cond_int(item, c, "q_len"), cond_int(item, c, "kv_len"), cond_int(item, c, "head_dim"),
               cond_int(item, c, "batch_heads")};
    op.tensor_mode = TensorMode::fp16_acc32;
    op.flops = 4.0 * bh * q * kv * d;
    op.sfu_results = bh * q * kv;
    op.activation_bytes = bh * (q + 2.0 * kv) * d * 2.0;
    op.write_bytes = bh * q * d * 2.0;
    w.items_per_step = op.flops / 1e12;
    w.unit = "TFLOP/s";
  } else {
    return std::nullopt;
  }
  w.graph.model_id = "micro";
  w.graph.unit = kind;
  // GEMMs and attention are timed calling one kernel again and again on the same buffers: what fits in
  // L2 is found there. (The GEMVs rotate weight copies, and the copy moves GiBs: they read DRAM.)
  w.graph.warm_l2 = kind == "gemm_tflops" || kind == "attention_tflops";
  w.graph.ops.push_back(std::move(op));
  return w;
}

MeasurementSet load_micro_set(MapReader& r, const fs::path& path, const Catalog& catalog,
                              const std::vector<StackSpec>& stacks) {
  MeasurementSet set;
  set.path = path.string();
  set.id = path.stem().string();
  r.expect_version(kSpecVersion);
  r.string("generator");
  std::string date = r.string("date");
  std::string card = r.string("card_id");
  if (!catalog.find_gpu(card)) r.fail("card_id", "unknown GPU '" + card + "'");
  r.node("device");
  r.node("peaks");
  // How each kind was timed: cuBLASLt GEMMs in call loops (cuda-stream-cublas) or, where their conditions
  // say launch: graph, captured in CUDA graphs (cuda-graph); attention and copies in launch loops
  // (cuda-stream); the 4-bit GEMVs in CUDA graphs, with programmatic dependent launch where their
  // conditions say pdl: yes.
  for (const char* id : {"cuda-stream", "cuda-stream-cublas", "cuda-graph", "cuda-graph-pdl"})
    if (!find_by_id(stacks, id, [](const StackSpec& x) { return x.id; }))
      r.fail("micro", std::string("the ") + id + " stack is missing from the spec tree");
  set.description = "gpuperf-validate micro-benchmarks on " + card + ", " + date;
  set.conditions =
      "each timed kernel as a one-op step under the stack it was timed with: cuda-stream-cublas (cuBLASLt GEMMs in "
      "call loops), cuda-graph (cuBLASLt GEMMs captured in graphs), cuda-stream (launch loops: attention, copies), "
      "cuda-graph or cuda-graph-pdl (4-bit GEMVs)";
  YAML::Node list = r.sequence("micro");
  // GEMMs timed in graphs with cuBLASLt's first heuristic candidate (what a framework's call gets), by
  // shape and mode: they replace the suite's pick among the candidates at that shape (see below).
  std::set<std::string> heuristic_shapes, graph_shapes;
  std::vector<bool> is_heuristic;  // per point of set.points
  // The 4-bit GEMV kernel of each point of set.points ("" for other kinds), and the kernel the suite's
  // replay runs: the one whose LLaMA layer graph (7 GEMVs back to back) is fastest, as gpuperf-validate
  // picks it (gemv_q4.cu; the row-pair kernel is never picked).
  std::vector<std::string> gemv_kernel;
  std::string replay_kernel;
  double replay_kernel_gb_s = 0;
  auto gemm_key = [](const Op& op) {
    return std::to_string(op.gemm.m) + "x" + std::to_string(op.gemm.n) + "x" + std::to_string(op.gemm.k) + "x" +
           std::to_string(op.gemm.batch) + "/" + std::to_string(static_cast<int>(*op.tensor_mode));
  };
  for (std::size_t i = 0; i < list.size(); ++i) {
    MapReader item(list[i], path.string(), "micro[" + std::to_string(i) + "]");
    std::string kind = item.string("kind");
    double value = item.number_in("value", 0, 1e12);
    for (const char* k : {"unit", "median", "min", "max", "repeats", "noise_pct"})
      if (item.has(k)) item.node(k);
    auto conditions =
        item.has("conditions") ? conditions_of(item.node("conditions")) : std::map<std::string, std::string>();
    auto w = micro_workload(item, kind, conditions);
    item.finish();
    const auto kernel = conditions.find("kernel");
    const auto shape = conditions.find("shape");
    if (kind == "gemv_q4_gb_s" && kernel != conditions.end() && shape != conditions.end() &&
        shape->second.find("layer-7-gemvs") != std::string::npos && kernel->second != "rowpair" &&
        value > replay_kernel_gb_s) {
      replay_kernel = kernel->second;
      replay_kernel_gb_s = value;
    }
    if (!w || !(value > 0)) continue;
    MeasurementPoint pt;
    pt.where = item.location();
    pt.gpu_id = card;
    pt.model_id = "micro";
    auto pdl = conditions.find("pdl");
    auto launch = conditions.find("launch");
    if (kind == "gemm_tflops")
      pt.stack_id = launch != conditions.end() && launch->second == "graph" ? "cuda-graph" : "cuda-stream-cublas";
    else if (kind != "gemv_q4_gb_s")
      pt.stack_id = "cuda-stream";
    else
      pt.stack_id = pdl != conditions.end() && pdl->second == "yes" ? "cuda-graph-pdl" : "cuda-graph";
    pt.metric = w->unit;
    pt.value = value;
    pt.micro_id = w->graph.ops[0].name;
    auto algo = conditions.find("algo");
    const bool heuristic = kind == "gemm_tflops" && pt.stack_id == "cuda-graph" && algo != conditions.end() &&
                           algo->second == "heuristic's first";
    if (heuristic) heuristic_shapes.insert(gemm_key(w->graph.ops[0]));
    if (kind == "gemm_tflops" && pt.stack_id == "cuda-graph") graph_shapes.insert(gemm_key(w->graph.ops[0]));
    pt.micro = std::move(w);
    set.points.push_back(std::move(pt));
    is_heuristic.push_back(heuristic);
    gemv_kernel.push_back(kind == "gemv_q4_gb_s" && kernel != conditions.end() ? kernel->second : std::string());
  }
  r.finish();
  // Where the suite timed cuBLASLt's first heuristic candidate in a graph beside the candidate it picked
  // (gpuperf-validate since run 26), the model predicts the former: PyTorch and the replay call the
  // library's default choice, and the suite's pick (timed in host-issued loops) is not always faster on
  // the GPU. Where a shape was timed in a graph, its call loop is left out too: for a call of a few
  // microseconds the loop times the host's cublasLtMatmul (6.2 us in run 22, 65% more on run 26's host),
  // which the graph figure does not need.
  {
    std::vector<MeasurementPoint> kept;
    std::vector<std::string> kept_kernel;
    for (std::size_t i = 0; i < set.points.size(); ++i) {
      const MeasurementPoint& pt = set.points[i];
      const Op& op = pt.micro->graph.ops[0];
      if (op.op_class == OpClass::gemm && pt.stack_id == "cuda-graph" && !is_heuristic[i] &&
          heuristic_shapes.count(gemm_key(op)))
        continue;
      if (op.op_class == OpClass::gemm && pt.stack_id == "cuda-stream-cublas" && graph_shapes.count(gemm_key(op)))
        continue;
      kept.push_back(std::move(set.points[i]));
      kept_kernel.push_back(gemv_kernel[i]);
    }
    set.points = std::move(kept);
    gemv_kernel = std::move(kept_kernel);
  }
  // The 4-bit GEMV was measured for several kernel designs. Where the file has the LLaMA layer graphs,
  // keep the figures of the kernel the replay runs (the model describes the replay's GEMVs: at LLaMA-7B's
  // shapes the suite's fastest kernel and the replay's differ by up to 14%, run 30); else the fastest.
  // Per shape and launch (plain graph, or with programmatic dependent launch: the pair shows what PDL
  // hides), the fastest figure of those.
  std::map<std::tuple<std::int64_t, std::int64_t, std::string>, std::size_t> best;
  std::vector<MeasurementPoint> kept;
  for (std::size_t i = 0; i < set.points.size(); ++i) {
    MeasurementPoint& pt = set.points[i];
    const Op& op = pt.micro->graph.ops[0];
    if (op.op_class != OpClass::dequant_gemv) {
      kept.push_back(std::move(pt));
      continue;
    }
    if (!replay_kernel.empty() && gemv_kernel[i] != replay_kernel) continue;
    auto key = std::make_tuple(op.gemm.n, op.gemm.k, pt.stack_id);
    auto it = best.find(key);
    if (it == best.end()) {
      best[key] = kept.size();
      kept.push_back(std::move(pt));
    } else if (pt.value > kept[it->second].value) {
      kept[it->second] = std::move(pt);
    }
  }
  set.points = std::move(kept);
  set.sources = {"measured by gpuperf-validate (" + path.string() + ")"};
  return set;
}

}  // namespace

MeasurementSet load_measurement_set(const fs::path& path, const Catalog& catalog, const std::vector<ModelSpec>& models,
                                    const std::vector<StackSpec>& stacks) {
  MapReader r(load_yaml_file(path), path.string(), "");
  if (r.has("micro")) return load_micro_set(r, path, catalog, stacks);
  MeasurementSet set;
  set.path = path.string();
  set.id = read_spec_header(r, path, kSpecVersion);
  set.description = r.string("description");
  set.conditions = r.string("conditions");

  auto model_of = [&](MapReader& m, const char* key) {
    std::string id = m.string(key);
    const ModelSpec* model = find_by_id(models, id, [](const ModelSpec& x) { return x.id; });
    if (!model) m.fail(key, "unknown model '" + id + "'");
    return model;
  };
  auto stack_of = [&](MapReader& m, const char* key) {
    std::string id = m.string(key);
    if (!find_by_id(stacks, id, [](const StackSpec& x) { return x.id; })) m.fail(key, "unknown stack '" + id + "'");
    return id;
  };
  auto metric_of = [&](MapReader& m, const ModelSpec& model) {
    std::string metric = m.choice("metric", {"it/s", "tokens/s"});
    if ((metric == "it/s") != (model.kind == ModelKind::diffusion))
      m.fail("metric", "'" + metric + "' does not fit model '" + model.id + "'");
    return metric;
  };

  // Set-level defaults that points may override.
  const ModelSpec* model = model_of(r, "model");
  std::string stack = stack_of(r, "stack");
  std::string metric = metric_of(r, *model);
  YAML::Node scenario_node = r.node("scenario");
  int pass = 0;
  MapReader scenario_reader(scenario_node, path.string(), "scenario");
  Scenario scenario = read_scenario_map(scenario_reader, *model, pass);

  YAML::Node list = r.sequence("points");
  for (std::size_t i = 0; i < list.size(); ++i) {
    MapReader p(list[i], path.string(), "points[" + std::to_string(i) + "]");
    MeasurementPoint pt;
    pt.where = p.location();
    pt.gpu_id = p.string("gpu");
    if (!catalog.find_gpu(pt.gpu_id)) p.fail("gpu", "unknown GPU '" + pt.gpu_id + "'");
    const ModelSpec* m = p.has("model") ? model_of(p, "model") : model;
    pt.model_id = m->id;
    pt.stack_id = p.has("stack") ? stack_of(p, "stack") : stack;
    pt.metric = p.has("metric") ? metric_of(p, *m) : metric;
    if (m != model && !p.has("scenario")) p.fail("model", "a point with another model needs its own scenario");
    if (p.has("scenario")) {
      MapReader s(p.node("scenario"), path.string(), p.field_path("scenario"));
      pt.scenario = read_scenario_map(s, *m, pt.sd_pass);
    } else {
      pt.scenario = scenario;
      pt.sd_pass = pass;
    }
    pt.value = p.number_in("value", 1e-9, 1e12);
    if (p.has("price_usd")) pt.price_usd = p.number_in("price_usd", 0, 1e9);
    p.finish();
    set.points.push_back(std::move(pt));
  }
  set.sources = r.string_list("sources");
  r.finish();
  return set;
}

}  // namespace gpuperf::io
