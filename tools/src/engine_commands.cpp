// `gpuperf predict`, `explain`, `table`, `calibrate`: the prediction engine on the command line.
#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "atomic_file.hpp"
#include "engine.hpp"
#include "gpuperf/baselines.hpp"
#include "gpuperf/statistics.hpp"
#include "gpuperf/units.hpp"
#include "scenario_options.hpp"

namespace gpuperf::cli {

namespace fs = std::filesystem;

namespace {

// The clocks the prediction assumed, and where they come from.
std::string clocks_line(const GpuSpec& s, const EffectiveCard& c) {
  const double mhz = c.clock_hz / 1e6, core_mhz = c.core_clock_hz / 1e6;
  std::string line = "Clocks: tensor work, per-kernel latencies and L2 at " + format_sig(mhz, 4) + " MHz (" +
                     format_sig(mhz / s.boost_clock_mhz, 3) + " x the rated boost clock of " +
                     format_sig(s.boost_clock_mhz, 4) + " MHz";
  if (s.max_boost_clock_mhz && mhz >= *s.max_boost_clock_mhz * (1 - 1e-9))
    line += ", held at the card's top boost clock; a power limit below it is not modelled";
  line += "); CUDA-core work at " + format_sig(core_mhz, 4) + " MHz.";
  return line;
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string pct(double x) { return std::isfinite(x) ? format_sig(x, 3) + "%" : "-"; }
std::string ms(double s) { return format_sig(s * 1e3, 4) + " ms"; }

// One prediction request built from the command line: a card and the workload on it.
struct Request : WorkloadRequest {
  const Gpu* gpu = nullptr;
};

void add_request_options(po::options_description& desc, bool gpu_required) {
  if (gpu_required) {
    desc.add_options()("gpu", po::value<std::string>()->required(), "GPU id (see 'gpuperf list gpus')");
  }
  add_model_stack_options(desc);
  add_scenario_options(desc);
  add_calibration_option(desc);
}

Request make_request(const Engine& e, const po::variables_map& vm, const std::string& gpu_id) {
  Request r;
  r.gpu = &require_gpu(e.catalog, gpu_id);
  static_cast<WorkloadRequest&>(r) = workload_request_from(e, vm, "predictions");
  return r;
}

WorkloadPrediction predict_or_throw(const Engine& e, const Request& r, bool keep_ops = false) {
  WorkloadPrediction p = predict_workload(*r.gpu, r.workload, e.params, *r.stack, keep_ops);
  if (!p.error.empty()) throw UsageError("cannot predict: " + p.error);
  return p;
}

std::pair<double, double> interval_of(const Engine& e, const Request& r) {
  if (!e.calibration || e.calibration->covariance_names.empty()) return {kNaN, kNaN};
  PreparedPoint pt;
  pt.gpu = r.gpu;
  pt.stack = r.stack;
  pt.workload = r.workload;
  return prediction_interval95(pt, e.params, e.calibration->covariance_names, e.covariance(), e.blocks());
}

Json breakdown_json(const StepPrediction& s) {
  Json b = Json::object();
  b.set("host_s", s.host_s);
  b.set("gpu_s", s.gpu_s);
  b.set("compute_s", s.compute_s);
  b.set("memory_s", s.memory_s);
  b.set("latency_s", s.latency_s);
  b.set("idle_s", s.idle_s);
  return b;
}

// Where a step's DRAM traffic goes beyond weights and activations, in words, for the notes under predict and
// explain: fused attention re-reading K/V per query tile, and a framework rebuilding its K/V cache.
struct TrafficNotes {
  double kv_update_bytes = 0;  // the K/V cache update's traffic (the new entries alone when preallocated)
  std::vector<std::string> lines;
};

TrafficNotes traffic_notes(const Request& r, const StepPrediction& s) {
  TrafficNotes n;
  auto bytes_text = [](double b) {
    return b >= 1e12 ? format_sig(b / 1e12, 3) + " TB" : format_sig(b / 1e9, 3) + " GB";
  };
  // Fused attention whose K and V per head exceed the L2 share re-reads them from DRAM for every query
  // tile (long prompts on any card; the survey's Ampere hires steps): say so where it weighs.
  if (s.kv_reread_dram_bytes > 0.1 * s.dram_bytes)
    n.lines.push_back("attention: " + bytes_text(s.kv_reread_dram_bytes) + " of the step's " +
                      bytes_text(s.dram_bytes) +
                      " of DRAM traffic is fused attention re-reading each head's K and V for every query tile, "
                      "as the model assumes where they exceed the card's L2 share (the survey's RTX 30 hires "
                      "steps fit it); query tiles running together that share them in L2 would move far less");
  // The cache update: the new entries alone in a preallocated cache; the whole cache read and written under
  // a framework that concatenates (transformers), plus its grouped-K/V expansion.
  n.kv_update_bytes = kv_cache_update_bytes(r.workload.graph);
  if (n.kv_update_bytes > 0.1 * s.dram_bytes) {
    const LlamaModelSpec* m = r.model->llama();
    n.lines.push_back("K/V cache: " + bytes_text(n.kv_update_bytes) + " of the step's " + bytes_text(s.dram_bytes) +
                      " of DRAM traffic is the framework rebuilding the cache (torch.cat of the past and the new "
                      "K/V every token" +
                      (m && m->n_kv_heads < m->n_heads ? ", then repeat_kv expanding the grouped heads" : "") +
                      "); a preallocated cache (llama.cpp, exllama, --kv-cache in-place) writes only the new entries");
  }
  return n;
}

// ---------------------------------------------------------------- predict

int predict(const std::vector<std::string>& args, Context& ctx, const CommandSpec& self) {
  po::options_description own("Options");
  add_request_options(own, true);
  auto parsed = parse_command_args(args, self, own, {}, ctx);
  if (!parsed) return 0;
  const auto& vm = parsed->vm;
  Engine e = load_engine(ctx.specs_dir, vm["calibration"].as<std::string>());
  Request r = make_request(e, vm, vm["gpu"].as<std::string>());
  WorkloadPrediction p = predict_or_throw(e, r);
  auto [lo, hi] = interval_of(e, r);
  const StepPrediction& s = p.step;
  // Whether the workload fits the card's memory: the model times the kernels, not offloading, so a
  // workload that does not fit gets its figure with a warning, never silently.
  const MemoryFootprint fp = memory_footprint(*r.model, r.scenario);
  const double capacity_bytes = units::gib_to_bytes(r.gpu->spec.memory.capacity_gib);
  const bool fits = fp.total() <= capacity_bytes;
  const std::string memory_note =
      "memory: " + format_sig(fp.total() / 1e9, 3) + " GB needed (weights " + format_sig(fp.weight_bytes / 1e9, 3) +
      " GB), " + format_sig(capacity_bytes / 1e9, 3) + " GB on the card" +
      (fits ? "" : " - does NOT fit: the figure assumes it did (offloading is not modelled)");
  if (!fits && ctx.err) *ctx.err << "gpuperf predict: warning: " << memory_note << "\n";
  const TrafficNotes traffic = traffic_notes(r, s);
  if (parsed->format == Format::json) {
    Json j = Json::object();
    j.set("gpu", r.gpu->spec.id);
    j.set("model", r.model->id);
    j.set("stack", r.stack->id);
    j.set("scenario", r.scenario_text);
    j.set("calibration", calibration_label(e));
    j.set("value", p.value);
    j.set("unit", p.unit);
    Json iv = Json::array();
    iv.push(lo);
    iv.push(hi);
    j.set("interval95", std::move(iv));
    j.set("seconds_per_step", s.seconds);
    j.set("breakdown", breakdown_json(s));
    j.set("bound", std::string(to_string(s.bound)));
    j.set("kernels", s.kernels);
    j.set("dram_bytes", s.dram_bytes);
    j.set("attention_kv_reread_dram_bytes", s.kv_reread_dram_bytes);
    j.set("kv_cache_update_bytes", traffic.kv_update_bytes);
    j.set("memory_needed_bytes", fp.total());
    j.set("memory_capacity_bytes", capacity_bytes);
    j.set("fits", fits);
    ctx.out = j.dump();
    return 0;
  }
  Table t;
  t.columns = {{"gpu", "gpu"},
               {"model", "model"},
               {"stack", "stack"},
               {"value", "value"},
               {"unit", "unit"},
               {"ci95_low", "95% low"},
               {"ci95_high", "95% high"},
               {"seconds_per_step", "s/step"},
               {"host_s", "host s"},
               {"gpu_s", "GPU s"},
               {"compute_s", "compute s"},
               {"memory_s", "memory s"},
               {"latency_s", "latency s"},
               {"idle_s", "idle s"},
               {"bound", "bound"}};
  t.add({r.gpu->spec.id, r.model->id, r.stack->id, Cell(p.value, 3), p.unit, Cell(lo, 3), Cell(hi, 3),
         Cell(s.seconds, 5), Cell(s.host_s, 5), Cell(s.gpu_s, 5), Cell(s.compute_s, 5), Cell(s.memory_s, 5),
         Cell(s.latency_s, 5), Cell(s.idle_s, 5), std::string(to_string(s.bound))});
  t.footnotes = {"scenario: " + r.scenario_text + "; parameters: " + calibration_label(e), memory_note};
  t.footnotes.insert(t.footnotes.end(), traffic.lines.begin(), traffic.lines.end());
  ctx.out = t.render(parsed->format);
  return 0;
}

// ---------------------------------------------------------------- explain

std::string why_bound(Bound b) {
  switch (b) {
    case Bound::host:
      return "the GPU waits for the host to issue work";
    case Bound::compute:
      return "arithmetic on the tensor/CUDA cores";
    case Bound::memory:
      return "moving bytes to and from memory";
    case Bound::latency:
      return "fixed per-kernel start-up time";
  }
  return "";
}

Table class_table(const StepPrediction& s, const EffectiveCard&) {
  Table t;
  t.columns = {{"op_class", "op class"},      {"kernels", "kernels"},
               {"time_share_pct", "share %"}, {"gpu_ms", "GPU ms"},
               {"compute_ms", "compute ms"},  {"memory_ms", "memory ms"},
               {"latency_ms", "latency ms"},  {"achieved_tflops", "TFLOPS"},
               {"dram_gb", "DRAM GB"},        {"bound", "bound"}};
  for (const auto& c : s.classes) {
    Bound b = c.latency_s > std::max(c.compute_s, c.memory_s)
                  ? Bound::latency
                  : (c.compute_s >= c.memory_s ? Bound::compute : Bound::memory);
    t.add({std::string(to_string(c.op_class)), c.kernels, Cell(100.0 * c.gpu_s / s.seconds, 1), Cell(c.gpu_s * 1e3, 3),
           Cell(c.compute_s * 1e3, 3), Cell(c.memory_s * 1e3, 3), Cell(c.latency_s * 1e3, 3),
           Cell(c.gpu_s > 0 ? c.flops / c.gpu_s / 1e12 : 0.0, 2), Cell(c.dram_bytes / 1e9, 3),
           std::string(to_string(b))});
  }
  t.add({"(GPU idle, waiting for host)", Cell(), Cell(100.0 * s.idle_s / s.seconds, 1), Cell(s.idle_s * 1e3, 3), Cell(),
         Cell(), Cell(), Cell(), Cell(), "host"});
  return t;
}

struct TermDelta {
  std::string term;
  double a_s, b_s;
};

// The speedup of A over B decomposed into the timeline's terms, with the words a buyer reads.
struct VsExplanation {
  Table table;  // footnotes hold the words
  Json json;
  double speedup = 0;
};

VsExplanation explain_vs(const Request& a, const WorkloadPrediction& pa, const Request& b,
                         const WorkloadPrediction& pb) {
  const StepPrediction& sa = pa.step;
  const StepPrediction& sb = pb.step;
  VsExplanation x;
  x.speedup = sb.seconds / sa.seconds;
  std::vector<TermDelta> terms = {{"compute", sa.compute_s, sb.compute_s},
                                  {"memory", sa.memory_s, sb.memory_s},
                                  {"latency", sa.latency_s, sb.latency_s},
                                  {"waiting for host", sa.idle_s, sb.idle_s}};
  double saved = sb.seconds - sa.seconds;
  double gpu_only = sb.gpu_s / std::max(sa.gpu_s, 1e-12);
  Table& t = x.table;
  t.columns = {{"term", "term"},
               {"a_ms", a.gpu->spec.id + " ms"},
               {"b_ms", b.gpu->spec.id + " ms"},
               {"delta_ms", "saved ms"},
               {"share_of_saving_pct", "share of saving %"}};
  for (const auto& d : terms)
    t.add({d.term, Cell(d.a_s * 1e3, 3), Cell(d.b_s * 1e3, 3), Cell((d.b_s - d.a_s) * 1e3, 3),
           Cell(saved != 0 ? 100.0 * (d.b_s - d.a_s) / saved : kNaN, 1)});
  t.add({"step", Cell(sa.seconds * 1e3, 3), Cell(sb.seconds * 1e3, 3), Cell(saved * 1e3, 3), Cell(100.0, 1)});
  Json& j = x.json;
  j = Json::object();
  j.set("gpu", a.gpu->spec.id);
  j.set("vs", b.gpu->spec.id);
  j.set("model", a.model->id);
  j.set("stack", a.stack->id);
  j.set("value", pa.value);
  j.set("vs_value", pb.value);
  j.set("unit", pa.unit);
  j.set("speedup", x.speedup);
  j.set("host_s", sa.host_s);
  j.set("vs_host_s", sb.host_s);
  j.set("speedup_if_host_were_free", gpu_only);
  j.set("terms", t.to_json());
  auto ratio = [](double p, double q) { return format_sig(p / q, 3) + "x"; };
  const auto& ga = *a.gpu;
  const auto& gb = *b.gpu;
  std::vector<std::string> words;
  words.push_back(ga.spec.name + " vs " + gb.spec.name + ", " + a.model->id + " (" + a.scenario_text + ") under " +
                  a.stack->id + ": " + format_sig(pa.value, 4) + " vs " + format_sig(pb.value, 4) + " " + pa.unit +
                  " = " + format_sig(x.speedup, 3) + "x.");
  auto ta = tensor_peak_tflops(ga, TensorMode::fp16_acc32), tb = tensor_peak_tflops(gb, TensorMode::fp16_acc32);
  words.push_back("On paper " + ga.spec.id + " has " +
                  (ta && tb ? ratio(*ta, *tb) + " the fp16 tensor throughput (fp32 accumulate), " : std::string()) +
                  ratio(memory_bandwidth_gb_s(ga.spec), memory_bandwidth_gb_s(gb.spec)) + " the DRAM bandwidth, " +
                  ratio(ga.spec.l2_mib, gb.spec.l2_mib) + " the L2 and " +
                  ratio(ga.spec.boost_clock_mhz, gb.spec.boost_clock_mhz) + " the clock.");
  // The largest share of the saving (or of the loss, when A is slower), in words.
  const double sign = saved >= 0 ? 1.0 : -1.0;
  const TermDelta* top = &terms[0];
  for (const auto& d : terms)
    if (sign * (d.b_s - d.a_s) > sign * (top->b_s - top->a_s)) top = &d;
  if (saved >= 0) {
    words.push_back("Most of the " + ms(saved) + " saved per step is " + top->term + " (" +
                    format_sig(100.0 * (top->b_s - top->a_s) / saved, 3) + "%).");
  } else {
    words.push_back("Most of the " + ms(-saved) + " lost per step is " + top->term + " (" +
                    format_sig(100.0 * (top->b_s - top->a_s) / saved, 3) + "%).");
  }
  words.push_back("The host issues the same " + std::to_string(sa.kernels) + " kernels for both in " + ms(sa.host_s) +
                  " per step; " + gb.spec.id + "'s GPU is busy " + ms(sb.gpu_s) + " and idles " + ms(sb.idle_s) + ", " +
                  ga.spec.id + "'s is busy " + ms(sa.gpu_s) + " and idles " + ms(sa.idle_s) + ".");
  words.push_back("GPU time alone would give " + format_sig(gpu_only, 3) + "x (what CUDA graphs, with no host cost, " +
                  "could show); waiting for the host caps it at " + format_sig(x.speedup, 3) + "x.");
  t.footnotes = words;
  return x;
}

int explain(const std::vector<std::string>& args, Context& ctx, const CommandSpec& self) {
  po::options_description own("Options");
  add_request_options(own, true);
  own.add_options()("vs", po::value<std::string>(), "a second GPU: decompose the speedup of --gpu over it")(
      "ops", po::bool_switch(), "list every op with its timing (without --vs)");
  auto parsed = parse_command_args(args, self, own, {}, ctx);
  if (!parsed) return 0;
  const auto& vm = parsed->vm;
  Engine e = load_engine(ctx.specs_dir, vm["calibration"].as<std::string>());
  Request a = make_request(e, vm, vm["gpu"].as<std::string>());
  WorkloadPrediction pa = predict_or_throw(e, a, vm["ops"].as<bool>());
  std::vector<std::string> missing;
  EffectiveCard card_a = effective_card(*a.gpu, resolve_hardware(e.params, a.gpu->arch.id, missing, a.stack->id));
  const StepPrediction& sa = pa.step;

  if (!vm.count("vs") && vm["ops"].as<bool>()) {
    Table t;
    t.columns = {{"op", "op"},
                 {"op_class", "class"},
                 {"m", "m"},
                 {"n", "n"},
                 {"k", "k"},
                 {"batch", "batch"},
                 {"gflop", "GFLOP"},
                 {"dram_mb", "DRAM MB"},
                 {"l2_mb", "L2 MB"},
                 {"wave_efficiency", "tile eff"},
                 {"compute_us", "compute us"},
                 {"memory_us", "memory us"},
                 {"latency_us", "latency us"},
                 {"gpu_us", "GPU us"},
                 {"bound", "bound"}};
    for (std::size_t i = 0; i < sa.ops.size(); ++i) {
      const Op& op = a.workload.graph.ops[i];
      const OpTiming& o = sa.ops[i];
      t.add({op.name, std::string(to_string(op.op_class)), op.gemm.m, op.gemm.n, op.gemm.k, op.gemm.batch,
             Cell(op.flops / 1e9, 3), Cell(o.dram_bytes / 1e6, 3), Cell(o.l2_bytes / 1e6, 3),
             Cell(o.wave_efficiency, 3), Cell(o.compute_s * 1e6, 2), Cell(o.memory_s * 1e6, 2),
             Cell(o.latency_s * 1e6, 2), Cell(o.gpu_s * 1e6, 2), std::string(to_string(o.bound))});
    }
    ctx.out = t.render(parsed->format);
    return 0;
  }
  if (!vm.count("vs")) {
    Table t = class_table(sa, card_a);
    if (parsed->format == Format::json) {
      Json j = Json::object();
      j.set("gpu", a.gpu->spec.id);
      j.set("model", a.model->id);
      j.set("stack", a.stack->id);
      j.set("value", pa.value);
      j.set("unit", pa.unit);
      j.set("seconds_per_step", sa.seconds);
      j.set("bound", std::string(to_string(sa.bound)));
      j.set("clock_mhz", card_a.clock_hz / 1e6);
      j.set("core_clock_mhz", card_a.core_clock_hz / 1e6);
      j.set("breakdown", breakdown_json(sa));
      j.set("dram_bytes", sa.dram_bytes);
      j.set("kv_cache_update_bytes", traffic_notes(a, sa).kv_update_bytes);
      j.set("classes", t.to_json());
      ctx.out = j.dump();
      return 0;
    }
    t.footnotes = {a.gpu->spec.name + ", " + a.model->id + " (" + a.scenario_text + ") under " + a.stack->id + ": " +
                       format_sig(pa.value, 4) + " " + pa.unit + ", " + ms(sa.seconds) + " per step.",
                   "Bound: " + std::string(to_string(sa.bound)) + " — " + why_bound(sa.bound) + ". Host issues " +
                       std::to_string(sa.kernels) + " kernels in " + ms(sa.host_s) + "; the GPU is busy " +
                       ms(sa.gpu_s) + " and idle " + ms(sa.idle_s) + ".",
                   clocks_line(a.gpu->spec, card_a)};
    const TrafficNotes traffic = traffic_notes(a, sa);
    t.footnotes.insert(t.footnotes.end(), traffic.lines.begin(), traffic.lines.end());
    ctx.out = t.render(parsed->format);
    return 0;
  }

  Request b = make_request(e, vm, vm["vs"].as<std::string>());
  WorkloadPrediction pb = predict_or_throw(e, b);
  VsExplanation x = explain_vs(a, pa, b, pb);
  ctx.out = parsed->format == Format::json ? x.json.dump() : x.table.render(parsed->format);
  return 0;
}

// ---------------------------------------------------------------- table

std::vector<std::string> calibration_sets(const Engine& e) {
  if (!e.calibration) return {};
  return e.calibration->measurements;
}

// Parameters refitted without each card (on the calibration's own measurement sets), by card id.
std::map<std::string, ParamSet> loo_refits(const Engine& e, const std::vector<std::string>& cards,
                                           std::ostream* progress) {
  std::map<std::string, ParamSet> out;
  std::vector<std::string> sets = calibration_sets(e);
  if (sets.empty()) return out;
  PreparedSets fit_sets = prepare_measurements(e, sets);
  for (const auto& card : cards) {
    if (out.count(card)) continue;
    std::vector<bool> use(fit_sets.points.size(), true);
    for (std::size_t j = 0; j < fit_sets.points.size(); ++j)
      if (fit_sets.points[j].gpu->spec.id == card) use[j] = false;
    if (progress) *progress << "gpuperf: leave-one-out refit without " << card << "\n";
    out[card] = fit_parameters(fit_sets.points, e.params, use, 0).params;
  }
  return out;
}

struct SurveyTable {
  Table table;
  std::string set_id;
  std::string set_description;
  double fit_mape = kNaN;
  double loo_mape = kNaN;
  double max_loo = kNaN;
  double from_specs_mape = kNaN;  // the priors' predictions against the measurements
};

// A measured table reproduced; `loo` (may be empty) holds the leave-one-card-out parameters. Beside the
// calibration's prediction, the prediction from the specs alone (`priors`: what the model says of a card
// before any fit). Price and value columns only where the set quotes prices, ratio columns only where the
// reference card is in the set.
SurveyTable survey_table(const Engine& e, const std::string& set, const std::string& ref,
                         const std::map<std::string, ParamSet>& loo, const ParamSet& priors) {
  PreparedSets table_set = prepare_measurements(e, {set});
  require_gpu(e.catalog, ref);
  SurveyTable out;
  out.set_id = table_set.sets[0].id;
  out.set_description = table_set.sets[0].description;
  double ref_meas = kNaN, ref_pred = kNaN;
  bool priced = false;
  const std::size_t n = table_set.points.size();
  std::vector<double> pred(n), loo_pred(n, kNaN), prior_pred(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& p = table_set.points[i];
    pred[i] = std::exp(log_prediction(p, e.params));
    prior_pred[i] = std::exp(log_prediction(p, priors));
    auto it = loo.find(p.gpu->spec.id);
    if (it != loo.end()) loo_pred[i] = std::exp(log_prediction(p, it->second));
    if (p.gpu->spec.id == ref && !std::isfinite(ref_meas)) {
      ref_meas = p.measured;
      ref_pred = pred[i];
    }
    priced = priced || p.price_usd.has_value();
  }
  const bool ratios = std::isfinite(ref_meas);
  Table& t = out.table;
  t.columns = {{"gpu", "card"},
               {"measured", "measured"},
               {"predicted", "predicted"},
               {"loo_predicted", "LOO predicted"},
               {"error_pct", "error %"},
               {"loo_error_pct", "LOO error %"},
               {"from_specs", "from specs"},
               {"from_specs_error_pct", "from specs error %"}};
  if (priced) {
    t.columns.push_back({"price_usd", "price $"});
    t.columns.push_back({"measured_per_kusd", "measured per $1000"});
  }
  if (ratios) {
    t.columns.push_back({"measured_ratio_to_ref", "measured / " + ref});
    t.columns.push_back({"predicted_ratio_to_ref", "predicted / " + ref});
  }
  std::vector<double> m, pv, lv;
  for (std::size_t i = 0; i < n; ++i) {
    const auto& p = table_set.points[i];
    double lerr = 100.0 * (loo_pred[i] / p.measured - 1);
    m.push_back(p.measured);
    pv.push_back(pred[i]);
    if (std::isfinite(loo_pred[i])) {
      lv.push_back(loo_pred[i]);
      out.max_loo = std::isfinite(out.max_loo) ? std::max(out.max_loo, std::abs(lerr)) : std::abs(lerr);
    }
    std::vector<Cell> row{p.label,
                          Cell(p.measured, 3),
                          Cell(pred[i], 3),
                          Cell(loo_pred[i], 3),
                          Cell(100.0 * (pred[i] / p.measured - 1), 1),
                          Cell(lerr, 1),
                          Cell(prior_pred[i], 3),
                          Cell(100.0 * (prior_pred[i] / p.measured - 1), 1)};
    if (priced) {
      row.emplace_back(p.price_usd, 0);
      row.emplace_back(p.price_usd ? 1000.0 * p.measured / *p.price_usd : kNaN, 3);
    }
    if (ratios) {
      row.emplace_back(p.measured / ref_meas, 2);
      row.emplace_back(pred[i] / ref_pred, 2);
    }
    t.add(std::move(row));
  }
  out.fit_mape = stats::mape_pct(pv, m);
  out.from_specs_mape = stats::mape_pct(prior_pred, m);
  if (lv.size() == m.size()) out.loo_mape = stats::mape_pct(lv, m);
  // A set the calibration was not fitted on (a held-out file, or any set under another calibration) is
  // predicted out of sample: its MAPE is not a fit's.
  bool fitted = false;
  for (const auto& c : calibration_sets(e))
    if (fs::path(c).stem().string() == out.set_id) fitted = true;
  t.footnotes = {(fitted ? "MAPE (calibrated fit): " : "MAPE (out of sample: not among the calibration's sets): ") +
                     pct(out.fit_mape),
                 "MAPE (leave-one-card-out): " + pct(out.loo_mape) + ", worst card " + pct(out.max_loo),
                 "MAPE (from specs alone: the priors, before any calibration): " + pct(out.from_specs_mape),
                 std::string(loo.empty() ? "leave-one-out: not computed"
                                         : "leave-one-out: each card predicted after refitting the calibration's "
                                           "measurement sets without it") +
                     "; parameters: " + calibration_label(e)};
  return out;
}

std::vector<std::string> cards_of(const Engine& e, const std::string& set) {
  std::vector<std::string> cards;
  for (const auto& p : prepare_measurements(e, {set}).points) cards.push_back(p.gpu->spec.id);
  return cards;
}

int table(const std::vector<std::string>& args, Context& ctx, const CommandSpec& self) {
  po::options_description own("Options");
  own.add_options()("measurements", po::value<std::string>()->required(), "measurement set (file or id)")(
      "reference", po::value<std::string>()->default_value("rtx-3060-12gb"), "card the ratios are relative to")(
      "no-loo", po::bool_switch(), "skip leave-one-out refits");
  add_calibration_option(own);
  auto parsed = parse_command_args(args, self, own, {}, ctx);
  if (!parsed) return 0;
  const auto& vm = parsed->vm;
  Engine e = load_engine(ctx.specs_dir, vm["calibration"].as<std::string>());
  const std::string set = vm["measurements"].as<std::string>();
  std::map<std::string, ParamSet> loo;
  if (!vm["no-loo"].as<bool>()) loo = loo_refits(e, cards_of(e, set), ctx.err);
  SurveyTable st =
      survey_table(e, set, vm["reference"].as<std::string>(), loo, io::load_params(e.specs_dir, std::nullopt));
  if (parsed->format == Format::json) {
    Json j = Json::object();
    j.set("measurements", st.set_id);
    j.set("calibration", calibration_label(e));
    j.set("fit_mape_pct", st.fit_mape);
    j.set("loo_mape_pct", st.loo_mape);
    j.set("max_loo_error_pct", st.max_loo);
    j.set("from_specs_mape_pct", st.from_specs_mape);
    j.set("rows", st.table.to_json());
    ctx.out = j.dump();
    return 0;
  }
  ctx.out = st.table.render(parsed->format);
  return 0;
}

// ---------------------------------------------------------------- calibrate

std::string yaml_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) out += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  return out + "\"";
}

int calibrate(const std::vector<std::string>& args, Context& ctx, const CommandSpec& self) {
  po::options_description own("Options");
  own.add_options()("measurements", po::value<std::vector<std::string>>()->multitoken()->required(),
                    "measurement sets (files or ids of specs/measurements)")(
      "out", po::value<std::string>(), "write the calibration YAML here (atomically)")(
      "start", po::value<std::string>()->default_value("none"),
      "start from this calibration's values (default: the priors)")("no-loo", po::bool_switch(), "skip leave-one-out");
  auto parsed = parse_command_args(args, self, own, {}, ctx);
  if (!parsed) return 0;
  const auto& vm = parsed->vm;
  auto files = vm["measurements"].as<std::vector<std::string>>();
  Engine e = load_engine(ctx.specs_dir, vm["start"].as<std::string>());
  PreparedSets prepared = prepare_measurements(e, files);
  std::vector<fs::path> inputs;
  for (const auto& s : prepared.sets) inputs.push_back(s.path);
  if (e.calibration_path) inputs.push_back(*e.calibration_path);
  if (vm.count("out")) refuse_overwriting_inputs(vm["out"].as<std::string>(), inputs);

  if (ctx.err) *ctx.err << "gpuperf calibrate: fitting " << prepared.points.size() << " points\n";
  FitResult fit = fit_parameters(prepared.points, e.params);
  if (!fit.error.empty()) throw UsageError("calibration failed: " + fit.error);
  std::vector<double> loo(prepared.points.size(), kNaN);
  if (!vm["no-loo"].as<bool>()) {
    if (ctx.err) *ctx.err << "gpuperf calibrate: leave-one-card-out refits\n";
    loo = leave_one_card_out(prepared.points, fit);
  }
  // Leave-one-out figures cover the points that have a leave-one-out prediction (none for a card that
  // alone constrains a parameter, e.g. the one card of its architecture).
  std::vector<double> meas, pred, loo_v, loo_meas;
  double max_loo = 0;
  std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> per_set;
  for (std::size_t i = 0; i < prepared.points.size(); ++i) {
    meas.push_back(prepared.points[i].measured);
    pred.push_back(fit.predicted[i]);
    if (!std::isfinite(loo[i])) continue;
    loo_v.push_back(loo[i]);
    loo_meas.push_back(prepared.points[i].measured);
    max_loo = std::max(max_loo, 100.0 * std::abs(loo[i] / prepared.points[i].measured - 1));
    per_set[prepared.points[i].set_id].first.push_back(loo[i]);
    per_set[prepared.points[i].set_id].second.push_back(prepared.points[i].measured);
  }
  double fit_mape = stats::mape_pct(pred, meas), loo_mape = stats::mape_pct(loo_v, loo_meas);
  if (vm["no-loo"].as<bool>() || loo_v.empty()) max_loo = kNaN;

  if (vm.count("out")) {
    fs::path out = vm["out"].as<std::string>();
    std::ostringstream y;
    y.precision(10);
    y << "version: 1\nid: " << out.stem().string() << "\n";
    y << "description: >\n  Parameters fitted by gpuperf calibrate (bounded Levenberg-Marquardt on "
         "log(predicted/measured), every measurement set weighted alike)"
         " on "
      << prepared.points.size() << " points; fit MAPE " << format_sig(fit_mape, 3) << "%, leave-one-card-out MAPE "
      << format_sig(loo_mape, 3) << "%.\n";
    y << "generated_by: " << yaml_quote("gpuperf calibrate --measurements ...") << "\n";
    y << "measurements:\n";
    for (const auto& s : prepared.sets) {
      bool in_tree = fs::path(s.path).parent_path() == e.specs_dir / "measurements";
      y << "  - " << yaml_quote(in_tree ? s.id : s.path) << "\n";
    }
    y << "parameters:\n";
    for (const auto& d : fit.params.all()) {
      y << "  - name: " << d.name << "\n    value: " << d.value << "\n    min: " << d.lo << "\n    max: " << d.hi
        << "\n    unit: " << yaml_quote(d.unit) << "\n    meaning: " << yaml_quote(d.meaning)
        << "\n    fit: " << (d.fit ? "true" : "false") << "\n";
      for (std::size_t j = 0; j < fit.free.size(); ++j)
        if (fit.free[j] == d.name && std::isfinite(fit.ci95[j].first))
          y << "    ci95_low: " << fit.ci95[j].first << "\n    ci95_high: " << fit.ci95[j].second << "\n";
    }
    if (!fit.free.empty() && fit.covariance.allFinite()) {
      y << "covariance:\n  names: [";
      for (std::size_t j = 0; j < fit.free.size(); ++j) y << (j ? ", " : "") << fit.free[j];
      y << "]\n  matrix:\n";
      for (Eigen::Index i = 0; i < fit.covariance.rows(); ++i) {
        y << "    - [";
        for (Eigen::Index j = 0; j < fit.covariance.cols(); ++j) y << (j ? ", " : "") << fit.covariance(i, j);
        y << "]\n";
      }
    }
    y << "summary:\n  fit_mape_pct: " << fit_mape << "\n";
    if (std::isfinite(loo_mape)) y << "  loo_mape_pct: " << loo_mape << "\n  max_loo_error_pct: " << max_loo << "\n";
    for (const auto& [set, v] : per_set) {
      double mp = stats::mape_pct(v.first, v.second);
      if (std::isfinite(mp)) y << "  loo_mape_pct_" << set << ": " << mp << "\n";
    }
    if (std::isfinite(fit.residual_sd_log)) y << "  residual_sd_log: " << fit.residual_sd_log << "\n";
    y << "  dof: " << fit.dof << "\n";
    if (fit.blocks.size() > 1 && !fit.free.empty() && fit.covariance.allFinite()) {
      // Independent parts (no point shares a parameter across them), each with its own scatter.
      y << "blocks:\n";
      for (const auto& b : fit.blocks) {
        y << "  - names: [";
        for (std::size_t j = 0; j < b.names.size(); ++j) y << (j ? ", " : "") << b.names[j];
        y << "]\n    residual_sd_log: " << (std::isfinite(b.residual_sd_log) ? b.residual_sd_log : 0.0)
          << "\n    dof: " << b.dof << "\n";
      }
    }
    y << "sources:\n";
    for (const auto& s : prepared.sets) y << "  - " << yaml_quote("fitted on " + s.id + ": " + s.description) << "\n";
    write_file_atomically(out, y.str());
  }

  if (parsed->format == Format::json) {
    Json j = Json::object();
    j.set("loo_mape_pct", loo_mape);
    j.set("fit_mape_pct", fit_mape);
    j.set("max_loo_error_pct", max_loo);
    j.set("converged", fit.converged);
    j.set("iterations", fit.iterations);
    Json params = Json::array();
    for (std::size_t k = 0; k < fit.free.size(); ++k) {
      Json pj = Json::object();
      pj.set("name", fit.free[k]);
      pj.set("value", fit.params.find(fit.free[k])->value);
      pj.set("ci95_low", fit.ci95[k].first);
      pj.set("ci95_high", fit.ci95[k].second);
      params.push(std::move(pj));
    }
    j.set("parameters", std::move(params));
    Json pts = Json::array();
    for (std::size_t i = 0; i < prepared.points.size(); ++i) {
      Json pj = Json::object();
      pj.set("set", prepared.points[i].set_id);
      pj.set("gpu", prepared.points[i].gpu->spec.id);
      pj.set("label", prepared.points[i].label);
      pj.set("measured", prepared.points[i].measured);
      pj.set("predicted", fit.predicted[i]);
      pj.set("loo_predicted", loo[i]);
      pts.push(std::move(pj));
    }
    j.set("points", std::move(pts));
    ctx.out = j.dump();
    return 0;
  }
  Table params;
  params.columns = {{"name", "parameter"},     {"value", "value"}, {"ci95_low", "95% low"},
                    {"ci95_high", "95% high"}, {"unit", "unit"},   {"meaning", "meaning"}};
  for (std::size_t k = 0; k < fit.free.size(); ++k) {
    const ParamDef* d = fit.params.find(fit.free[k]);
    params.add(
        {d->name, Cell(d->value, 4), Cell(fit.ci95[k].first, 4), Cell(fit.ci95[k].second, 4), d->unit, d->meaning});
  }
  Table pts;
  pts.columns = {{"set", "set"},
                 {"gpu", "card"},
                 {"measured", "measured"},
                 {"predicted", "predicted"},
                 {"loo_predicted", "LOO predicted"},
                 {"loo_error_pct", "LOO error %"}};
  for (std::size_t i = 0; i < prepared.points.size(); ++i)
    pts.add({prepared.points[i].set_id, prepared.points[i].label, Cell(prepared.points[i].measured, 3),
             Cell(fit.predicted[i], 3), Cell(loo[i], 3), Cell(100.0 * (loo[i] / prepared.points[i].measured - 1), 1)});
  std::vector<std::string> notes = {"fit MAPE " + pct(fit_mape) + ", leave-one-card-out MAPE " + pct(loo_mape) +
                                    ", worst card " + pct(max_loo) + "; " + std::to_string(fit.free.size()) +
                                    " free parameters, " + std::to_string(fit.dof) + " degrees of freedom, " +
                                    (fit.converged ? "converged" : "NOT converged") + " after " +
                                    std::to_string(fit.iterations) + " iterations"};
  for (const auto& [set, v] : per_set)
    notes.push_back("  " + set + ": leave-one-out MAPE " + pct(stats::mape_pct(v.first, v.second)));
  pts.footnotes = notes;
  ctx.out = params.render(parsed->format) + "\n" + pts.render(parsed->format);
  return 0;
}

// ---------------------------------------------------------------- report

struct SurveyWorkload {
  std::string set;    // measurement set id
  std::string title;  // for people
};
const std::vector<SurveyWorkload>& survey_workloads() {
  static const std::vector<SurveyWorkload> w = {
      {"survey-sd512", "Stable Diffusion 512x512 (survey Table 3)"},
      {"survey-sd-hires", "Stable Diffusion hires 768x432 -> 2048x1152, high-resolution pass (survey Table 4)"},
      {"survey-llama13b-4bit", "LLaMA-13B 4-bit decode (survey Table 5)"}};
  return w;
}

// A request for one survey set's scenario on another card (and optionally another stack).
Request request_for(const Engine& e, const std::string& set, const std::string& gpu_id, const std::string& stack_id) {
  PreparedSets ps = prepare_measurements(e, {set});
  const MeasurementPoint& pt = ps.sets[0].points[0];
  Request r;
  r.gpu = &require_gpu(e.catalog, gpu_id);
  r.model = &e.model(pt.model_id);
  r.stack = &e.stack(stack_id.empty() ? pt.stack_id : stack_id);
  r.scenario = pt.scenario;
  r.sd_pass = pt.sd_pass;
  r.workload = make_workload(*r.model, r.scenario, r.sd_pass, *r.stack);
  r.scenario_text = describe_scenario(r.scenario, r.sd_pass);
  return r;
}

std::string parameter_reading(const Engine& e, const ParamDef& d) {
  if (d.name == "kernel_latency_cycles") {
    const Gpu* a = e.catalog.find_gpu("rtx-3090");
    const Gpu* b = e.catalog.find_gpu("rtx-4090");
    auto us = [&](const Gpu* g) {
      auto ratio = e.params.lookup(g->arch.id, "clock_ratio").value_or(1.0);
      return format_sig(d.value / (g->spec.boost_clock_mhz * ratio), 3) + " us";
    };
    return us(a) + " per kernel on an RTX 3090, " + us(b) + " on an RTX 4090";
  }
  if (d.unit.empty() && d.hi <= 1.0) return format_sig(100 * d.value, 3) + "%";
  if (d.name.find("host_us_per_kernel") != std::string::npos) return format_sig(d.value, 3) + " us per kernel";
  if (d.name.find("host_ms_per_step") != std::string::npos) return format_sig(d.value, 3) + " ms per step";
  return format_sig(d.value, 4) + " " + d.unit;
}

// The survey tables fitted by free linear regressions of seconds per unit on spec features, each
// table on its own: what curve fitting reaches on the same points, beside the model's figures.
std::string baseline_section(const Engine& e, const std::vector<SurveyTable>& tables) {
  struct Baseline {
    std::string name;
    bool per_arch_tensor;
    bool bandwidth;
  };
  const std::vector<Baseline> baselines = {{"1/tensor peak + 1/bandwidth + constant", false, true},
                                           {"1/tensor peak per architecture + constant", true, false},
                                           {"1/tensor peak per architecture + 1/bandwidth + constant", true, true}};
  Table t;
  t.columns = {{"table", "table"},
               {"model", "model"},
               {"fitted", "fitted numbers"},
               {"fit_mape_pct", "fit MAPE %"},
               {"loo_mape_pct", "leave-one-out MAPE %"},
               {"max_loo_error_pct", "worst card %"}};
  // The calibrated parameters that move some survey prediction (a calibration may also hold parameters
  // fitted on other measurements, e.g. an H100's).
  std::vector<PreparedPoint> survey_points;
  for (const auto& w : survey_workloads())
    for (auto& p : prepare_measurements(e, {w.set}).points) survey_points.push_back(std::move(p));
  int model_params = 0;
  for (const auto& d : e.params.all()) {
    if (!d.fit || (e.calibration && !e.calibration->ci95.count(d.name)) || !(d.hi > d.lo)) continue;
    ParamSet moved = e.params;
    moved.set_value(d.name, d.value + (d.value + 0.01 * (d.hi - d.lo) <= d.hi ? 1 : -1) * 0.01 * (d.hi - d.lo));
    if (std::any_of(survey_points.begin(), survey_points.end(), [&](const PreparedPoint& p) {
          return std::abs(log_prediction(p, moved) - log_prediction(p, e.params)) > 1e-12;
        }))
      ++model_params;
  }
  for (std::size_t i = 0; i < survey_workloads().size(); ++i) {
    const auto& w = survey_workloads()[i];
    PreparedSets set = prepare_measurements(e, {w.set});
    std::vector<std::string> arches;
    for (const auto& p : set.points)
      if (std::find(arches.begin(), arches.end(), p.gpu->arch.id) == arches.end()) arches.push_back(p.gpu->arch.id);
    t.add({w.title, "gpuperf (physics; parameters shared by the three tables)", Cell(model_params),
           Cell(tables[i].fit_mape, 2), Cell(tables[i].loo_mape, 2), Cell(tables[i].max_loo, 1)});
    for (const auto& b : baselines) {
      std::vector<double> rates;
      std::vector<std::vector<double>> features;
      for (const auto& p : set.points) {
        auto peak = tensor_peak_tflops(*p.gpu, TensorMode::fp16_acc32);
        const double inv_peak = peak && *peak > 0 ? 1.0 / *peak : 0.0;
        std::vector<double> f;
        if (b.per_arch_tensor) {
          for (const auto& a : arches) f.push_back(p.gpu->arch.id == a ? inv_peak : 0.0);
        } else {
          f.push_back(inv_peak);
        }
        if (b.bandwidth) f.push_back(1.0 / memory_bandwidth_gb_s(p.gpu->spec));
        f.push_back(1.0);
        features.push_back(std::move(f));
        rates.push_back(p.measured);
      }
      calibration::RegressionResult r = calibration::fit_linear_time_model(rates, features);
      if (!r.error.empty()) {
        t.add({w.title, b.name, Cell(static_cast<int>(features.front().size())), "-", "-", r.error});
        continue;
      }
      t.add({w.title, b.name, Cell(static_cast<int>(r.coefficients.size())), Cell(r.fit_mape_pct, 2),
             Cell(r.loo_mape_pct, 2), Cell(r.max_loo_error_pct, 1)});
    }
  }
  std::ostringstream md;
  md << "## Against free regressions\n\n"
     << "The same points fitted by curve fitting instead of physics: seconds per unit (1 / measured) as a linear "
     << "combination of the card's fp16 tensor peak (fp32 accumulate), its DRAM bandwidth and a constant, "
     << "coefficients free (any sign), least squares on the relative error, each table fitted on its own; "
     << "leave-one-out refits without the card. The model's row fits all three tables with " << model_params
     << " parameters in physical bounds. The spread a free fit leaves is card-to-card scatter "
     << "that the specifications do not explain.\n\n"
     << t.render(Format::md) << "\n";
  return md.str();
}

std::string accuracy_report(const Engine& e, std::ostream* progress) {
  std::ostringstream md;
  md << "# Accuracy against the survey\n\n"
     << "Generated by `gpuperf report accuracy --out docs/accuracy.md` with the parameters of `" << calibration_label(e)
     << "`; do not edit by hand. Targets (issue): leave-one-card-out MAPE <= 3% per table, "
     << "no card worse than 8%.\n\n";
  std::vector<std::string> cards;
  for (const auto& w : survey_workloads())
    for (const auto& c : cards_of(e, w.set)) cards.push_back(c);
  auto loo = loo_refits(e, cards, progress);
  std::vector<SurveyTable> tables;
  const ParamSet priors = io::load_params(e.specs_dir, std::nullopt);
  for (const auto& w : survey_workloads()) tables.push_back(survey_table(e, w.set, "rtx-3060-12gb", loo, priors));

  Table summary;
  summary.columns = {{"table", "table"},
                     {"fit_mape_pct", "fit MAPE %"},
                     {"loo_mape_pct", "leave-one-out MAPE %"},
                     {"max_loo_error_pct", "worst card %"},
                     {"met", "target met"}};
  for (std::size_t i = 0; i < tables.size(); ++i) {
    bool met = tables[i].loo_mape <= 3.0 && tables[i].max_loo <= 8.0;
    summary.add({survey_workloads()[i].title, Cell(tables[i].fit_mape, 2), Cell(tables[i].loo_mape, 2),
                 Cell(tables[i].max_loo, 1), met ? "yes" : "no"});
  }
  md << "## Summary\n\n" << summary.render(Format::md) << "\n";
  md << baseline_section(e, tables);

  md << "## The fitted parameters\n\n"
     << "Fitted by `gpuperf calibrate` on all three tables at once (bounded Levenberg-Marquardt on "
     << "log(predicted/measured), each table carrying the same total weight whatever its number of cards); "
     << "95% intervals are Student-t intervals from the Jacobian, clipped to the "
     << "physical bounds. Wide intervals mean the survey cannot separate a parameter from its neighbours "
     << "(the prediction intervals, which use the full covariance, stay narrow).";
  if (e.calibration && e.calibration->blocks.size() > 1)
    md << " The calibration also holds parameters fitted on other measurements it lists (e.g. "
       << "`hopper-gh100.*` on gpuperf-validate's H100 micro-benchmarks and replays): no point shares a "
       << "parameter across those parts, so each part is fitted on its own points, with its own scatter, "
       << "and the survey's fit is the same as without them.";
  md << "\n\n";
  Table params;
  int rails = 0;
  params.columns = {{"name", "parameter"}, {"value", "value"},     {"ci95", "95% interval"},
                    {"bounds", "bounds"},  {"reading", "reading"}, {"meaning", "meaning"}};
  for (const auto& d : e.params.all()) {
    if (!d.fit) continue;
    std::string ci = "-";
    if (e.calibration) {
      auto it = e.calibration->ci95.find(d.name);
      if (it != e.calibration->ci95.end())
        ci = format_sig(it->second.first, 4) + " .. " + format_sig(it->second.second, 4);
      else
        continue;  // not free in this calibration: no survey point depends on it
    }
    // A value on its bound is the fit pressing against physics: say so beside the reading.
    const double span = d.hi - d.lo;
    std::string reading = parameter_reading(e, d);
    while (!reading.empty() && reading.back() == ' ') reading.pop_back();
    int railed = 0;
    if (span > 0 && d.hi - d.value <= 1e-6 * span) {
      reading += " (at its upper bound)";
      ++railed;
    } else if (span > 0 && d.value - d.lo <= 1e-6 * span) {
      reading += " (at its lower bound)";
      ++railed;
    }
    rails += railed;
    params.add({d.name, Cell(d.value, 4), ci, format_sig(d.lo, 4) + " .. " + format_sig(d.hi, 4), reading, d.meaning});
  }
  md << params.render(Format::md) << "\n";
  if (rails > 0)
    md << rails << (rails == 1 ? " parameter sits" : " parameters sit")
       << " on a bound: the survey pushes past what the physics allows there, and the fit stops at the "
       << "bound. `docs/model-experiments.md` records why (and the variants tried against it).\n\n";

  for (std::size_t i = 0; i < tables.size(); ++i) {
    md << "## " << survey_workloads()[i].title << "\n\n"
       << tables[i].set_description << "\n\n"
       << tables[i].table.render(Format::md) << "\n";
  }

  md << "## Predictions for cards the survey did not measure\n\n"
     << "Each survey scenario on other cards, under the survey's stack, a generic PyTorch eager stack "
     << "(prior host costs, not fitted) and CUDA graphs (no host cost: pure GPU time). Intervals are "
     << "95% prediction intervals from the calibration; `-` where the card lacks the memory (weights + "
     << "KV cache + activations) to run the workload.\n\n";
  const std::vector<std::string> others = {
      "rtx-4070", "rtx-4060-ti-16gb", "rtx-4060-ti-8gb", "rtx-4060",       "rtx-5090", "rtx-5080",  "rtx-5070-ti",
      "rtx-5070", "rtx-5060-ti-16gb", "a100-sxm-80gb",   "a100-pcie-40gb", "h100-sxm", "h100-pcie", "h200-sxm",
      "l40s",     "rtx-2080-ti"};
  for (const auto& w : survey_workloads()) {
    Table t;
    t.columns = {{"gpu", "card"}};
    std::vector<std::string> stacks;
    Request probe = request_for(e, w.set, others[0], "");
    stacks = {probe.stack->id, "pytorch-eager", "cuda-graph"};
    for (const auto& st : stacks) {
      t.columns.push_back({st, st + " " + probe.workload.unit});
      t.columns.push_back({st + "_ci95", "95% interval"});
    }
    for (const auto& id : others) {
      std::vector<Cell> row;
      row.reserve(1 + 2 * stacks.size());
      row.emplace_back(id);
      for (const auto& st : stacks) {
        Request r = request_for(e, w.set, id, st);
        MemoryFootprint fp = memory_footprint(*r.model, r.scenario);
        WorkloadPrediction p = predict_workload(*r.gpu, r.workload, e.params, *r.stack);
        if (!p.error.empty() || fp.total() > units::gib_to_bytes(r.gpu->spec.memory.capacity_gib)) {
          row.emplace_back(std::string("-"));
          row.emplace_back(std::string(p.error.empty() ? "does not fit" : "unsupported"));
          continue;
        }
        auto [lo, hi] = interval_of(e, r);
        row.emplace_back(p.value, 2);
        row.emplace_back(std::isfinite(lo) ? format_sig(lo, 3) + " .. " + format_sig(hi, 3) : std::string("-"));
      }
      t.add(row);
    }
    md << "### " << w.title << "\n\n" << t.render(Format::md) << "\n";
  }
  return md.str();
}

std::string scaling_report(const Engine& e) {
  std::ostringstream md;
  md << "# Why it scales: 1.33x for LLaMA, 4x and 7x for Stable Diffusion\n\n"
     << "Generated by `gpuperf report scaling --out docs/why-it-scales.md` with the parameters of `"
     << calibration_label(e) << "`; every number below comes from the model (or, where marked, the survey).\n\n";
  const Gpu& g3060 = require_gpu(e.catalog, "rtx-3060-12gb");
  const Gpu& g4090 = require_gpu(e.catalog, "rtx-4090");
  auto r = [](double a, double b) { return format_sig(a / b, 3) + "x"; };
  md << "On paper the RTX 4090 has "
     << r(*tensor_peak_tflops(g4090, TensorMode::fp16_acc32), *tensor_peak_tflops(g3060, TensorMode::fp16_acc32))
     << " the RTX 3060's fp16 tensor throughput (fp32 accumulate, the mode PyTorch uses), "
     << r(memory_bandwidth_gb_s(g4090.spec), memory_bandwidth_gb_s(g3060.spec)) << " its DRAM bandwidth, "
     << r(g4090.spec.l2_mib, g3060.spec.l2_mib) << " its L2 and "
     << r(g4090.spec.boost_clock_mhz, g3060.spec.boost_clock_mhz) << " its clock. The survey measured:\n\n";
  Table overview;
  overview.columns = {{"workload", "workload"},
                      {"measured_3060", "RTX 3060"},
                      {"measured_4090", "RTX 4090"},
                      {"measured_ratio", "measured ratio"},
                      {"predicted_ratio", "predicted ratio"},
                      {"gpu_only_ratio", "GPU-only ratio (no host)"},
                      {"bound_3060", "3060 bound"},
                      {"bound_4090", "4090 bound"}};
  std::vector<VsExplanation> explanations;
  for (const auto& w : survey_workloads()) {
    PreparedSets ps = prepare_measurements(e, {w.set});
    double m3060 = kNaN, m4090 = kNaN;
    for (const auto& p : ps.points) {
      if (p.gpu->spec.id == "rtx-3060-12gb") m3060 = p.measured;
      if (p.gpu->spec.id == "rtx-4090") m4090 = p.measured;
    }
    Request a = request_for(e, w.set, "rtx-4090", "");
    Request b = request_for(e, w.set, "rtx-3060-12gb", "");
    WorkloadPrediction pa = predict_or_throw(e, a), pb = predict_or_throw(e, b);
    explanations.push_back(explain_vs(a, pa, b, pb));
    overview.add({w.title, Cell(m3060, 3), Cell(m4090, 3), Cell(m4090 / m3060, 2), Cell(pa.value / pb.value, 2),
                  Cell(pb.step.gpu_s / pa.step.gpu_s, 2), std::string(to_string(pb.step.bound)),
                  std::string(to_string(pa.step.bound))});
  }
  md << overview.render(Format::md) << "\n";
  md << "The ratio a card achieves is the ratio of its step times. Each step is the simulated timeline of the "
     << "host issuing kernels while the GPU runs them: GPU time splits into compute-bound, memory-bound and "
     << "latency-bound (fixed per-kernel time, scaling with 1/clock) op time; *waiting for host* is GPU idle time "
     << "while Python and the framework issue the next kernel. A term that is the same on both cards cannot "
     << "contribute to the speedup.\n\n";
  for (std::size_t i = 0; i < explanations.size(); ++i) {
    md << "## " << survey_workloads()[i].title << "\n\n" << explanations[i].table.render(Format::md) << "\n";
  }
  md << "## Per card\n\n"
     << "Where each survey card's step goes (ms per step, model):\n\n";
  for (const auto& w : survey_workloads()) {
    Table t;
    t.columns = {{"gpu", "card"},
                 {"step_ms", "step ms"},
                 {"host_ms", "host issue ms"},
                 {"compute_ms", "compute ms"},
                 {"memory_ms", "memory ms"},
                 {"latency_ms", "latency ms"},
                 {"idle_ms", "waiting for host ms"},
                 {"bound", "bound"}};
    for (const auto& id : cards_of(e, w.set)) {
      Request q = request_for(e, w.set, id, "");
      WorkloadPrediction p = predict_or_throw(e, q);
      const StepPrediction& s = p.step;
      t.add({id, Cell(s.seconds * 1e3, 2), Cell(s.host_s * 1e3, 2), Cell(s.compute_s * 1e3, 2),
             Cell(s.memory_s * 1e3, 2), Cell(s.latency_s * 1e3, 2), Cell(s.idle_s * 1e3, 2),
             std::string(to_string(s.bound))});
    }
    md << "### " << w.title << "\n\n" << t.render(Format::md) << "\n";
  }
  return md.str();
}

int report(const std::vector<std::string>& args, Context& ctx, const CommandSpec& self) {
  po::options_description own("Options");
  own.add_options()("what", po::value<std::string>()->required(), "accuracy | scaling")(
      "out", po::value<std::string>(), "write the Markdown report here (atomically) instead of stdout");
  add_calibration_option(own);
  po::positional_options_description pos;
  pos.add("what", 1);
  auto parsed = parse_command_args(args, self, own, pos, ctx, false);
  if (!parsed) return 0;
  const auto& vm = parsed->vm;
  const std::string what = vm["what"].as<std::string>();
  if (what != "accuracy" && what != "scaling") throw UsageError("unknown report '" + what + "' (accuracy, scaling)");
  Engine e = load_engine(ctx.specs_dir, vm["calibration"].as<std::string>());
  std::string text = what == "accuracy" ? accuracy_report(e, ctx.err) : scaling_report(e);
  if (vm.count("out")) {
    write_file_atomically(vm["out"].as<std::string>(), text);
  } else {
    ctx.out = text;
  }
  return 0;
}

}  // namespace

