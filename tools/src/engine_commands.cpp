// `gpuperf predict`, `explain`, `table`, `calibrate`: the prediction engine on the command line.
#include <cmath>
#include <map>
#include <sstream>

#include "atomic_file.hpp"
#include "engine.hpp"
#include "gpuperf/statistics.hpp"
#include "scenario_options.hpp"

namespace gpuperf::cli {

namespace fs = std::filesystem;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string pct(double x) { return std::isfinite(x) ? format_sig(x, 3) + "%" : "-"; }
std::string ms(double s) { return format_sig(s * 1e3, 4) + " ms"; }

// One prediction request built from the command line: card, model, stack, scenario, the step graph.
struct Request {
  const Gpu* gpu = nullptr;
  const ModelSpec* model = nullptr;
  const StackSpec* stack = nullptr;
  Scenario scenario;
  int sd_pass = 0;
  std::string scenario_text;
  Workload workload;
};

void add_request_options(po::options_description& desc, bool gpu_required) {
  if (gpu_required) {
    desc.add_options()("gpu", po::value<std::string>()->required(), "GPU id (see 'gpuperf list gpus')");
  }
  desc.add_options()("model", po::value<std::string>()->required(), "model id (see 'gpuperf list models')")(
      "stack", po::value<std::string>(),
      "software stack id (default: a1111-xformers-2023 for SD, textgen-gptq-2023 for LLaMA)");
  add_scenario_options(desc);
  add_calibration_option(desc);
}

Request make_request(const Engine& e, const po::variables_map& vm, const std::string& gpu_id) {
  Request r;
  r.gpu = &require_gpu(e.catalog, gpu_id);
  r.model = &e.model(vm["model"].as<std::string>());
  r.stack = &e.stack(vm.count("stack") ? vm["stack"].as<std::string>() : default_stack(*r.model));
  if (const SdModelSpec* sd = r.model->sd()) {
    SdScenario s = sd_scenario_from(vm, *r.model);
    if (sd_part_from(vm) != SdPart::unet)
      throw UsageError("--part: predictions cover the UNet step (--part unet) only");
    if (auto problem = validate(*sd, s)) throw UsageError(*problem);
    r.sd_pass = s.hires ? 1 : 0;
    r.scenario = s;
    r.scenario_text = to_string(s.pass_resolution(r.sd_pass)) + ", batch " + std::to_string(s.batch) +
                      (s.cfg ? " with CFG" : "") + ", " + std::string(to_string(s.attention)) + " attention, " +
                      std::string(to_string(s.precision)) + (s.hires ? ", hires pass" : "");
  } else {
    LlamaScenario s = llama_scenario_from(vm, *r.model);
    if (auto problem = validate(*r.model->llama(), s)) throw UsageError(*problem);
    r.scenario = s;
    r.scenario_text = std::string(to_string(s.phase)) + " at context " + std::to_string(s.context) + ", " +
                      to_string(s.weights) + " weights, batch " + std::to_string(s.batch);
  }
  r.workload = make_workload(*r.model, r.scenario, r.sd_pass);
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
  return prediction_interval95(pt, e.params, e.calibration->covariance_names, e.covariance(), e.residual_sd_log(),
                               e.dof());
}

std::string calibration_label(const Engine& e) {
  return e.calibration_path ? e.calibration_path->filename().string() : std::string("priors (uncalibrated)");
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
  t.footnotes = {"scenario: " + r.scenario_text + "; parameters: " + calibration_label(e)};
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
  EffectiveCard card_a = effective_card(*a.gpu, resolve_hardware(e.params, a.gpu->arch.id, missing));
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
      j.set("breakdown", breakdown_json(sa));
      j.set("classes", t.to_json());
      ctx.out = j.dump();
      return 0;
    }
    t.footnotes = {a.gpu->spec.name + ", " + a.model->id + " (" + a.scenario_text + ") under " + a.stack->id + ": " +
                       format_sig(pa.value, 4) + " " + pa.unit + ", " + ms(sa.seconds) + " per step.",
                   "Bound: " + std::string(to_string(sa.bound)) + " — " + why_bound(sa.bound) + ". Host issues " +
                       std::to_string(sa.kernels) + " kernels in " + ms(sa.host_s) + "; the GPU is busy " +
                       ms(sa.gpu_s) + " and idle " + ms(sa.idle_s) + "."};
    ctx.out = t.render(parsed->format);
    return 0;
  }

  Request b = make_request(e, vm, vm["vs"].as<std::string>());
  WorkloadPrediction pb = predict_or_throw(e, b);
  const StepPrediction& sb = pb.step;
  double speedup = sb.seconds / sa.seconds;
  std::vector<TermDelta> terms = {{"compute", sa.compute_s, sb.compute_s},
                                  {"memory", sa.memory_s, sb.memory_s},
                                  {"latency", sa.latency_s, sb.latency_s},
                                  {"waiting for host", sa.idle_s, sb.idle_s}};
  double saved = sb.seconds - sa.seconds;
  // Ceilings: what each side of the simulation would allow alone.
  double host_floor_a = sa.host_s;
  double if_host_free = sb.seconds / std::max(sa.gpu_s, 1e-12);
  Table t;
  t.columns = {{"term", "term"},
               {"a_ms", a.gpu->spec.id + " ms"},
               {"b_ms", b.gpu->spec.id + " ms"},
               {"delta_ms", "saved ms"},
               {"share_of_saving_pct", "share of saving %"}};
  for (const auto& d : terms)
    t.add({d.term, Cell(d.a_s * 1e3, 3), Cell(d.b_s * 1e3, 3), Cell((d.b_s - d.a_s) * 1e3, 3),
           Cell(saved != 0 ? 100.0 * (d.b_s - d.a_s) / saved : kNaN, 1)});
  t.add({"step", Cell(sa.seconds * 1e3, 3), Cell(sb.seconds * 1e3, 3), Cell(saved * 1e3, 3), Cell(100.0, 1)});
  if (parsed->format == Format::json) {
    Json j = Json::object();
    j.set("gpu", a.gpu->spec.id);
    j.set("vs", b.gpu->spec.id);
    j.set("model", a.model->id);
    j.set("stack", a.stack->id);
    j.set("value", pa.value);
    j.set("vs_value", pb.value);
    j.set("unit", pa.unit);
    j.set("speedup", speedup);
    j.set("host_s", sa.host_s);
    j.set("vs_host_s", sb.host_s);
    j.set("speedup_if_host_were_free", if_host_free);
    j.set("terms", t.to_json());
    ctx.out = j.dump();
    return 0;
  }
  auto ratio = [](double x, double y) { return format_sig(x / y, 3) + "x"; };
  const auto& ga = *a.gpu;
  const auto& gb = *b.gpu;
  std::vector<std::string> words;
  words.push_back(ga.spec.name + " vs " + gb.spec.name + ", " + a.model->id + " (" + a.scenario_text + ") under " +
                  a.stack->id + ": " + format_sig(pa.value, 4) + " vs " + format_sig(pb.value, 4) + " " + pa.unit +
                  " = " + format_sig(speedup, 3) + "x.");
  auto ta = tensor_peak_tflops(ga, TensorMode::fp16_acc32), tb = tensor_peak_tflops(gb, TensorMode::fp16_acc32);
  words.push_back("On paper " + ga.spec.id + " has " +
                  (ta && tb ? ratio(*ta, *tb) + " the fp16 tensor throughput (fp32 accumulate), " : std::string()) +
                  ratio(memory_bandwidth_gb_s(ga.spec), memory_bandwidth_gb_s(gb.spec)) + " the DRAM bandwidth, " +
                  ratio(ga.spec.l2_mib, gb.spec.l2_mib) + " the L2 and " +
                  ratio(ga.spec.boost_clock_mhz, gb.spec.boost_clock_mhz) + " the clock.");
  words.push_back("The host issues the same " + std::to_string(sa.kernels) + " kernels for both (" + ms(sa.host_s) +
                  " of host time per step), so no card can beat " + ms(host_floor_a) + " per step: " + gb.spec.id +
                  "'s GPU idles " + ms(sb.idle_s) + ", " + ga.spec.id + "'s " + ms(sa.idle_s) + ".");
  words.push_back("Were the host free (CUDA graphs), the GPU-only speedup would be " +
                  format_sig(sb.gpu_s / sa.gpu_s, 3) + "x; the host caps it at " + format_sig(speedup, 3) + "x.");
  t.footnotes = words;
  ctx.out = t.render(parsed->format);
  return 0;
}

