// `gpuperf plot roofline|scaling|breakdown|value`: the model's pictures, drawn by gnuplot (see
// gnuplot.hpp). Each command computes its numbers with the engine's public functions, writes them as
// inline data into a gnuplot script and renders the chart atomically to --out (.svg, .png or .pdf).
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "atomic_file.hpp"
#include "engine.hpp"
#include "gnuplot.hpp"
#include "gpuperf/io/whatif_loader.hpp"
#include "gpuperf/units.hpp"
#include "gpuperf/whatif.hpp"
#include "scenario_options.hpp"
#include "whatif_inputs.hpp"

namespace gpuperf::cli {

namespace fs = std::filesystem;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A number for gnuplot data: shortest round-trip text, NaN as gnuplot's missing value.
std::string num(double v) { return std::isfinite(v) ? format_number(v) : std::string("NaN"); }

// "NVIDIA GeForce RTX 4090" -> "RTX 4090": card names short enough for an axis.
std::string short_name(const Gpu& g) {
  std::string n = g.spec.name;
  for (const std::string prefix : {"NVIDIA GeForce ", "NVIDIA ", "GeForce "})
    if (n.rfind(prefix, 0) == 0) n = n.substr(prefix.size());
  return n;
}

const std::string& colour(std::size_t i) { return okabe_ito()[i % okabe_ito().size()]; }

// The common gnuplot preamble: grid, border, text colour.
std::string preamble() {
  return "set border lw 1.2\nset grid xtics ytics mxtics mytics lc rgb \"#dddddd\" lw 1 dt 1\n"
         "set tics out nomirror\nset key noautotitle\nset datafile missing \"NaN\"\n";
}

// The common options of the per-card plots: cards, model, stack, scenario, calibration, --out.
void add_card_plot_options(po::options_description& desc) {
  desc.add_options()("gpu", po::value<std::vector<std::string>>()->multitoken()->required(),
                     "GPU ids (one or more; see 'gpuperf list gpus')");
  add_model_stack_options(desc);
  desc.add_options()("out", po::value<std::string>()->required(),
                     "chart file: .svg, .png or .pdf (written atomically)");
  add_scenario_options(desc);
  add_calibration_option(desc);
}

std::vector<const Gpu*> cards_of_options(const Engine& e, const po::variables_map& vm) {
  std::vector<const Gpu*> cards;
  std::set<std::string> seen;
  for (const auto& id : vm["gpu"].as<std::vector<std::string>>()) {
    if (!seen.insert(id).second) throw UsageError("--gpu " + id + " given twice");
    cards.push_back(&require_gpu(e.catalog, id));
  }
  if (cards.size() > 8) throw UsageError("--gpu: at most 8 cards fit one chart");
  return cards;
}

// The inputs of a run that --out must not replace.
std::vector<fs::path> engine_inputs(const Engine& e) {
  std::vector<fs::path> in;
  if (e.calibration_path) in.push_back(*e.calibration_path);
  return in;
}

WorkloadPrediction predict_or_throw(const Engine& e, const Gpu& g, const WorkloadRequest& r, bool keep_ops = false) {
  WorkloadPrediction p = predict_workload(g, r.workload, e.params, *r.stack, keep_ops);
  if (!p.error.empty()) throw UsageError("cannot predict on " + g.spec.id + ": " + p.error);
  return p;
}

// A per-card plot's inputs: the chart file, the engine, the workload the options describe and the cards.
struct CardPlot {
  const fs::path& out;
  const Engine& e;
  const WorkloadRequest& r;
  const std::vector<const Gpu*>& cards;
};

// The common start of the per-card plots (options parsed, --out checked, engine, workload and cards
// loaded); `draw` renders the chart.
int run_card_plot(const std::vector<std::string>& args, Context& ctx, const CommandSpec& self,
                  void (*draw)(const CardPlot&, Context&)) {
  po::options_description own("Options");
  add_card_plot_options(own);
  auto parsed = parse_command_args(args, self, own, {}, ctx, false);
  if (!parsed) return 0;
  const auto& vm = parsed->vm;
  const fs::path out = vm["out"].as<std::string>();
  chart_format_of(out);
  Engine e = load_engine(ctx.specs_dir, vm["calibration"].as<std::string>());
  refuse_overwriting_inputs(out, engine_inputs(e));
  WorkloadRequest r = workload_request_from(e, vm, "plots");
  std::vector<const Gpu*> cards = cards_of_options(e, vm);
  draw({out, e, r, cards}, ctx);
  return 0;
}

// ---------------------------------------------------------------- roofline

std::string mode_label(std::optional<TensorMode> m) {
  if (!m) return "fp32 CUDA cores";
  switch (*m) {
    case TensorMode::fp16_acc16:
      return "fp16 tensor, fp16 acc.";
    case TensorMode::fp16_acc32:
      return "fp16 tensor, fp32 acc.";
    case TensorMode::bf16_acc32:
      return "bf16 tensor";
    case TensorMode::tf32:
      return "tf32 tensor";
    case TensorMode::fp8_acc16:
      return "fp8 tensor, fp16 acc.";
    case TensorMode::fp8_acc32:
      return "fp8 tensor, fp32 acc.";
    case TensorMode::int8:
      return "int8 tensor";
    case TensorMode::int4:
      return "int4 tensor";
  }
  return "";
}

void draw_roofline(const CardPlot& plot, Context& ctx) {
  const auto& [out, e, r, cards] = plot;

  // The compute roofs the workload's ops run on (with fp16's other accumulate mode, the GeForce
  // half-rate story), and the CUDA cores when some FLOPs run there.
  std::vector<std::optional<TensorMode>> modes;
  auto add_mode = [&](std::optional<TensorMode> m) {
    if (std::find(modes.begin(), modes.end(), m) == modes.end()) modes.push_back(m);
  };
  for (const Op& op : r.workload.graph.ops) {
    if (op.flops <= 0) continue;
    if (op.tensor_mode == TensorMode::fp16_acc32 || op.tensor_mode == TensorMode::fp16_acc16) {
      add_mode(TensorMode::fp16_acc16);
      add_mode(TensorMode::fp16_acc32);
    }
    add_mode(op.tensor_mode);
  }
  std::sort(modes.begin(), modes.end(), [](auto a, auto b) {
    if (!a || !b) return static_cast<bool>(a) && !b;
    return *a < *b;
  });

  std::ostringstream data, labels;
  double ai_lo = 1e9, ai_hi = 0, perf_lo = 1e9, perf_hi = 0;
  struct Roof {
    double peak_tflops;
    std::string label;
    int dash;
  };
  std::vector<std::string> plots;
  int label_no = 0;
  for (std::size_t c = 0; c < cards.size(); ++c) {
    const Gpu& g = *cards[c];
    WorkloadPrediction p = predict_or_throw(e, g, r);
    const double dram_tb_s = memory_bandwidth_gb_s(g.spec) / 1e3;
    const double l2_tb_s = l2_bandwidth_gb_s(g) / 1e3;
    std::vector<Roof> roofs;
    int dash = 1;
    for (auto m : modes) {
      std::optional<double> peak = m ? tensor_peak_tflops(g, *m) : std::optional<double>(fp32_peak_tflops(g.spec));
      if (peak && *peak > 0) roofs.push_back({*peak, mode_label(m), dash});
      ++dash;
    }
    // Op classes: arithmetic intensity over DRAM bytes, achieved rate, share of the step.
    data << "$ops" << c << " << EOD\n";
    for (const auto& cl : p.step.classes) {
      if (cl.flops <= 0 || cl.dram_bytes <= 0 || cl.gpu_s <= 0) continue;
      double ai = cl.flops / cl.dram_bytes, perf = cl.flops / cl.gpu_s / 1e12, share = cl.gpu_s / p.step.seconds;
      ai_lo = std::min(ai_lo, ai);
      ai_hi = std::max(ai_hi, ai);
      perf_lo = std::min(perf_lo, perf);
      perf_hi = std::max(perf_hi, perf);
      data << num(ai) << " " << num(perf) << " " << num(0.8 + 6.0 * std::sqrt(share)) << "\n";
      // The first card's points are named (the others sit at the same intensities).
      if (c == 0) {
        ++label_no;
        labels << "set label " << label_no << " "
               << gp_quote(std::string(to_string(cl.op_class)) + " " + format_sig(100 * share, 2) + "%") << " at "
               << num(ai) << "," << num(perf) << " left offset 1.4," << (label_no % 2 ? "0.7" : "-0.9")
               << " font \",10\" tc rgb \"#333333\" front\n";
      }
    }
    data << "EOD\n";
    double top = 0;
    for (const auto& roof : roofs) top = std::max(top, roof.peak_tflops);
    perf_hi = std::max(perf_hi, top);
    ai_hi = std::max(ai_hi, top / dram_tb_s);
    // The DRAM slope up to the highest roof, then each compute roof from its ridge point.
    data << "$dram" << c << " << EOD\n1e-3 " << num(1e-3 * dram_tb_s) << "\n"
         << num(top / dram_tb_s) << " " << num(top) << "\nEOD\n";
    plots.push_back("$dram" + std::to_string(c) + " using 1:2 with lines lw 2.5 dt 1 lc rgb \"" + colour(c) +
                    "\" title " + gp_quote(short_name(g) + ": DRAM " + format_sig(dram_tb_s, 3) + " TB/s"));
    for (const auto& roof : roofs) {
      double ridge = roof.peak_tflops / dram_tb_s;
      data << "$roof" << c << "_" << roof.dash << " << EOD\n"
           << num(ridge) << " " << num(roof.peak_tflops) << "\n"
           << "1e6 " << num(roof.peak_tflops) << "\nEOD\n";
      plots.push_back("$roof" + std::to_string(c) + "_" + std::to_string(roof.dash) +
                      " using 1:2 with lines lw 2.5 dt " + std::to_string(roof.dash) + " lc rgb \"" + colour(c) +
                      "\" title " +
                      gp_quote(short_name(g) + ": " + roof.label + " " + format_sig(roof.peak_tflops, 3) + " TFLOP/s"));
    }
    // The L2 slope, up to the card's highest roof.
    data << "$l2_" << c << " << EOD\n1e-3 " << num(1e-3 * l2_tb_s) << "\n"
         << num(top / l2_tb_s) << " " << num(top) << "\nEOD\n";
    plots.push_back("$l2_" + std::to_string(c) + " using 1:2 with lines lw 1.5 dt 4 lc rgb \"" + colour(c) +
                    "\" title " + gp_quote(short_name(g) + ": L2 " + format_sig(l2_tb_s, 3) + " TB/s"));
    plots.push_back("$ops" + std::to_string(c) + " using 1:2:3 with points pt 7 ps variable lc rgb \"" + colour(c) +
                    "\" title " +
                    gp_quote(short_name(g) + ": op classes (" + format_sig(p.value, 3) + " " + p.unit + ")"));
  }
  if (ai_lo > ai_hi) throw UsageError("the workload has no op with FLOPs and DRAM traffic to place");
  const double x_lo = std::pow(10.0, std::floor(std::log10(ai_lo / 2)));
  const double x_hi = std::pow(10.0, std::ceil(std::log10(ai_hi * 3)));
  const double y_lo = std::pow(10.0, std::floor(std::log10(std::max(perf_lo / 3, 1e-4))));
  const double y_hi = std::pow(10.0, std::ceil(std::log10(perf_hi * 2.5)));

  std::ostringstream gp;
  gp << preamble() << data.str() << "set logscale xy 10\n"
     << "set xrange [" << num(x_lo) << ":" << num(x_hi) << "]\nset yrange [" << num(y_lo) << ":" << num(y_hi) << "]\n"
     << "set format x \"%g\"\nset format y \"%g\"\n"
     << "set xlabel \"arithmetic intensity (FLOP per byte of DRAM traffic)\"\n"
     << "set ylabel \"throughput (TFLOP/s)\"\n"
     << "set title " << gp_quote("Roofline: " + r.model->id + " (" + r.scenario_text + ") under " + r.stack->id) << "\n"
     << "set label 100 "
     << gp_quote(
            "Lines: datasheet DRAM slope, compute roofs (solid, dashed, dotted) and L2 slope (dash-dot). Dots: the "
            "model's "
            "op classes, area ~ share of the step time. Parameters: " +
            calibration_label(e))
     << " at graph 0, graph -0.14 font \",9\" tc rgb \"#555555\"\n"
     << labels.str() << "set key outside right top vertical Left reverse spacing 1.1 font \",10\" samplen 2.5\n"
     << "set bmargin 6\n"
     << "plot ";
  for (std::size_t i = 0; i < plots.size(); ++i) gp << (i ? ", \\\n  " : "") << plots[i];
  gp << "\n";
  render_chart(gp.str(), out, {1400, 720}, ctx.err);
}

int roofline(const std::vector<std::string>& args, Context& ctx, const CommandSpec& self) {
  return run_card_plot(args, ctx, self, draw_roofline);
}

// ---------------------------------------------------------------- breakdown

void draw_breakdown(const CardPlot& plot, Context& ctx) {
  const auto& [out, e, r, cards] = plot;

  std::ostringstream data;
  data << "$d << EOD\n";
  double top = 0;
  std::string unit;
  for (const Gpu* g : cards) {
    WorkloadPrediction p = predict_or_throw(e, *g, r);
    const StepPrediction& s = p.step;
    unit = p.unit;
    top = std::max({top, s.seconds * 1e3, s.host_s * 1e3});
    data << gp_quote(short_name(*g)) << " " << num(s.compute_s * 1e3) << " " << num(s.memory_s * 1e3) << " "
         << num(s.latency_s * 1e3) << " " << num(s.idle_s * 1e3) << " " << num(s.seconds * 1e3) << " "
         << gp_quote(format_sig(p.value, 3) + " " + p.unit) << " " << num(s.host_s * 1e3) << "\n";
  }
  data << "EOD\n";
  std::ostringstream gp;
  gp << preamble() << data.str() << "set style data histograms\nset style histogram rowstacked\n"
     << "set style fill solid 0.9 border rgb \"#333333\"\nset boxwidth 0.7\n"
     << "set grid noxtics nomxtics nomytics\n"
     << "set yrange [0:" << num(top * 1.18) << "]\n"
     << "set ylabel \"time per step (ms)\"\nset xlabel \"card (label: predicted " << unit << ")\"\n"
     << "set xtics rotate by -30 left\n"
     << "set title "
     << gp_quote("Where the step goes: " + r.model->id + " (" + r.scenario_text + ") under " + r.stack->id) << "\n"
     << "set key outside right top vertical Left reverse font \",11\"\n"
     << "plot $d using 2:xtic(1) title \"compute-bound GPU time\" lc rgb \"" << colour(0) << "\", \\\n"
     << "  '' using 3 title \"memory-bound GPU time\" lc rgb \"" << colour(1) << "\", \\\n"
     << "  '' using 4 title \"latency-bound GPU time (per-kernel)\" lc rgb \"" << colour(2) << "\", \\\n"
     << "  '' using 5 title \"GPU idle, waiting for the host\" lc rgb \"" << colour(7) << "\", \\\n"
     << "  '' using 0:8 with points pt 9 ps 2 lc rgb \"" << colour(5)
     << "\" title \"host time to issue the step's kernels\", \\\n"
     << "  '' using 0:6:7 with labels offset 0,1 font \",10\" notitle\n";
  render_chart(gp.str(), out, {std::max(1100, 130 * static_cast<int>(cards.size()) + 650), 620}, ctx.err);
}

int breakdown(const std::vector<std::string>& args, Context& ctx, const CommandSpec& self) {
  return run_card_plot(args, ctx, self, draw_breakdown);
}

// ---------------------------------------------------------------- scaling

std::string set_title(const std::string& id) {
  static const std::map<std::string, std::string> titles = {{"survey-sd512", "Stable Diffusion 512x512"},
                                                            {"survey-sd-hires", "SD hires pass at 2048x1152"},
                                                            {"survey-llama13b-4bit", "LLaMA-13B 4-bit decode"}};
  auto it = titles.find(id);
  return it == titles.end() ? id : it->second;
}

// "1.3x" over a bar; the last (largest) bar of a panel gets the survey's two decimals: "1.33x".
std::string ratio_label(double r, bool last) {
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(last ? 2 : 1);
  s << r << "x";
  return s.str();
}

int scaling(const std::vector<std::string>& args, Context& ctx, const CommandSpec& self) {
  po::options_description own("Options");
  own.add_options()("measurements",
                    po::value<std::vector<std::string>>()->multitoken()->default_value(
                        {"survey-sd512", "survey-sd-hires", "survey-llama13b-4bit"}, "the three survey tables"),
                    "measurement sets (files or ids of specs/measurements), one panel each")(
      "reference", po::value<std::string>()->default_value("rtx-3060-12gb"), "card the ratios are relative to")(
      "no-loo", po::bool_switch(), "skip the leave-one-card-out refits (faster; no LOO points)")(
      "out", po::value<std::string>()->required(), "chart file: .svg, .png or .pdf (written atomically)");
  add_calibration_option(own);
  auto parsed = parse_command_args(args, self, own, {}, ctx, false);
  if (!parsed) return 0;
  const auto& vm = parsed->vm;
  const fs::path out = vm["out"].as<std::string>();
  chart_format_of(out);
  Engine e = load_engine(ctx.specs_dir, vm["calibration"].as<std::string>());
  const auto files = vm["measurements"].as<std::vector<std::string>>();
  if (files.size() > 4) throw UsageError("--measurements: at most 4 sets fit one chart");
  PreparedSets sets = prepare_measurements(e, files);
  std::vector<fs::path> inputs = engine_inputs(e);
  for (const auto& s : sets.sets) inputs.push_back(s.path);
  refuse_overwriting_inputs(out, inputs);
  const std::string ref = vm["reference"].as<std::string>();
  require_gpu(e.catalog, ref);

  // Leave-one-card-out: refit the calibration's own measurement sets without each card.
  std::map<std::string, ParamSet> loo;
  if (!vm["no-loo"].as<bool>() && e.calibration && !e.calibration->measurements.empty()) {
    PreparedSets fit_sets = prepare_measurements(e, e.calibration->measurements);
    for (const auto& p : sets.points) {
      const std::string card = p.gpu->spec.id;
      if (loo.count(card)) continue;
      std::vector<bool> use(fit_sets.points.size(), true);
      for (std::size_t j = 0; j < fit_sets.points.size(); ++j)
        if (fit_sets.points[j].gpu->spec.id == card) use[j] = false;
      if (ctx.err) *ctx.err << "gpuperf plot scaling: leave-one-out refit without " << card << "\n";
      loo[card] = fit_parameters(fit_sets.points, e.params, use, 0).params;
    }
  }
  const bool with_interval = e.calibration && !e.calibration->covariance_names.empty();

  std::ostringstream data;
  double ratio_top = 1;
  struct Panel {
    std::string title, unit;
    std::size_t rows = 0;
    double top = 0;
    double ref_measured = kNaN;
  };
  std::vector<Panel> panels;
  for (std::size_t s = 0; s < sets.sets.size(); ++s) {
    const std::string& id = sets.sets[s].id;
    std::vector<const PreparedPoint*> pts;
    for (const auto& p : sets.points)
      if (p.set_id == id) pts.push_back(&p);
    std::stable_sort(pts.begin(), pts.end(), [](auto a, auto b) { return a->measured < b->measured; });
    Panel panel;
    panel.title = set_title(id);
    panel.unit = sets.sets[s].points.empty() ? "" : sets.sets[s].points[0].metric;
    double ref_meas = kNaN, ref_pred = kNaN;
    for (const auto* p : pts)
      if (p->gpu->spec.id == ref) {
        ref_meas = p->measured;
        ref_pred = std::exp(log_prediction(*p, e.params));
      }
    if (!std::isfinite(ref_meas))
      throw UsageError("--reference " + ref + " was not measured in " + id + " (pick a card of every set)");
    panel.ref_measured = ref_meas;
    data << "$s" << s << " << EOD\n";
    for (const auto* p : pts) {
      double pred = std::exp(log_prediction(*p, e.params));
      auto it = loo.find(p->gpu->spec.id);
      double lpred = it == loo.end() ? kNaN : std::exp(log_prediction(*p, it->second));
      double lo = kNaN, hi = kNaN;
      if (with_interval)
        std::tie(lo, hi) =
            prediction_interval95(*p, e.params, e.calibration->covariance_names, e.covariance(), e.blocks());
      panel.top =
          std::max({panel.top, p->measured, pred, std::isfinite(hi) ? hi : 0.0, std::isfinite(lpred) ? lpred : 0.0});
      ratio_top = std::max({ratio_top, p->measured / ref_meas, pred / ref_pred});
      data << gp_quote(short_name(*p->gpu)) << " " << num(p->measured) << " " << num(pred) << " " << num(lo) << " "
           << num(hi) << " " << num(lpred) << " " << num(p->measured / ref_meas) << " " << num(pred / ref_pred) << " "
           << gp_quote(ratio_label(p->measured / ref_meas, p == pts.back())) << "\n";
      ++panel.rows;
    }
    data << "EOD\n";
    panels.push_back(panel);
  }

  const std::size_t n = panels.size();
  std::ostringstream gp;
  gp << preamble() << data.str() << "set multiplot layout 2," << n << " title "
     << gp_quote("Measured vs predicted per card, and the ratio to " + short_name(require_gpu(e.catalog, ref)) +
                 " (parameters: " + calibration_label(e) + ")")
     << " font \",14\"\n"
     << "set style fill solid 0.85 border rgb \"#333333\"\nset boxwidth 0.6\nset grid noxtics nomxtics nomytics\n"
     << "set xtics rotate by -40 left font \",10\"\nset key inside left top Left reverse font \",10\" samplen 1.5\n"
     << "set bmargin 5.5\n";
  for (std::size_t s = 0; s < n; ++s) {
    const Panel& p = panels[s];
    gp << "set title " << gp_quote(p.title) << "\nset ylabel " << gp_quote("throughput (" + p.unit + ")") << "\n"
       << "set xrange [-0.6:" << num(static_cast<double>(p.rows) - 0.4) << "]\nset yrange [0:" << num(p.top * 1.25)
       << "]\n"
       << "plot $s" << s << " using 0:2:xtic(1) with boxes lc rgb \"" << colour(4)
       << "\" title \"measured (survey)\", \\\n"
       << "  '' using 0:3:4:5 with yerrorbars pt 7 ps 1.1 lw 1.5 lc rgb \"" << colour(0) << "\" title "
       << gp_quote(with_interval ? "predicted, 95% interval" : "predicted");
    if (!loo.empty())
      gp << ", \\\n  '' using ($0+0.22):6 with points pt 9 ps 1.3 lc rgb \"" << colour(5)
         << "\" title \"leave-one-card-out prediction\"";
    gp << "\n";
  }
  for (std::size_t s = 0; s < n; ++s) {
    const Panel& p = panels[s];
    gp << "set title " << gp_quote(p.title + ": ratio to the reference") << "\n"
       << "set ylabel \"ratio to the reference card (x)\"\n"
       << "set xrange [-0.6:" << num(static_cast<double>(p.rows) - 0.4) << "]\nset yrange [0:" << num(ratio_top * 1.2)
       << "]\n"
       << "plot $s" << s << " using 0:7:xtic(1) with boxes lc rgb \"" << colour(4)
       << "\" title \"measured ratio\", \\\n"
       << "  '' using 0:8 with points pt 7 ps 1.1 lc rgb \"" << colour(0) << "\" title \"predicted ratio\", \\\n"
       << "  '' using 0:7:9 with labels offset 0,0.8 font \",9\" notitle, \\\n"
       << "  1 with lines dt 2 lc rgb \"#666666\" notitle\n";
  }
  gp << "unset multiplot\n";
  render_chart(gp.str(), out, {std::max(1100, 560 * static_cast<int>(n)), 900}, ctx.err);
  return 0;
}

// ---------------------------------------------------------------- value

int value(const std::vector<std::string>& args, Context& ctx, const CommandSpec& self) {
  po::options_description own("Options");
  own.add_options()("scenarios", po::value<std::string>()->required(), "what-if scenario file (specs/scenarios/)")(
      "out", po::value<std::string>()->required(), "chart file: .svg, .png or .pdf (written atomically)");
  add_calibration_option(own);
  po::positional_options_description pos;
  pos.add("scenarios", 1);
  auto parsed = parse_command_args(args, self, own, pos, ctx, false);
  if (!parsed) return 0;
  const auto& vm = parsed->vm;
  const fs::path out = vm["out"].as<std::string>();
  chart_format_of(out);
  Engine e = load_engine(ctx.specs_dir, vm["calibration"].as<std::string>());
  const fs::path scenario_path = vm["scenarios"].as<std::string>();
  std::vector<fs::path> inputs = engine_inputs(e);
  inputs.push_back(scenario_path);
  refuse_overwriting_inputs(out, inputs);
  WhatIfScenario sc = io::load_whatif_file(scenario_path, e.catalog, e.models, e.stacks);

  // The model's values for every entry, as `gpuperf whatif` computes them (hypothetical cards and
  // several cards of one kind included).
  WhatIfInputs model(e, sc);
  std::vector<CardInputs> card_inputs = model.inputs(e.params);
  std::string error;
  std::vector<CardResult> results = evaluate_whatif(sc, card_inputs, error);
  if (!error.empty()) throw UsageError(error);

  // An entry's name on the chart: the card's short name, or the scenario's own label ("2x rtx-3060-12gb").
  auto entry_name = [&](const CardResult& r) {
    return r.label.empty() || r.label == r.gpu_id ? short_name(model.gpu(r.gpu_id)) : r.label;
  };
  std::string reference_name = sc.reference;
  for (const auto& r : results)
    if (r.label == sc.reference) reference_name = entry_name(r);
  // The Pareto front of `gpuperf whatif` is over the purchase price, so that is the x axis; the rank
  // (by merit per money: price plus energy, when the scenario has a power cost) goes in the labels.
  const bool energy = sc.power.has_value();
  double x_lo = 1e300, x_hi = 0, y_hi = 0, ref_merit_per_price = kNaN;
  std::vector<std::string> excluded;
  std::ostringstream front, rest;
  std::vector<const CardResult*> shown, pareto;
  for (const auto& r : results) {
    if (r.excluded) {
      excluded.push_back(r.label + " (" + r.reason + ")");
      continue;
    }
    if (r.label == sc.reference) ref_merit_per_price = r.merit / r.price;
    x_lo = std::min(x_lo, r.price);
    x_hi = std::max(x_hi, r.price);
    y_hi = std::max(y_hi, r.merit);
    (r.pareto ? front : rest) << num(r.price) << " " << num(r.merit) << "\n";
    shown.push_back(&r);
    if (r.pareto) pareto.push_back(&r);
  }
  if (pareto.empty()) throw UsageError("no card of " + sc.id + " could run every workload");
  std::sort(pareto.begin(), pareto.end(), [](auto a, auto b) { return a->price < b->price; });
  std::ostringstream steps;
  for (const auto* r : pareto) steps << num(r->price) << " " << num(r->merit) << "\n";

  const bool log_x = x_hi / x_lo > 20;
  const double ax_lo = log_x ? x_lo / 1.3 : std::max(0.0, x_lo - 0.12 * x_hi);
  const double ax_hi = x_hi * (log_x ? 1.3 : 1.06);
  const double turn = log_x ? std::pow(ax_lo, 0.25) * std::pow(ax_hi, 0.75) : ax_lo + 0.75 * (ax_hi - ax_lo);
  // Names beside the points: to the right, except in the last quarter of the axis (no room there).
  std::ostringstream labels;
  int label_no = 10;
  for (const auto* r : shown) {
    const bool left_half = r->price < turn;
    labels << "set label " << ++label_no << " " << gp_quote(entry_name(*r) + " #" + std::to_string(r->rank)) << " at "
           << num(r->price) << "," << num(r->merit) << (left_half ? " left offset 0.9," : " right offset -0.9,")
           << (r->pareto ? "0.6" : "-0.6") << " font \",10\" tc rgb \"" << (r->pareto ? "#000000" : "#555555")
           << "\"\n";
  }
  std::ostringstream gp;
  gp << preamble() << "$front << EOD\n"
     << front.str() << "EOD\n$rest << EOD\n"
     << rest.str() << "EOD\n$steps << EOD\n"
     << steps.str() << "EOD\n"
     << labels.str() << (log_x ? "set logscale x\n" : "") << "set xrange [" << num(ax_lo) << ":" << num(ax_hi)
     << "]\nset yrange [0:" << num(y_hi * 1.15) << "]\n"
     << "set xlabel " << gp_quote("purchase price (" + sc.currency + ")") << "\n"
     << "set ylabel " << gp_quote("merit (weighted geometric mean of performance, " + reference_name + " = 1)")
     << "\nset title "
     << gp_quote("Price vs performance: " + sc.id + " (a mix of " + std::to_string(sc.workloads.size()) + " workloads)")
     << "\nset key inside left top Left reverse opaque box lc rgb \"#bbbbbb\" font \",11\"\n";
  std::string note = "#n: rank by merit per " + sc.currency +
                     (energy ? " of price + " + format_sig(sc.power->years, 3) + "-year energy cost" : " of price") +
                     ". Pareto front over the purchase price, as gpuperf whatif.";
  if (!excluded.empty()) {
    note += " Left out (cannot run every workload): ";
    for (std::size_t i = 0; i < excluded.size(); ++i) note += (i ? ", " : "") + excluded[i];
  }
  gp << "set label 1 " << gp_quote(note) << " at graph 0, graph -0.13 font \",9\" tc rgb \"#555555\"\n"
     << "set bmargin 5.5\n";
  gp << "plot $steps using 1:2 with steps lw 2 lc rgb \"" << colour(0) << "\" title \"Pareto front\", \\\n";
  if (!energy)
    gp << "  " << num(ref_merit_per_price) << "*x with lines dt 2 lw 1.5 lc rgb \"#666666\" title "
       << gp_quote("same merit per " + sc.currency + " as " + reference_name) << ", \\\n";
  gp << "  $front using 1:2 with points pt 7 ps 1.6 lc rgb \"" << colour(0) << "\" title \"on the Pareto front\", \\\n"
     << "  $rest using 1:2 with points pt 5 ps 1.3 lc rgb \"" << colour(1) << "\" title \"dominated\"\n";
  render_chart(gp.str(), out, {1300, 720}, ctx.err);
  return 0;
}

}  // namespace

