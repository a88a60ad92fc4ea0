// `gpuperf whatif SCENARIOS.yaml`: rankings by value, Pareto front and break-even prices.
#include <cmath>
#include <limits>

#include "atomic_file.hpp"
#include "engine.hpp"
#include "gpuperf/io/whatif_loader.hpp"
#include "gpuperf/units.hpp"

namespace gpuperf::cli {

namespace {

int whatif(const std::vector<std::string>& args, Context& ctx, const CommandSpec& self) {
  po::options_description own("Options");
  own.add_options()("scenarios", po::value<std::string>()->required(), "what-if scenario file (specs/scenarios/)")(
      "samples", po::value<int>()->default_value(200),
      "Monte Carlo draws of the calibrated parameters for P(beats the reference); 0 = none");
  add_calibration_option(own);
  po::positional_options_description pos;
  pos.add("scenarios", 1);
  auto parsed = parse_command_args(args, self, own, pos, ctx);
  if (!parsed) return 0;
  const auto& vm = parsed->vm;
  Engine e = load_engine(ctx.specs_dir, vm["calibration"].as<std::string>());
  WhatIfScenario sc = io::load_whatif_file(vm["scenarios"].as<std::string>(), e.catalog, e.models, e.stacks);

  // Each workload's graph is built once; each card's prediction once per workload.
  std::vector<Workload> graphs;
  for (const auto& w : sc.workloads) graphs.push_back(make_workload(e.model(w.model_id), w.scenario, w.sd_pass));
  auto inputs_under = [&](const ParamSet& params) {
    std::vector<CardInputs> inputs;
    for (const auto& c : sc.cards) {
      const Gpu& g = require_gpu(e.catalog, c.gpu_id);
      CardInputs in;
      in.gpu_id = c.gpu_id;
      in.price = c.price;
      in.tdp_w = g.spec.tdp_w;
      for (std::size_t w = 0; w < sc.workloads.size(); ++w) {
        const WhatIfWorkload& wl = sc.workloads[w];
        const ModelSpec& m = e.model(wl.model_id);
        MemoryFootprint fp = m.sd() ? memory_footprint(*m.sd(), std::get<SdScenario>(wl.scenario))
                                    : memory_footprint(*m.llama(), std::get<LlamaScenario>(wl.scenario));
        WorkloadPrediction p = predict_workload(g, graphs[w], params, e.stack(wl.stack_id));
        std::string no_room;
        if (!p.error.empty()) {
          no_room = p.error;
        } else if (fp.total() > units::gib_to_bytes(g.spec.memory.capacity_gib)) {
          no_room = "needs " + format_sig(units::bytes_to_gib(fp.total()), 3) + " GiB, has " +
                    format_sig(g.spec.memory.capacity_gib, 3) + " GiB";
        }
        in.values.push_back(p.error.empty() ? p.value : 0.0);
        in.no_room.push_back(no_room);
      }
      inputs.push_back(std::move(in));
    }
    return inputs;
  };
  std::string error;
  std::vector<CardResult> results = evaluate_whatif(sc, inputs_under(e.params), error);
  if (!error.empty()) throw UsageError(error);

  // P(a card gives more merit per money than the reference), propagated from the calibration's
  // parameter uncertainty by Monte Carlo (fixed seed: the same answer every run).
  std::vector<double> p_beats(results.size(), std::numeric_limits<double>::quiet_NaN());
  const int samples = vm["samples"].as<int>();
  if (samples < 0 || samples > 100000) throw UsageError("--samples must be in [0, 100000]");
  if (samples > 0 && e.calibration && !e.calibration->covariance_names.empty()) {
    if (ctx.err) *ctx.err << "gpuperf whatif: " << samples << " Monte Carlo draws of the calibrated parameters\n";
    auto draws = sample_parameters(e.params, e.calibration->covariance_names, e.covariance(), samples, 20230126u);
    std::vector<int> wins(results.size(), 0);
    int valid = 0;
    for (const auto& params : draws) {
      std::string err;
      auto rs = evaluate_whatif(sc, inputs_under(params), err);
      if (!err.empty()) continue;
      ++valid;
      double ref = 0;
      for (const auto& r : rs)
        if (r.gpu_id == sc.reference) ref = r.merit_per_kilo;
      for (std::size_t i = 0; i < rs.size(); ++i) wins[i] += (!rs[i].excluded && rs[i].merit_per_kilo > ref) ? 1 : 0;
    }
    for (std::size_t i = 0; i < results.size(); ++i)
      if (valid > 0) p_beats[i] = static_cast<double>(wins[i]) / valid;
  }

  Table t;
  t.columns = {{"rank", "rank"}, {"gpu", "card"}, {"price", "price " + sc.currency}};
  if (sc.power) t.columns.push_back({"energy_cost", "energy " + sc.currency});
  for (std::size_t w = 0; w < sc.workloads.size(); ++w)
    t.columns.push_back({sc.workloads[w].name, sc.workloads[w].name + " " + graphs[w].unit});
  t.columns.insert(t.columns.end(), {{"merit", "merit vs " + sc.reference},
                                     {"merit_per_kilo", "merit per 1000 " + sc.currency},
                                     {"merit_per_kw", "merit per kW"},
                                     {"pareto", "Pareto"},
                                     {"break_even_price", "break-even price"},
                                     {"p_beats_reference", "P(better value than " + sc.reference + ")"},
                                     {"excluded", "excluded because"}});
  std::vector<const CardResult*> order;
  for (const auto& r : results) order.push_back(&r);
  auto p_of = [&](const CardResult* r) { return p_beats[static_cast<std::size_t>(r - results.data())]; };
  std::stable_sort(order.begin(), order.end(), [](const CardResult* a, const CardResult* b) {
    if (a->excluded != b->excluded) return !a->excluded;
    return a->rank < b->rank;
  });
  for (const CardResult* r : order) {
    std::vector<Cell> row;
    if (r->excluded) {
      row.emplace_back(std::string("-"));
    } else {
      row.emplace_back(r->rank);
    }
    row.emplace_back(r->gpu_id);
    row.emplace_back(r->price, 0);
    if (sc.power) row.emplace_back(r->energy_cost, 0);
    for (double v : r->values) row.emplace_back(v, 2);
    if (r->excluded) {
      for (int k = 0; k < 6; ++k) row.emplace_back(std::string("-"));
      row.emplace_back(r->reason);
    } else {
      row.emplace_back(r->merit, 3);
      row.emplace_back(r->merit_per_kilo, 3);
      row.emplace_back(r->merit_per_kw, 3);
      row.emplace_back(std::string(r->pareto ? "yes" : "no"));
      row.emplace_back(r->break_even_price, 0);
      row.emplace_back(p_of(r), 2);
      row.emplace_back(std::string());
    }
    t.add(std::move(row));
  }
  if (parsed->format == Format::json) {
    Json j = Json::object();
    j.set("scenario", sc.id);
    j.set("reference", sc.reference);
    j.set("currency", sc.currency);
    j.set("calibration", e.calibration_path ? e.calibration_path->filename().string() : std::string("priors"));
    j.set("cards", t.to_json());
    ctx.out = j.dump();
    return 0;
  }
  t.footnotes = {sc.description,
                 "merit: weighted geometric mean of predicted performance relative to " + sc.reference +
                     "; rank by merit per money (price" + std::string(sc.power ? " + energy" : "") +
                     "); break-even price: the price at which a card's merit per money equals " + sc.reference + "'s.",
                 "P(better value): share of " + std::to_string(samples) +
                     " Monte Carlo draws of the calibrated parameters (fixed seed) in which the card's merit per "
                     "money beats the reference's; '-' without a calibration covariance."};
  ctx.out = t.render(parsed->format);
  return 0;
}

}  // namespace

std::vector<CommandSpec> whatif_commands() {
  std::vector<CommandSpec> cmds;
  cmds.push_back({"whatif", "gpuperf whatif SCENARIOS.yaml [--format table|csv|json|md]",
                  "Rank cards for a workload mix at given prices: value per money, Pareto front, break-even prices.",
                  nullptr});
  cmds.back().run = [spec = cmds.back()](const std::vector<std::string>& a, Context& c) { return whatif(a, c, spec); };
  return cmds;
}

}  // namespace gpuperf::cli