std::vector<CommandSpec> engine_commands() {
  std::vector<CommandSpec> cmds;
  auto add = [&](std::string name, std::string usage, std::string summary, CommandFn fn) {
    cmds.push_back(make_command(std::move(name), std::move(usage), std::move(summary), fn));
  };
  add("predict", "gpuperf predict --gpu ID --model ID [--stack ID] [scenario options] [--format ...]",
      "Predict SD it/s or LLaMA tokens/s on a card, with its 95% interval and the time breakdown.", predict);
  add("explain", "gpuperf explain --gpu A [--vs B] --model ID [--stack ID] [scenario options]",
      "Per op class time share and bound on A; with --vs, the speedup over B decomposed into its terms.", explain);
  add("table", "gpuperf table --measurements FILE|ID [--calibration FILE] [--reference ID]",
      "A measured table reproduced: measured, predicted, leave-one-out, errors, value per dollar, ratios.", table);
  add("report", "gpuperf report accuracy|scaling [--out FILE.md]",
      "The accuracy report (survey tables, parameters, unmeasured cards) or the why-it-scales report.", report);
  add("calibrate", "gpuperf calibrate --measurements FILE|ID... [--out FILE]",
      "Fit the physical parameters to measurements: values, 95% intervals, leave-one-out errors.", calibrate);
  return cmds;
}

}  // namespace gpuperf::cli