// ---------------------------------------------------------------- table

std::vector<std::string> calibration_sets(const Engine& e) {
  if (!e.calibration) return {};
  return e.calibration->measurements;
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
  PreparedSets table_set = prepare_measurements(e, {vm["measurements"].as<std::string>()});
  const std::string ref = vm["reference"].as<std::string>();
  require_gpu(e.catalog, ref);

  // Leave-one-out: refit the calibration's own problem without each card, predict this table's points.
  std::vector<double> loo(table_set.points.size(), kNaN);
  std::string loo_note = "leave-one-out: not computed";
  std::vector<std::string> sets = calibration_sets(e);
  if (!vm["no-loo"].as<bool>() && !sets.empty()) {
    PreparedSets fit_sets = prepare_measurements(e, sets);
    FitResult full = fit_parameters(fit_sets.points, e.params);
    std::map<std::string, std::vector<bool>> without;
    for (std::size_t i = 0; i < table_set.points.size(); ++i) {
      const std::string& card = table_set.points[i].gpu->spec.id;
      if (!without.count(card)) {
        std::vector<bool> use(fit_sets.points.size(), true);
        for (std::size_t j = 0; j < fit_sets.points.size(); ++j)
          if (fit_sets.points[j].gpu->spec.id == card) use[j] = false;
        without[card] = use;
      }
    }
    std::map<std::string, ParamSet> refit;
    for (const auto& [card, use] : without) {
      if (ctx.err) *ctx.err << "gpuperf table: leave-one-out refit without " << card << "\n";
      refit[card] = fit_parameters(fit_sets.points, full.params, use, 0).params;
    }
    for (std::size_t i = 0; i < table_set.points.size(); ++i)
      loo[i] = std::exp(log_prediction(table_set.points[i], refit[table_set.points[i].gpu->spec.id]));
    loo_note = "leave-one-out: each card's prediction after refitting on " + std::to_string(sets.size()) +
               " measurement sets without that card";
  }

  double ref_meas = kNaN, ref_pred = kNaN;
  std::vector<double> pred(table_set.points.size());
  for (std::size_t i = 0; i < table_set.points.size(); ++i) {
    pred[i] = std::exp(log_prediction(table_set.points[i], e.params));
    if (table_set.points[i].gpu->spec.id == ref) {
      ref_meas = table_set.points[i].measured;
      ref_pred = pred[i];
    }
  }
  Table t;
  t.columns = {{"gpu", "card"},
               {"measured", "measured"},
               {"predicted", "predicted"},
               {"loo_predicted", "LOO predicted"},
               {"error_pct", "error %"},
               {"loo_error_pct", "LOO error %"},
               {"price_usd", "price $"},
               {"measured_per_kusd", "measured per $1000"},
               {"measured_ratio_to_ref", "measured / " + ref},
               {"predicted_ratio_to_ref", "predicted / " + ref}};
  std::vector<double> m, pv, lv;
  double max_loo = 0;
  for (std::size_t i = 0; i < table_set.points.size(); ++i) {
    const auto& p = table_set.points[i];
    double err = 100.0 * (pred[i] / p.measured - 1);
    double lerr = 100.0 * (loo[i] / p.measured - 1);
    m.push_back(p.measured);
    pv.push_back(pred[i]);
    if (std::isfinite(loo[i])) {
      lv.push_back(loo[i]);
      max_loo = std::max(max_loo, std::abs(lerr));
    }
    t.add({p.gpu->spec.id, Cell(p.measured, 3), Cell(pred[i], 3), Cell(loo[i], 3), Cell(err, 1), Cell(lerr, 1),
           Cell(p.price_usd, 0), Cell(p.price_usd ? 1000.0 * p.measured / *p.price_usd : kNaN, 3),
           Cell(p.measured / ref_meas, 2), Cell(pred[i] / ref_pred, 2)});
  }
  double fit_mape = stats::mape_pct(pv, m);
  double loo_mape = lv.size() == m.size() ? stats::mape_pct(lv, m) : kNaN;
  if (parsed->format == Format::json) {
    Json j = Json::object();
    j.set("measurements", table_set.sets[0].id);
    j.set("calibration", calibration_label(e));
    j.set("fit_mape_pct", fit_mape);
    j.set("loo_mape_pct", loo_mape);
    j.set("max_loo_error_pct", lv.empty() ? kNaN : max_loo);
    j.set("rows", t.to_json());
    ctx.out = j.dump();
    return 0;
  }
  t.footnotes = {"MAPE (calibrated fit): " + pct(fit_mape),
                 "MAPE (leave-one-out): " + pct(loo_mape) + ", worst card " + pct(lv.empty() ? kNaN : max_loo),
                 loo_note + "; parameters: " + calibration_label(e)};
  ctx.out = t.render(parsed->format);
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
  std::vector<double> meas, pred, loo_v;
  double max_loo = 0;
  std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> per_set;
  for (std::size_t i = 0; i < prepared.points.size(); ++i) {
    meas.push_back(prepared.points[i].measured);
    pred.push_back(fit.predicted[i]);
    loo_v.push_back(loo[i]);
    max_loo = std::max(max_loo, 100.0 * std::abs(loo[i] / prepared.points[i].measured - 1));
    per_set[prepared.points[i].set_id].first.push_back(loo[i]);
    per_set[prepared.points[i].set_id].second.push_back(prepared.points[i].measured);
  }
  double fit_mape = stats::mape_pct(pred, meas), loo_mape = stats::mape_pct(loo_v, meas);
  if (vm["no-loo"].as<bool>()) max_loo = kNaN;

  if (vm.count("out")) {
    fs::path out = vm["out"].as<std::string>();
    std::ostringstream y;
    y.precision(10);
    y << "version: 1\nid: " << out.stem().string() << "\n";
    y << "description: >\n  Parameters fitted by gpuperf calibrate (bounded Levenberg-Marquardt on "
         "log(predicted/measured))"
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
    pts.add({prepared.points[i].set_id, prepared.points[i].gpu->spec.id, Cell(prepared.points[i].measured, 3),
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

}  // namespace

std::vector<CommandSpec> engine_commands() {
  std::vector<CommandSpec> cmds;
  auto add = [&](std::string name, std::string usage, std::string summary,
                 int (*fn)(const std::vector<std::string>&, Context&, const CommandSpec&)) {
    cmds.push_back({std::move(name), std::move(usage), std::move(summary), nullptr});
    cmds.back().run = [spec = cmds.back(), fn](const std::vector<std::string>& a, Context& c) {
      return fn(a, c, spec);
    };
  };
  add("predict", "gpuperf predict --gpu ID --model ID [--stack ID] [scenario options] [--format ...]",
      "Predict SD it/s or LLaMA tokens/s on a card, with its 95% interval and the time breakdown.", predict);
  add("explain", "gpuperf explain --gpu A [--vs B] --model ID [--stack ID] [scenario options]",
      "Per op class time share and bound on A; with --vs, the speedup over B decomposed into its terms.", explain);
  add("table", "gpuperf table --measurements FILE|ID [--calibration FILE] [--reference ID]",
      "A measured table reproduced: measured, predicted, leave-one-out, errors, value per dollar, ratios.", table);
  add("calibrate", "gpuperf calibrate --measurements FILE|ID... [--out FILE]",
      "Fit the physical parameters to measurements: values, 95% intervals, leave-one-out errors.", calibrate);
  return cmds;
}

}  // namespace gpuperf::cli