std::vector<CommandSpec> plot_commands() {
  std::vector<CommandSpec> cmds;
  auto add = [&](std::string name, std::string usage, std::string summary, CommandFn fn) {
    cmds.push_back(make_command(std::move(name), std::move(usage), std::move(summary), fn));
  };
  add("plot roofline", "gpuperf plot roofline --gpu ID [ID...] --model ID [scenario options] --out FILE.svg|png|pdf",
      "Chart: each card's roofline (compute roofs, DRAM and L2 slopes) with the workload's op classes placed.",
      roofline);
  add("plot scaling", "gpuperf plot scaling [--measurements FILE|ID...] [--reference ID] --out FILE.svg|png|pdf",
      "Chart: measured vs predicted (95% interval, leave-one-out) per card and the ratio to a reference.", scaling);
  add("plot breakdown", "gpuperf plot breakdown --gpu ID [ID...] --model ID [scenario options] --out FILE.svg|png|pdf",
      "Chart: stacked compute / memory / latency / waiting-for-host time per step for each card.", breakdown);
  add("plot value", "gpuperf plot value SCENARIOS.yaml --out FILE.svg|png|pdf",
      "Chart: merit against price (+ energy) per card with the Pareto front of a what-if scenario.", value);
  return cmds;
}

}  // namespace gpuperf::cli
