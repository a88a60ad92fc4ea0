// `gpuperf list models` and `gpuperf show model`: the workload graphs, their parameters, FLOPs and bytes.
#include <algorithm>

#include "commands.hpp"
#include "gpuperf/io/model_loader.hpp"
#include "scenario_options.hpp"

namespace gpuperf::cli {

namespace {

std::string known_ids(const std::vector<ModelSpec>& models) {
  std::string ids;
  for (const auto& m : models) ids += (ids.empty() ? "" : ", ") + m.id;
  return ids;
}

const ModelSpec& require_model(const std::vector<ModelSpec>& models, const std::string& id) {
  if (const ModelSpec* m = io::find_model(models, id)) return *m;
  throw UsageError("unknown model '" + id + "' (known: " + known_ids(models) + ")");
}

double d(std::int64_t v) { return static_cast<double>(v); }

// Parameter counts of a model's components, from its graphs (each parameter counted once per graph).
struct ComponentParams {
  std::string name;
  std::int64_t parameters = 0;
};

std::vector<ComponentParams> component_parameters(const ModelSpec& m) {
  if (const SdModelSpec* sd = m.sd()) {
    SdScenario sc;
    sc.resolution = {64, 64};
    return {{"unet", total_parameters(build_sd_unet_step(*sd, sc, 0))},
            {"text-encoder", total_parameters(build_sd_text_encoder(*sd, sc))},
            {"vae-decoder", total_parameters(build_sd_vae_decode(*sd, sc))}};
  }
  LlamaScenario sc;
  sc.context = 1;
  return {{"transformer", total_parameters(build_llama_decode(*m.llama(), sc))}};
}

std::int64_t sum_parameters(const std::vector<ComponentParams>& c) {
  std::int64_t s = 0;
  for (const auto& p : c) s += p.parameters;
  return s;
}

int list_models(const std::vector<std::string>& args, Context& ctx, const CommandSpec& self) {
  po::options_description own("Options");
  auto parsed = parse_command_args(args, self, own, {}, ctx);
  if (!parsed) return 0;
  const auto models = io::load_models(ctx.specs_dir);
  Table t;
  t.columns = {{"id", "id"},       {"name", "name"},
               {"kind", "kind"},   {"parameters", "parameters"},
               {"shape", "shape"}, {"max_context_tokens", "max context"}};
  for (const auto& m : models) {
    const auto comps = component_parameters(m);
    std::string shape;
    Cell ctx_cell;
    if (const SdModelSpec* sd = m.sd()) {
      for (const auto& c : comps)
        shape += (shape.empty() ? "" : " + ") + c.name + " " + format_sig(d(c.parameters) / 1e6, 4) + "M";
      (void)sd;
    } else {
      const LlamaModelSpec& l = *m.llama();
      shape = "dim " + std::to_string(l.dim) + ", " + std::to_string(l.n_layers) + " layers, " +
              std::to_string(l.n_heads) + " heads" +
              (l.n_kv_heads != l.n_heads ? " (" + std::to_string(l.n_kv_heads) + " KV)" : std::string()) + ", ffn " +
              std::to_string(l.ffn_dim);
      ctx_cell = Cell(l.max_context);
    }
    t.add({m.id, m.name, std::string(to_string(m.kind)), Cell(sum_parameters(comps)), shape, ctx_cell});
  }
  t.footnotes = {std::to_string(models.size()) +
                 " models. Parameters are counted from the graphs ('gpuperf show model ID')."};
  ctx.out = t.render(parsed->format);
  return 0;
}

// ---- show model

struct ShowData {
  const ModelSpec* model = nullptr;
  std::vector<GraphRun> runs;
  Json scenario = Json::object();
  std::vector<std::pair<std::string, Cell>> scenario_rows;
  std::vector<ComponentParams> params;
  MemoryFootprint footprint;
  std::optional<WeightFormat> weights;  // LLaMA
  std::int64_t llama_k = 0;             // LLaMA: dim (bits per weight of a dim x dim matrix)
  std::vector<std::string> notes;
};

struct RunTotals {
  double flops = 0, bytes = 0, weight = 0, activation = 0, cache = 0, write = 0;
  std::int64_t kernels = 0, ops = 0;
};

RunTotals totals_of(const Graph& g) {
  RunTotals t;
  for (const auto& op : g.ops) {
    t.flops += op.flops;
    t.bytes += op.bytes();
    t.weight += op.weight_bytes;
    t.activation += op.activation_bytes;
    t.cache += op.cache_bytes;
    t.write += op.write_bytes;
    t.kernels += op.kernels;
  }
  t.ops = static_cast<std::int64_t>(g.ops.size());
  return t;
}

ShowData collect(const ModelSpec& m, const po::variables_map& vm) {
  ShowData s;
  s.model = &m;
  s.params = component_parameters(m);
  if (const SdModelSpec* sd = m.sd()) {
    const SdScenario sc = sd_scenario_from(vm, m);
    const SdPart part = sd_part_from(vm);
    switch (part) {
      case SdPart::unet:
        s.runs.push_back({"unet", build_sd_unet_step(*sd, sc, 0), sc.steps});
        if (sc.hires) s.runs.push_back({"unet-hires", build_sd_unet_step(*sd, sc, 1), sc.effective_hires_steps()});
        break;
      case SdPart::text_encoder:
        s.runs.push_back({"text-encoder", build_sd_text_encoder(*sd, sc), 1});
        break;
      case SdPart::vae_decode:
        s.runs.push_back({"vae-decode", build_sd_vae_decode(*sd, sc), 1});
        break;
      case SdPart::image:
        s.runs = build_sd_image(*sd, sc);
        break;
    }
    s.footprint = memory_footprint(*sd, sc);
    s.scenario.set("part", std::string(to_string(part)));
    s.scenario.set("resolution", to_string(sc.resolution));
    s.scenario.set("batch", sc.batch);
    s.scenario.set("cfg", sc.cfg);
    s.scenario.set("unet_batch", sc.unet_batch());
    s.scenario.set("steps", sc.steps);
    s.scenario.set("attention", std::string(to_string(sc.attention)));
    s.scenario.set("precision", std::string(to_string(sc.precision)));
    s.scenario.set("tensor_mode", tensor_mode_of(sc.precision)
                                      ? Json(std::string(to_string(*tensor_mode_of(sc.precision))))
                                      : Json("cuda-cores"));
    s.scenario.set("hires", sc.hires ? Json(to_string(*sc.hires)) : Json());
    s.scenario.set("hires_steps", sc.hires ? Json(sc.effective_hires_steps()) : Json());
    s.scenario_rows = {{"part", std::string(to_string(part))},
                       {"resolution", to_string(sc.resolution)},
                       {"batch", Cell(sc.batch)},
                       {"cfg", sc.cfg ? "on (UNet batch " + std::to_string(sc.unet_batch()) + ")" : "off"},
                       {"steps", Cell(sc.steps)},
                       {"attention", std::string(to_string(sc.attention))},
                       {"precision", std::string(to_string(sc.precision))}};
    if (sc.hires) {
      s.scenario_rows.push_back({"hires", to_string(*sc.hires)});
      s.scenario_rows.push_back({"hires steps", Cell(sc.effective_hires_steps())});
      s.notes.push_back(
          "it/s: Automatic1111 shows it/s per pass; one iteration is one UNet step. The survey's hires figure is the "
          "hires pass (part unet-hires).");
    } else {
      s.notes.push_back("it/s: one iteration is one UNet step (part unet), both CFG halves in one batch.");
    }
  } else {
    const LlamaModelSpec& l = *m.llama();
    LlamaScenario sc = llama_scenario_from(vm, m);
    // The graph as the framework runs it (its kernel counts are the ones shown): its K/V cache update too.
    sc.framework_ops = true;
    const LlamaFramework& fw = sc.weights.is_ggml() ? l.llama_cpp : l.hf;
    s.runs.push_back({std::string(to_string(sc.phase)), build_llama(l, sc), 1});
    s.footprint = memory_footprint(l, sc);
    s.weights = sc.weights;
    s.llama_k = l.dim;
    s.scenario.set("phase", std::string(to_string(sc.phase)));
    if (sc.phase == LlamaPhase::decode)
      s.scenario.set("context", sc.context);
    else
      s.scenario.set("prompt_tokens", sc.prompt_tokens);
    s.scenario.set("batch", sc.batch);
    s.scenario.set("weights", to_string(sc.weights));
    s.scenario.set("kv_dtype", std::string(to_string(sc.kv_dtype)));
    s.scenario.set("attention", std::string(to_string(sc.attention)));
    s.scenario.set("framework", fw.name);
    const bool concat = kv_cache_concatenates(l, sc);
    s.scenario.set("kv_cache", concat ? "concat" : "in-place");
    s.scenario_rows = {{"phase", std::string(to_string(sc.phase))}};
    if (sc.phase == LlamaPhase::decode)
      s.scenario_rows.push_back({"context", Cell(sc.context)});
    else
      s.scenario_rows.push_back({"prompt tokens", Cell(sc.prompt_tokens)});
    s.scenario_rows.push_back({"batch", Cell(sc.batch)});
    s.scenario_rows.push_back({"weights", to_string(sc.weights)});
    s.scenario_rows.push_back({"kv dtype", std::string(to_string(sc.kv_dtype))});
    s.scenario_rows.push_back({"attention", std::string(to_string(sc.attention))});
    s.scenario_rows.push_back({"framework", fw.name});
    s.scenario_rows.push_back(
        {"K/V cache", std::string(concat ? "rebuilt every token (concatenation)" : "new entries written in place") +
                          (fw.expand_grouped_kv && l.n_kv_heads < l.n_heads ? ", grouped heads expanded" : "")});
    s.notes.push_back(
        sc.phase == LlamaPhase::decode
            ? "decode step: each of the batch's sequences produces one token; weights are read once per step."
            : "prefill: the whole prompt in one pass, ending with one sampled token per sequence.");
    s.notes.push_back("bytes and kernels as " + fw.name +
                      " runs them; stacks of one fused kernel per op (`kernels: one-per-op`) write the new K/V in "
                      "place.");
  }
  return s;
}

Json class_totals_json(const Graph& g) {
  Json arr = Json::array();
  for (const auto& c : class_totals(g)) {
    Json j = Json::object();
    j.set("class", std::string(to_string(c.op_class)));
    j.set("ops", c.ops);
    j.set("kernels", c.kernels);
    j.set("flops", c.flops);
    j.set("bytes", c.bytes);
    arr.push(std::move(j));
  }
  return arr;
}

Json gemm_json(const GemmShape& s) {
  Json j = Json::object();
  j.set("m", s.m);
  j.set("n", s.n);
  j.set("k", s.k);
  j.set("batch", s.batch);
  return j;
}

std::string mode_name(const Op& op) {
  return op.tensor_mode ? std::string(to_string(*op.tensor_mode)) : std::string("cuda-cores");
}

Json op_json(const Op& op) {
  Json j = Json::object();
  j.set("name", op.name);
  j.set("class", std::string(to_string(op.op_class)));
  j.set("gemm", op.gemm.m > 0 ? gemm_json(op.gemm) : Json());
  j.set("dtype", std::string(to_string(op.dtype)));
  j.set("weight_dtype", std::string(to_string(op.weight_dtype)));
  j.set("tensor_mode", op.tensor_mode ? Json(std::string(to_string(*op.tensor_mode))) : Json());
  j.set("flops", op.flops);
  j.set("weight_bytes", op.weight_bytes);
  j.set("activation_bytes", op.activation_bytes);
  j.set("cache_bytes", op.cache_bytes);
  j.set("write_bytes", op.write_bytes);
  j.set("dequant_weights", op.dequant_weights);
  j.set("sfu_results", op.sfu_results);
  j.set("parameters", op.parameters);
  j.set("kernels", op.kernels);
  return j;
}

Json show_json(const ShowData& s, bool with_ops) {
  const ModelSpec& m = *s.model;
  Json j = Json::object();
  j.set("version", 1);
  Json model = Json::object();
  model.set("id", m.id);
  model.set("name", m.name);
  model.set("kind", std::string(to_string(m.kind)));
  Json params = Json::object();
  for (const auto& p : s.params) params.set(p.name, p.parameters);
  model.set("parameters", std::move(params));
  model.set("parameters_total", sum_parameters(s.params));
  Json sources = Json::array();
  for (const auto& src : m.sources) sources.push(src);
  model.set("sources", std::move(sources));
  j.set("model", std::move(model));
  j.set("scenario", s.scenario);
  if (s.weights) {
    Json w = Json::object();
    w.set("format", to_string(*s.weights));
    w.set("bits_per_weight", bits_per_weight(*s.weights, s.llama_k));
    j.set("weights", std::move(w));
  }
  Json fp = Json::object();
  fp.set("weight_bytes", s.footprint.weight_bytes);
  fp.set("kv_cache_bytes", s.footprint.kv_cache_bytes);
  fp.set("activation_bytes", s.footprint.activation_bytes);
  fp.set("total_bytes", s.footprint.total());
  j.set("memory_footprint", std::move(fp));
  Json parts = Json::array();
  RunTotals all;
  for (const auto& run : s.runs) {
    const RunTotals t = totals_of(run.graph);
    Json p = Json::object();
    p.set("part", run.part);
    p.set("unit", run.graph.unit);
    p.set("repeat", run.repeat);
    p.set("parameters", total_parameters(run.graph));
    p.set("ops", t.ops);
    p.set("kernels", t.kernels);
    p.set("flops", t.flops);
    p.set("bytes", t.bytes);
    p.set("weight_bytes", t.weight);
    p.set("activation_bytes", t.activation);
    p.set("cache_bytes", t.cache);
    p.set("write_bytes", t.write);
    p.set("class_totals", class_totals_json(run.graph));
    if (with_ops) {
      Json ops = Json::array();
      for (const auto& op : run.graph.ops) ops.push(op_json(op));
      p.set("ops_list", std::move(ops));
    }
    parts.push(std::move(p));
    all.flops += t.flops * d(run.repeat);
    all.bytes += t.bytes * d(run.repeat);
    all.kernels += t.kernels * run.repeat;
  }
  j.set("parts", std::move(parts));
  Json totals = Json::object();
  totals.set("flops", all.flops);
  totals.set("bytes", all.bytes);
  totals.set("kernels", all.kernels);
  j.set("totals", std::move(totals));
  Json notes = Json::array();
  for (const auto& n : s.notes) notes.push(n);
  j.set("notes", std::move(notes));
  return j;
}

Table class_table(const ShowData& s) {
  Table t;
  t.columns = {{"part", "part"},       {"class", "class"}, {"ops", "ops"},
               {"kernels", "kernels"}, {"gflop", "GFLOP"}, {"mb", "MB"}};
  for (const auto& run : s.runs)
    for (const auto& c : class_totals(run.graph))
      t.add({run.part, std::string(to_string(c.op_class)), c.ops, c.kernels, Cell(c.flops / 1e9, 3),
             Cell(c.bytes / 1e6, 3)});
  t.footnotes = {"Per run of each part (one UNet step, one decode step, ...). MB = 1e6 bytes."};
  return t;
}

Table ops_table(const ShowData& s) {
  Table t;
  t.columns = {{"part", "part"},
               {"name", "op"},
               {"class", "class"},
               {"m", "m"},
               {"n", "n"},
               {"k", "k"},
               {"batch", "batch"},
               {"tensor_mode", "mode"},
               {"flops", "MFLOP"},
               {"weight_bytes", "weight KB"},
               {"activation_bytes", "act KB"},
               {"cache_bytes", "cache KB"},
               {"write_bytes", "write KB"},
               {"parameters", "params"},
               {"kernels", "kernels"}};
  for (const auto& run : s.runs) {
    for (const auto& op : run.graph.ops) {
      const bool mat = op.gemm.m > 0;
      t.add({run.part, op.name, std::string(to_string(op.op_class)), mat ? Cell(op.gemm.m) : Cell(),
             mat ? Cell(op.gemm.n) : Cell(), mat ? Cell(op.gemm.k) : Cell(), mat ? Cell(op.gemm.batch) : Cell(),
             mode_name(op), Cell(op.flops / 1e6, 3), Cell(op.weight_bytes / 1e3, 1), Cell(op.activation_bytes / 1e3, 1),
             Cell(op.cache_bytes / 1e3, 1), Cell(op.write_bytes / 1e3, 1), Cell(op.parameters), Cell(op.kernels)});
    }
  }
  t.footnotes = {"KB = 1e3 bytes; MFLOP = 1e6 FLOP (2 per multiply-add)."};
  return t;
}

std::string show_text(const ShowData& s, Format format, bool with_ops) {
  const ModelSpec& m = *s.model;
  if (format == Format::csv) return with_ops ? ops_table(s).render(format) : class_table(s).render(format);
  Table t;
  t.columns = {{"field", "field"}, {"value", "value"}, {"unit", "unit"}};
  t.add({"model", m.id + " (" + m.name + ")", ""});
  for (const auto& [k, v] : s.scenario_rows) t.add({"scenario " + k, v, ""});
  for (const auto& p : s.params) t.add({"parameters " + p.name, Cell(p.parameters), ""});
  if (s.params.size() > 1) t.add({"parameters total", Cell(sum_parameters(s.params)), ""});
  if (s.weights)
    t.add({"weights", to_string(*s.weights), format_sig(bits_per_weight(*s.weights, s.llama_k), 6) + " bits/weight"});
  t.add({"memory: weights", Cell(s.footprint.weight_bytes / 1e9, 3), "GB"});
  if (s.footprint.kv_cache_bytes > 0) t.add({"memory: KV cache", Cell(s.footprint.kv_cache_bytes / 1e9, 3), "GB"});
  t.add({"memory: activations (peak estimate)", Cell(s.footprint.activation_bytes / 1e9, 3), "GB"});
  t.add({"memory: total", Cell(s.footprint.total() / 1e9, 3), "GB"});
  double all_flops = 0, all_bytes = 0;
  for (const auto& run : s.runs) {
    const RunTotals r = totals_of(run.graph);
    const std::string p = run.part + " ";
    const std::string per = "per " + run.graph.unit;
    t.add({p + "FLOPs", Cell(r.flops / 1e9, 2), "GFLOP " + per});
    t.add({p + "bytes", Cell(r.bytes / 1e6, 2), "MB " + per});
    t.add({p + "  weight bytes", Cell(r.weight / 1e6, 2), "MB"});
    t.add({p + "  activation bytes", Cell(r.activation / 1e6, 2), "MB"});
    if (r.cache > 0) t.add({p + "  KV-cache bytes", Cell(r.cache / 1e6, 2), "MB"});
    t.add({p + "  write bytes", Cell(r.write / 1e6, 2), "MB"});
    t.add({p + "kernels", Cell(r.kernels), per});
    t.add({p + "ops", Cell(r.ops), per});
    if (run.repeat > 1) t.add({p + "runs", Cell(run.repeat), "per image"});
    all_flops += r.flops * d(run.repeat);
    all_bytes += r.bytes * d(run.repeat);
  }
  if (s.runs.size() > 1 || s.runs.front().repeat > 1) {
    t.add({"total FLOPs", Cell(all_flops / 1e12, 3), "TFLOP (all runs)"});
    t.add({"total bytes", Cell(all_bytes / 1e9, 3), "GB (all runs)"});
  }
  t.footnotes = s.notes;
  std::string out = t.render(format);
  out += "\n" + class_table(s).render(format);
  if (with_ops) out += "\n" + ops_table(s).render(format);
  return out;
}

int show_model(const std::vector<std::string>& args, Context& ctx, const CommandSpec& self) {
  po::options_description own("Options");
  own.add_options()("id", po::value<std::string>()->required(), "model id (see 'gpuperf list models')")(
      "ops", po::bool_switch(), "list every op (CSV: only the ops)");
  add_scenario_options(own);
  po::positional_options_description pos;
  pos.add("id", 1);
  auto parsed = parse_command_args(args, self, own, pos, ctx);
  if (!parsed) return 0;
  const auto models = io::load_models(ctx.specs_dir);
  const ModelSpec& m = require_model(models, parsed->vm["id"].as<std::string>());
  const bool with_ops = parsed->vm["ops"].as<bool>();
  const ShowData data = collect(m, parsed->vm);
  ctx.out =
      parsed->format == Format::json ? show_json(data, with_ops).dump() : show_text(data, parsed->format, with_ops);
  return 0;
}

}  // namespace

std::vector<CommandSpec> model_commands() {
  std::vector<CommandSpec> cmds;
  cmds.push_back(make_command("list models", "gpuperf list models [--format table|csv|json|md]",
                              "List the workload models with their parameter counts.", list_models));
  cmds.push_back(
      make_command("show model", "gpuperf show model ID [scenario options] [--ops] [--format table|json|csv|md]",
                   "A model's graph for a scenario: parameters, weight bytes, FLOPs, bytes and kernels per step, per "
                   "op class and (--ops) per op.",
                   show_model));
  return cmds;
}

}  // namespace gpuperf::cli
