// `gpuperf whatif SCENARIOS.yaml`: rankings by value, Pareto front and break-even prices.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "atomic_file.hpp"
#include "engine.hpp"
#include "gpuperf/io/whatif_loader.hpp"
#include "gpuperf/units.hpp"
#include "progress.hpp"
#include "whatif_inputs.hpp"

namespace gpuperf::cli {

namespace {

std::string view_names() { return "ranking|compare|sweep|grid"; }

int whatif(const std::vector<std::string>& args, Context& ctx, const CommandSpec& self) {
  po::options_description own("Options");
  own.add_options()("scenarios", po::value<std::string>()->required(), "what-if scenario file (specs/scenarios/)")(
      "samples", po::value<int>()->default_value(200),
      "Monte Carlo draws of the calibrated parameters for P(beats the reference) and the compared pairs; 0 = none")(
      "max-rows", po::value<int>()->default_value(1000), "price sweeps: grid points listed one by one (at most)")(
      "view", po::value<std::string>()->default_value("ranking"),
      ("csv: which table (" + view_names() + "); table/md show all, json holds all").c_str());
  add_calibration_option(own);
  po::positional_options_description pos;
  pos.add("scenarios", 1);
  auto parsed = parse_command_args(args, self, own, pos, ctx);
  if (!parsed) return 0;
  const auto& vm = parsed->vm;
  const std::string view = vm["view"].as<std::string>();
  if (view != "ranking" && view != "compare" && view != "sweep" && view != "grid")
    throw UsageError("--view must be one of " + view_names());
  const int samples = vm["samples"].as<int>();
  if (samples < 0 || samples > 100000) throw UsageError("--samples must be in [0, 100000]");
  const int max_rows = vm["max-rows"].as<int>();
  if (max_rows < 0 || max_rows > 10000000) throw UsageError("--max-rows must be in [0, 10000000]");
  Engine e = load_engine(ctx.specs_dir, vm["calibration"].as<std::string>());
  WhatIfScenario sc = io::load_whatif_file(vm["scenarios"].as<std::string>(), e.catalog, e.models, e.stacks);

  WhatIfInputs model(e, sc);
  std::string error;
  std::vector<CardResult> results = evaluate_whatif(sc, model.inputs(e.params), error);
  if (!error.empty()) throw UsageError(error);
  auto index_of = [&](const std::string& label) {
    for (std::size_t i = 0; i < results.size(); ++i)
      if (results[i].label == label) return i;
    return results.size();
  };

  // Probabilities propagated from the calibration's parameter uncertainty by Monte Carlo (fixed seed:
  // the same answer every run): a card's value beating the reference's, and each compared pair.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> p_beats(results.size(), nan);
  std::vector<double> p_value(sc.compare.size(), nan), p_merit(sc.compare.size(), nan);
  const bool mc = samples > 0 && e.calibration && !e.calibration->covariance_names.empty();
  if (mc) {
    auto draws = sample_parameters(e.params, e.calibration->covariance_names, e.covariance(), samples, 20230126u);
    std::vector<int> wins(results.size(), 0), value_wins(sc.compare.size(), 0), merit_wins(sc.compare.size(), 0);
    int valid = 0;
    Progress progress(ctx.err, "gpuperf whatif: Monte Carlo draws");
    for (std::size_t d = 0; d < draws.size(); ++d) {
      progress.update(d, draws.size());
      std::string err;
      auto rs = evaluate_whatif(sc, model.inputs(draws[d]), err);
      if (!err.empty()) continue;
      ++valid;
      const CardResult& ref = rs[index_of(sc.reference)];
      for (std::size_t i = 0; i < rs.size(); ++i)
        wins[i] += (!rs[i].excluded && rs[i].merit_per_kilo > ref.merit_per_kilo) ? 1 : 0;
      for (std::size_t k = 0; k < sc.compare.size(); ++k) {
        const CardResult& a = rs[index_of(sc.compare[k].first)];
        const CardResult& b = rs[index_of(sc.compare[k].second)];
        bool a_in = !a.excluded, b_in = !b.excluded;
        value_wins[k] += (a_in && (!b_in || a.merit_per_kilo > b.merit_per_kilo)) ? 1 : 0;
        merit_wins[k] += (a_in && (!b_in || a.merit > b.merit)) ? 1 : 0;
      }
    }
    progress.update(draws.size(), draws.size());
    if (valid > 0) {
      for (std::size_t i = 0; i < results.size(); ++i) p_beats[i] = static_cast<double>(wins[i]) / valid;
      for (std::size_t k = 0; k < sc.compare.size(); ++k) {
        p_value[k] = static_cast<double>(value_wins[k]) / valid;
        p_merit[k] = static_cast<double>(merit_wins[k]) / valid;
      }
    }
  }

  // Price sweeps: every grid point of the swept entries' prices, ranked (merit does not depend on price).
  std::vector<SweepAxis> axes;
  for (std::size_t i = 0; i < sc.cards.size(); ++i) {
    const WhatIfCard& c = sc.cards[i];
    if (c.price_grid.empty()) continue;
    SweepAxis a;
    a.card = index_of(c.label);
    for (double p : c.price_grid) a.prices.push_back(p * c.count);
    axes.push_back(std::move(a));
  }
  constexpr std::uint64_t kMaxPoints = 1'000'000'000;
  const std::uint64_t points = sweep_size(axes);
  if (!axes.empty() && points > kMaxPoints)
    throw UsageError("the price sweep has more than 1,000,000,000 grid points; use coarser grids");
  SweepResult sweep;
  if (!axes.empty()) {
    Progress progress(ctx.err, "gpuperf whatif: price grid points");
    sweep = sweep_prices(results, axes, static_cast<std::size_t>(max_rows),
                         [&](std::uint64_t done, std::uint64_t total) { progress.update(done, total); });
  }

  // Ranking at the entries' (first) prices.
  Table ranking;
  ranking.columns = {{"rank", "rank"},   {"card", "card"},     {"gpu", "gpu"},
                     {"count", "count"}, {"market", "market"}, {"price", "price " + sc.currency}};
  if (sc.power) ranking.columns.push_back({"energy_cost", "energy " + sc.currency});
  for (std::size_t w = 0; w < sc.workloads.size(); ++w)
    ranking.columns.push_back({sc.workloads[w].name, sc.workloads[w].name + " " + model.unit(w)});
  ranking.columns.insert(ranking.columns.end(), {{"merit", "merit vs " + sc.reference},
                                                 {"merit_per_kilo", "merit per 1000 " + sc.currency},
                                                 {"merit_per_kw", "merit per kW"},
                                                 {"pareto", "Pareto"},
                                                 {"break_even_price", "break-even price"},
                                                 {"p_beats_reference", "P(better value than " + sc.reference + ")"},
                                                 {"excluded", "excluded because"}});
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < results.size(); ++i) order.push_back(i);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (results[a].excluded != results[b].excluded) return !results[a].excluded;
    return results[a].rank < results[b].rank;
  });
  for (std::size_t i : order) {
    const CardResult& r = results[i];
    const WhatIfCard& c = sc.cards[i];
    std::vector<Cell> row;
    if (r.excluded) {
      row.emplace_back(std::string("-"));
    } else {
      row.emplace_back(r.rank);
    }
    row.emplace_back(r.label);
    row.emplace_back(r.gpu_id);
    row.emplace_back(c.count);
    row.emplace_back(c.market);
    row.emplace_back(r.price, 0);
    if (sc.power) row.emplace_back(r.energy_cost, 0);
    for (double v : r.values) row.emplace_back(v, 2);
    if (r.excluded) {
      for (int k = 0; k < 6; ++k) row.emplace_back(std::string("-"));
      row.emplace_back(r.reason);
    } else {
      row.emplace_back(r.merit, 3);
      row.emplace_back(r.merit_per_kilo, 3);
      row.emplace_back(r.merit_per_kw, 3);
      row.emplace_back(std::string(r.pareto ? "yes" : "no"));
      row.emplace_back(r.break_even_price, 0);
      row.emplace_back(p_beats[i], 2);
      row.emplace_back(std::string());
    }
    ranking.add(std::move(row));
  }
  std::string price_note = axes.empty() ? "" : " Swept entries at the first price of their grid.";
  ranking.footnotes = {
      sc.description,
      "merit: weighted geometric mean of predicted performance relative to " + sc.reference +
          "; rank by merit per money (price" + std::string(sc.power ? " + energy" : "") +
          "); break-even price: the price of the entry at which its merit per money equals " + sc.reference + "'s." +
          price_note,
      "Several cards of one kind: SD runs an independent image on each (count x it/s); LLaMA splits its layers "
      "(one card's time per token plus the hand-over per card boundary); memory is per card.",
      mc ? "P(better value): share of " + std::to_string(samples) +
               " Monte Carlo draws of the calibrated parameters (fixed seed) in which the entry's merit per money "
               "beats the reference's."
         : "P(better value): '-' (no calibration covariance or --samples 0)."};

  Table compare;
  compare.columns = {{"a", "A"},
                     {"b", "B"},
                     {"merit_ratio", "merit A / B"},
                     {"value_ratio", "value A / B"},
                     {"p_a_better_value", "P(A better value)"},
                     {"p_a_faster", "P(A faster)"}};
  for (std::size_t k = 0; k < sc.compare.size(); ++k) {
    const CardResult& a = results[index_of(sc.compare[k].first)];
    const CardResult& b = results[index_of(sc.compare[k].second)];
    std::vector<Cell> row{Cell(a.label), Cell(b.label)};
    if (a.excluded || b.excluded) {
      row.emplace_back(std::string("-"));
      row.emplace_back(std::string("-"));
    } else {
      row.emplace_back(a.merit / b.merit, 3);
      row.emplace_back(a.merit_per_kilo / b.merit_per_kilo, 3);
    }
    row.emplace_back(p_value[k], 2);
    row.emplace_back(p_merit[k], 2);
    compare.add(std::move(row));
  }
  compare.footnotes = {
      "value: merit per money at the entries' prices; P(...): share of the Monte Carlo draws "
      "(an excluded entry never wins)."};

  Table summary;
  summary.columns = {{"card", "card"},
                     {"swept", "swept"},
                     {"best_buy_share", "best buy at share of grid points"},
                     {"best_rank", "best rank"},
                     {"worst_rank", "worst rank"}};
  Table grid;
  if (!axes.empty()) {
    for (std::size_t i : order) {
      const CardResult& r = results[i];
      bool swept = !sc.cards[i].price_grid.empty();
      std::vector<Cell> row{Cell(r.label), Cell(std::string(swept ? "yes" : "no"))};
      if (r.excluded) {
        for (int k = 0; k < 3; ++k) row.emplace_back(std::string("-"));
      } else {
        row.emplace_back(static_cast<double>(sweep.per_card[i].best_buy_points) / static_cast<double>(sweep.points), 3);
        row.emplace_back(sweep.per_card[i].best_rank);
        row.emplace_back(sweep.per_card[i].worst_rank);
      }
      summary.add(std::move(row));
    }
    summary.footnotes = {std::to_string(sweep.points) + " grid points over the prices of " +
                         std::to_string(axes.size()) + " swept entries (other entries at their price)."};
    for (const auto& a : axes) {
      const std::string& label = results[a.card].label;
      grid.columns.push_back({"price " + label, "price " + label + " " + sc.currency});
    }
    grid.columns.push_back({"best", "best buy"});
    for (const auto& a : axes)
      grid.columns.push_back({"rank " + results[a.card].label, "rank " + results[a.card].label});
    for (const auto& p : sweep.kept) {
      std::vector<Cell> row;
      for (double v : p.prices) row.emplace_back(v, 0);
      row.emplace_back(p.best < results.size() ? results[p.best].label : std::string("-"));
      for (std::size_t k = 0; k < p.ranks.size(); ++k) {
        if (results[axes[k].card].excluded) {
          row.emplace_back(std::string("-"));
        } else {
          row.emplace_back(p.ranks[k]);
        }
      }
      grid.add(std::move(row));
    }
    if (sweep.kept.size() < sweep.points)
      grid.footnotes = {"the first " + std::to_string(sweep.kept.size()) + " of " + std::to_string(sweep.points) +
                        " grid points (--max-rows)."};
  }

  if (parsed->format == Format::json) {
    Json j = Json::object();
    j.set("scenario", sc.id);
    j.set("reference", sc.reference);
    j.set("currency", sc.currency);
    j.set("market", sc.market);
    j.set("calibration", e.calibration_path ? e.calibration_path->filename().string() : std::string("priors"));
    j.set("monte_carlo_samples", mc ? samples : 0);
    j.set("cards", ranking.to_json());
    j.set("compare", compare.to_json());
    if (!axes.empty()) {
      Json s = Json::object();
      s.set("points", sweep.points);
      s.set("cards", summary.to_json());
      s.set("grid", grid.to_json());
      s.set("grid_complete", sweep.kept.size() == sweep.points);
      j.set("sweep", std::move(s));
    }
    ctx.out = j.dump();
    return 0;
  }
  if (parsed->format == Format::csv) {
    if ((view == "sweep" || view == "grid") && axes.empty())
      throw UsageError("--view " + view + ": the scenario sweeps no price");
    if (view == "compare" && sc.compare.empty()) throw UsageError("--view compare: the scenario compares no pair");
    ctx.out = (view == "ranking"   ? ranking
               : view == "compare" ? compare
               : view == "sweep"   ? summary
                                   : grid)
                  .render(Format::csv);
    return 0;
  }
  const bool md = parsed->format == Format::md;
  auto heading = [&](const std::string& title) { return md ? "## " + title + "\n\n" : title + "\n\n"; };
  std::string out = heading("Ranking: " + sc.id) + ranking.render(parsed->format);
  if (!sc.compare.empty()) out += "\n" + heading("Compared pairs") + compare.render(parsed->format);
  if (!axes.empty()) {
    out += "\n" + heading("Price sweep") + summary.render(parsed->format);
    if (!sweep.kept.empty()) out += "\n" + heading("Grid points") + grid.render(parsed->format);
  }
  ctx.out = out;
  return 0;
}

}  // namespace

std::vector<CommandSpec> whatif_commands() {
  std::vector<CommandSpec> cmds;
  cmds.push_back(make_command(
      "whatif", "gpuperf whatif SCENARIOS.yaml [--samples N] [--max-rows N] [--view V] [--format table|csv|json|md]",
      "Rank cards for a workload mix at given or swept prices: value per money, Pareto front, break-even "
      "prices, P(A beats B).",
      whatif));
  return cmds;
}

}  // namespace gpuperf::cli
