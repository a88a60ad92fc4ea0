// What-if scenarios: merit, ranking, Pareto front, break-even prices, memory exclusion, bad files.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "progress.hpp"

#include "cli_run.hpp"
#include "gpuperf/whatif.hpp"

namespace fs = std::filesystem;
using namespace gpuperf;

namespace {
WhatIfScenario two_workloads() {
  WhatIfScenario sc;
  sc.reference = "ref";
  sc.workloads = {{"a", "m", "s", SdScenario{}, 0, 3.0}, {"b", "m", "s", SdScenario{}, 0, 1.0}};
  return sc;
}
CardInputs card(const char* id, double price, double a, double b, double tdp = 100) {
  return CardInputs{id, price, tdp, {a, b}, {"", ""}, ""};
}
const CardResult& find(const std::vector<CardResult>& rs, const std::string& id) {
  for (const auto& r : rs)
    if (r.gpu_id == id) return r;
  throw std::runtime_error("no " + id);
}
}  // namespace

TEST(WhatIf, BreakEvenSolverMatchesTheClosedForm) {
  // merit / (p + E) = T  =>  p = merit / T - E
  for (double energy : {0.0, 50.0, 400.0}) {
    auto p = break_even_price(2.0, energy, 0.004);
    ASSERT_TRUE(p.has_value());
    EXPECT_NEAR(*p, 2.0 / 0.004 - energy, 1e-6);
  }
}

TEST(WhatIf, NoBreakEvenWhenTheEnergyAloneCostsTooMuch) {
  EXPECT_FALSE(break_even_price(1.0, 1000.0, 0.01).has_value());
}

TEST(WhatIf, MeritIsTheWeightedGeometricMeanOfRatios) {
  std::string error;
  auto rs = evaluate_whatif(two_workloads(), {card("ref", 100, 10, 10), card("x", 200, 20, 40)}, error);
  ASSERT_TRUE(error.empty()) << error;
  EXPECT_NEAR(find(rs, "x").merit, std::pow(2.0, 0.75) * std::pow(4.0, 0.25), 1e-12);
  EXPECT_NEAR(find(rs, "ref").merit, 1.0, 1e-12);
}

TEST(WhatIf, RanksByMeritPerMoneyAndFindsTheParetoFront) {
  std::string error;
  auto rs = evaluate_whatif(
      two_workloads(),
      {card("ref", 100, 10, 10), card("fast", 300, 30, 30), card("worse", 150, 9, 9), card("bargain", 100, 12, 12)},
      error);
  ASSERT_TRUE(error.empty());
  EXPECT_EQ(find(rs, "bargain").rank, 1);
  EXPECT_EQ(find(rs, "worse").rank, 4);
  EXPECT_TRUE(find(rs, "bargain").pareto);
  EXPECT_TRUE(find(rs, "fast").pareto);
  EXPECT_FALSE(find(rs, "ref").pareto);    // bargain: same price, better
  EXPECT_FALSE(find(rs, "worse").pareto);  // dearer and slower than ref
  // "fast" has 3x the merit of ref, so it breaks even at 3x ref's price.
  EXPECT_NEAR(find(rs, "fast").break_even_price, 300.0, 1e-6);
}

TEST(WhatIf, ACardThatCannotHoldAWorkloadIsExcludedNotRanked) {
  std::string error;
  CardInputs small = card("small", 50, 10, 10);
  small.no_room[1] = "needs 40 GiB, has 8 GiB";
  auto rs = evaluate_whatif(two_workloads(), {card("ref", 100, 10, 10), small}, error);
  ASSERT_TRUE(error.empty());
  EXPECT_TRUE(find(rs, "small").excluded);
  EXPECT_EQ(find(rs, "small").rank, 0);
  EXPECT_NE(find(rs, "small").reason.find("needs 40 GiB"), std::string::npos);
}

TEST(WhatIf, PowerCostCountsInTheValue) {
  WhatIfScenario sc = two_workloads();
  sc.power = PowerCost{0.5, 10, 2};  // 0.5 per kWh, 10 h a day, 2 years
  std::string error;
  auto rs = evaluate_whatif(sc, {card("ref", 100, 10, 10, 100), card("hot", 100, 10, 10, 400)}, error);
  EXPECT_NEAR(find(rs, "ref").energy_cost, 0.1 * 10 * 365 * 2 * 0.5, 1e-9);
  EXPECT_LT(find(rs, "hot").merit_per_kilo, find(rs, "ref").merit_per_kilo);
}

TEST(WhatIf, TiedMeritPerMoneySharesTheRank) {
  std::string error;
  auto rs = evaluate_whatif(two_workloads(), {card("ref", 100, 10, 10), card("twin", 100, 10, 10)}, error);
  EXPECT_EQ(find(rs, "ref").rank, 1);
  EXPECT_EQ(find(rs, "twin").rank, 1);
}

TEST(WhatIf, SeveralCardsOfOneKind) {
  // Independent images: count x the throughput.
  EXPECT_DOUBLE_EQ(multi_card_value(10.0, 3, false, 1e-3), 30.0);
  // Layer split: one card's 50 ms per token plus two 1 ms hand-overs.
  EXPECT_NEAR(multi_card_value(20.0, 3, true, 1e-3), 1.0 / 0.052, 1e-12);
  EXPECT_DOUBLE_EQ(multi_card_value(20.0, 1, true, 1e-3), 20.0);
  // Memory: a layer split shares weights and KV cache, not activations; independent images share nothing.
  EXPECT_TRUE(fits_on_cards(20, 4, 1, 13, 2, true));  // 24 / 2 + 1 = 13
  EXPECT_FALSE(fits_on_cards(20, 4, 1, 12.9, 2, true));
  EXPECT_FALSE(fits_on_cards(20, 4, 1, 13, 2, false));
  EXPECT_TRUE(fits_on_cards(20, 4, 1, 25, 1, false));
}

TEST(WhatIf, SweepRanksMatchAFullEvaluationAtEveryGridPoint) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(1.0, 20.0);
  for (int trial = 0; trial < 20; ++trial) {
    WhatIfScenario sc = two_workloads();
    sc.power = PowerCost{0.3, 4, 2};
    std::vector<CardInputs> cards{card("ref", 100, 10, 10)};
    for (int k = 0; k < 6; ++k) {
      std::string id = "c" + std::to_string(k);
      cards.push_back(CardInputs{id, 50 + 40 * u(rng), 50 + 20 * u(rng), {u(rng), u(rng)}, {"", ""}, ""});
    }
    cards[3].no_room[0] = "no room";  // an excluded entry that is also swept
    cards[5].price = cards[2].price;  // ties between fixed entries
    cards[5].values = cards[2].values;
    cards[5].tdp_w = cards[2].tdp_w;
    std::string error;
    auto base = evaluate_whatif(sc, cards, error);
    ASSERT_TRUE(error.empty());
    std::vector<SweepAxis> axes{{1, {60, 90, 120, 400}}, {3, {10, 20}}, {4, {70, 75, 80}}};
    auto sweep = sweep_prices(base, axes, 1000);
    ASSERT_EQ(sweep.points, 24u);
    ASSERT_EQ(sweep.kept.size(), 24u);
    std::vector<SweepCardSummary> expect(cards.size());
    for (const auto& point : sweep.kept) {
      auto at = cards;
      for (std::size_t a = 0; a < axes.size(); ++a) at[axes[a].card].price = point.prices[a];
      auto full = evaluate_whatif(sc, at, error);
      int best_rank = 1 << 30;
      for (std::size_t i = 0; i < full.size(); ++i) {
        if (full[i].excluded) continue;
        best_rank = std::min(best_rank, full[i].rank);
        auto& e = expect[i];
        e.best_buy_points += full[i].rank == 1 ? 1 : 0;
        if (e.best_rank == 0 || full[i].rank < e.best_rank) e.best_rank = full[i].rank;
        e.worst_rank = std::max(e.worst_rank, full[i].rank);
      }
      ASSERT_LT(point.best, full.size());
      EXPECT_EQ(full[point.best].rank, 1);
      for (std::size_t a = 0; a < axes.size(); ++a) {
        if (!full[axes[a].card].excluded) {
          EXPECT_EQ(point.ranks[a], full[axes[a].card].rank);
        }
      }
    }
    for (std::size_t i = 0; i < cards.size(); ++i) {
      EXPECT_EQ(sweep.per_card[i].best_buy_points, expect[i].best_buy_points) << i;
      EXPECT_EQ(sweep.per_card[i].best_rank, expect[i].best_rank) << i;
      EXPECT_EQ(sweep.per_card[i].worst_rank, expect[i].worst_rank) << i;
    }
  }
}

TEST(WhatIf, SweepKeepsAtMostMaxKeptPointsAndReportsProgress) {
  std::string error;
  auto base = evaluate_whatif(two_workloads(), {card("ref", 100, 10, 10), card("x", 100, 12, 12)}, error);
  std::vector<double> prices(300);
  for (std::size_t i = 0; i < prices.size(); ++i) prices[i] = 50.0 + static_cast<double>(i);
  std::uint64_t last_done = 0, calls = 0;
  auto sweep = sweep_prices(base, {{0, prices}, {1, prices}}, 5, [&](std::uint64_t done, std::uint64_t total) {
    EXPECT_EQ(total, 90000u);
    EXPECT_GE(done, last_done);
    last_done = done;
    ++calls;
  });
  EXPECT_EQ(sweep.points, 90000u);
  EXPECT_EQ(sweep.kept.size(), 5u);
  EXPECT_EQ(last_done, 90000u);
  EXPECT_GE(calls, 2u);
  // Grid order: the last axis varies fastest.
  EXPECT_DOUBLE_EQ(sweep.kept[1].prices[0], 50.0);
  EXPECT_DOUBLE_EQ(sweep.kept[1].prices[1], 51.0);
  EXPECT_EQ(sweep_size({{0, prices}, {1, {}}}), 0u);
  std::vector<SweepAxis> huge(8, SweepAxis{0, std::vector<double>(1000000, 1.0)});
  EXPECT_EQ(sweep_size(huge), UINT64_MAX);
}

TEST(WhatIf, ProgressLineOnlyAfterTheDelay) {
  std::ostringstream quiet, loud;
  {
    gpuperf::cli::Progress p(&quiet, "work", 3600.0);
    p.update(1, 2);
  }
  EXPECT_TRUE(quiet.str().empty());
  {
    gpuperf::cli::Progress p(&loud, "work", 0.0);
    p.update(1, 2);
    p.update(2, 2);
  }
  EXPECT_TRUE(gpuperf::testing::contains(loud.str(), "\rwork: 2 of 2 (100%)")) << loud.str();
  EXPECT_EQ(loud.str().back(), '\n');
}

TEST(WhatIf, TheSurveyScenarioRunsFromTheCommandLine) {
  auto r = gpuperf::testing::run_cli(
      {"whatif", (fs::path(GPUPERF_SPECS_DIR) / "scenarios" / "survey-launch-prices.yaml").string(), "--samples", "20",
       "--format", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* key : {"\"cards\"", "\"rank\"", "\"merit_per_kilo\"", "\"pareto\"", "\"break_even_price\"",
                          "\"rtx-4090\"", "\"p_beats_reference\""})
    EXPECT_TRUE(gpuperf::testing::contains(r.out, key)) << key;
}

namespace {
gpuperf::testing::CliResult run_example(const char* name, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"whatif", (fs::path(GPUPERF_SPECS_DIR) / "scenarios" / name).string()};
  if (std::find(extra.begin(), extra.end(), "--samples") == extra.end()) extra.insert(extra.end(), {"--samples", "20"});
  args.insert(args.end(), extra.begin(), extra.end());
  return gpuperf::testing::run_cli(args);
}
}  // namespace

TEST(WhatIf, TheUsedMarketExampleSweepsComparesAndSplitsOverTwoCards) {
  auto r = run_example("used-market-2026.yaml", {"--format", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* key : {"\"sweep\"", "\"grid\"", "\"points\": 11", "\"compare\"", "\"p_a_better_value\"",
                          "\"2x rtx-3060-12gb\"", "\"rtx-4070-ti (street)\"", "\"best_buy_share\""})
    EXPECT_TRUE(gpuperf::testing::contains(r.out, key)) << key;
  auto csv = run_example("used-market-2026.yaml", {"--format", "csv", "--view", "grid"});
  ASSERT_EQ(csv.code, 0) << csv.err;
  EXPECT_EQ(std::count(csv.out.begin(), csv.out.end(), '\n'), 12) << csv.out;  // header + 11 prices
  auto cmp = run_example("used-market-2026.yaml", {"--format", "csv", "--view", "compare"});
  ASSERT_EQ(cmp.code, 0) << cmp.err;
  EXPECT_TRUE(gpuperf::testing::contains(cmp.out, "rtx-3090,rtx-4070-ti (street),")) << cmp.out;
}

TEST(WhatIf, TwoCardsOfOneKindDoubleSdAndKeepLlamaSpeed) {
  auto r = run_example("used-market-2026.yaml", {"--format", "csv", "--samples", "0"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto field = [&](const std::string& label, int column) {
    std::istringstream in(r.out);
    std::string line;
    while (std::getline(in, line)) {
      std::vector<std::string> cells;
      std::stringstream ls(line);
      std::string c;
      while (std::getline(ls, c, ',')) cells.push_back(c);
      if (cells.size() > 2 && cells[1] == label) return std::stod(cells[static_cast<std::size_t>(column)]);
    }
    throw std::runtime_error("no row " + label);
  };
  // columns: rank, card, gpu, count, market, price, energy_cost, llama, sd512, ...
  EXPECT_NEAR(field("2x rtx-3060-12gb", 8), 2 * field("rtx-3060-12gb", 8), 1e-9);
  EXPECT_NEAR(field("2x rtx-3060-12gb", 5), 2 * field("rtx-3060-12gb", 5), 1e-9);
  double one = field("rtx-3060-12gb", 7), two = field("2x rtx-3060-12gb", 7);
  EXPECT_NEAR(1 / two - 1 / one, 30e-6, 1e-9);  // one 30 us hand-over per token
}

TEST(WhatIf, HypotheticalCardsArePredictedFromTheirSpecs) {
  auto r = run_example("hypothetical-cards.yaml", {"--format", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* key : {"\"rtx-4090-fast-memory\"", "\"blackwell-64-sm\"", "\"rtx-4070-wide-bus\"", "\"sweep\""})
    EXPECT_TRUE(gpuperf::testing::contains(r.out, key)) << key;
  // Pure GPU time: LLaMA decode is bandwidth-bound, so 1.5x bandwidth must speed it up by more than 1.25x;
  // SD 512 is compute-bound, so it must move by less than 5%.
  auto csv = run_example("hypothetical-cards.yaml", {"--format", "csv", "--samples", "0"});
  ASSERT_EQ(csv.code, 0) << csv.err;
  auto row = [&](const std::string& label) {
    std::istringstream in(csv.out);
    std::string line;
    while (std::getline(in, line))
      if (line.find("," + label + ",") != std::string::npos) {
        std::vector<double> v;
        std::stringstream ls(line);
        std::string c;
        for (int k = 0; std::getline(ls, c, ','); ++k)
          if (k == 6 || k == 7) v.push_back(std::stod(c));
        return v;
      }
    throw std::runtime_error("no row " + label);
  };
  auto base = row("rtx-4090"), fast = row("rtx-4090-fast-memory");
  EXPECT_GT(fast[0] / base[0], 1.25);
  EXPECT_LT(fast[1] / base[1], 1.05);
}

TEST(WhatIf, ExampleScenariosRenderEveryFormat) {
  for (const char* name : {"survey-launch-prices.yaml", "used-market-2026.yaml", "hypothetical-cards.yaml"})
    for (const char* format : {"table", "md", "csv", "json"}) {
      auto r = run_example(name, {"--format", format, "--samples", "0"});
      EXPECT_EQ(r.code, 0) << name << " " << format << ": " << r.err;
      EXPECT_GT(r.out.size(), 200u) << name << " " << format;
    }
  auto r = run_example("survey-launch-prices.yaml", {"--format", "csv", "--view", "grid"});
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(gpuperf::testing::contains(r.err, "sweeps no price")) << r.err;
}

namespace {
std::string scenario_text(const std::string& cards, const std::string& workload_extra = "") {
  return "version: 1\nid: ID\ndescription: test\ncurrency: USD\nreference: rtx-3060-12gb\nmarket: street\n"
         "workloads:\n"
         "  - name: big\n    model: llama2-70b\n    stack: textgen-gptq-2023\n    weight: 1" +
         workload_extra + "\n    scenario: {weights: fp16, context: 512}\ncards:\n" + cards + "sources: [test]\n";
}
fs::path write_scenario(const std::string& id, const std::string& text) {
  fs::path dir = fs::temp_directory_path() / "gpuperf_whatif";
  fs::create_directories(dir);
  fs::path p = dir / (id + ".yaml");
  std::string t = text;
  t.replace(t.find("ID"), 2, id);
  std::ofstream(p) << t;
  return p;
}
}  // namespace

TEST(WhatIf, AReferenceThatCannotHoldTheModelIsAOneLineError) {
  fs::path p = write_scenario("no-room", scenario_text("  - {gpu: rtx-3060-12gb, price: 329}\n"));
  auto r = gpuperf::testing::run_cli({"whatif", p.string()});
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(r.out.empty());
  EXPECT_EQ(r.err_lines(), 1) << r.err;
  EXPECT_TRUE(gpuperf::testing::contains(r.err, "cannot run workload 'big'")) << r.err;
}

struct BadScenario {
  const char* id;
  std::string text;
  const char* message;
};

class BadWhatIf : public ::testing::TestWithParam<BadScenario> {};

TEST_P(BadWhatIf, IsAOneLineExit2) {
  fs::path p = write_scenario(GetParam().id, GetParam().text);
  auto r = gpuperf::testing::run_cli({"whatif", p.string()});
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(r.out.empty());
  EXPECT_EQ(r.err_lines(), 1) << r.err;
  EXPECT_TRUE(gpuperf::testing::contains(r.err, GetParam().message)) << r.err;
}

INSTANTIATE_TEST_SUITE_P(
    Files, BadWhatIf,
    ::testing::Values(
        BadScenario{"unknown-gpu",
                    scenario_text("  - {gpu: rtx-3060-12gb, price: 329}\n  - {gpu: rtx-9999, price: 1}\n"),
                    "unknown GPU 'rtx-9999'"},
        BadScenario{"no-reference", scenario_text("  - {gpu: rtx-4090, price: 1599}\n"),
                    "field 'reference': 'rtx-3060-12gb' is not one of the cards"},
        BadScenario{"twice",
                    scenario_text("  - {gpu: rtx-3060-12gb, price: 329}\n  - {gpu: rtx-3060-12gb, price: 1}\n"),
                    "given twice"},
        BadScenario{"negative-price", scenario_text("  - {gpu: rtx-3060-12gb, price: -5}\n"), "field 'cards[0].price'"},
        BadScenario{"grid-backwards",
                    scenario_text("  - {gpu: rtx-3060-12gb, price: {from: 400, to: 300, step: 10}}\n"),
                    "field 'cards[0].price.to': must not be below 'from'"},
        BadScenario{"grid-too-fine",
                    scenario_text("  - {gpu: rtx-3060-12gb, price: {from: 1, to: 1000000000, step: 0.5}}\n"),
                    "more than 1000000"},
        BadScenario{"grid-bad-item", scenario_text("  - {gpu: rtx-3060-12gb, price: [300, cheap]}\n"),
                    "field 'cards[0].price[1]': expected a number"},
        BadScenario{"grid-empty", scenario_text("  - {gpu: rtx-3060-12gb, price: []}\n"), "an empty list of prices"},
        BadScenario{"count-zero", scenario_text("  - {gpu: rtx-3060-12gb, price: 329, count: 0}\n"),
                    "field 'cards[0].count'"},
        BadScenario{
            "multi-card-without-hop",
            scenario_text("  - {gpu: rtx-3060-12gb, price: 329}\n  - {gpu: rtx-3060-12gb, count: 2, price: 329}\n"),
            "give multi_card.llm_hop_latency_us"},
        BadScenario{"label-twice",
                    scenario_text(
                        "  - {gpu: rtx-3060-12gb, price: 329}\n  - {gpu: rtx-4090, price: 1, label: rtx-3060-12gb}\n"),
                    "field 'cards[1].label': card 'rtx-3060-12gb' given twice"},
        BadScenario{"bad-market", scenario_text("  - {gpu: rtx-3060-12gb, price: 329, market: fleamarket}\n"),
                    "field 'cards[0].market'"},
        BadScenario{
            "compare-unknown",
            scenario_text("  - {gpu: rtx-3060-12gb, price: 329}\n") + "compare:\n  - {a: rtx-3060-12gb, b: nope}\n",
            "field 'compare[0].b': 'nope' is not one of the cards"},
        BadScenario{"compare-self",
                    scenario_text("  - {gpu: rtx-3060-12gb, price: 329}\n") +
                        "compare:\n  - {a: rtx-3060-12gb, b: rtx-3060-12gb}\n",
                    "with itself"},
        BadScenario{"hypothetical-bad-override",
                    scenario_text("  - {gpu: rtx-3060-12gb, price: 329}\n") +
                        "hypothetical_cards:\n  - id: x\n    base: rtx-4090\n    overrides: {sm_count: 0}\n",
                    "field 'hypothetical_cards[0].overrides.sm_count'"},
        BadScenario{"hypothetical-unknown-field",
                    scenario_text("  - {gpu: rtx-3060-12gb, price: 329}\n") +
                        "hypothetical_cards:\n  - id: x\n    base: rtx-4090\n    overrides: {published: {}}\n",
                    "field 'hypothetical_cards[0].overrides.published': unknown key"},
        BadScenario{"hypothetical-bad-memory",
                    scenario_text("  - {gpu: rtx-3060-12gb, price: 329}\n") +
                        "hypothetical_cards:\n  - id: x\n    base: rtx-4090\n    overrides: {memory: {type: DDR4}}\n",
                    "field 'hypothetical_cards[0].overrides.memory.type'"},
        BadScenario{"hypothetical-inconsistent-cores",
                    scenario_text("  - {gpu: rtx-3060-12gb, price: 329}\n") +
                        "hypothetical_cards:\n  - id: x\n    base: rtx-4090\n    overrides: {cuda_cores: 100}\n",
                    "field 'hypothetical_cards[0].overrides.cuda_cores': 100 is inconsistent"},
        BadScenario{"hypothetical-clock-below-base",
                    scenario_text("  - {gpu: rtx-3060-12gb, price: 329}\n") +
                        "hypothetical_cards:\n  - id: x\n    base: rtx-4090\n    overrides: {boost_clock_mhz: 1000}\n",
                    "field 'hypothetical_cards[0].overrides.boost_clock_mhz': must not be below base_clock_mhz"},
        BadScenario{"hypothetical-is-real",
                    scenario_text("  - {gpu: rtx-3060-12gb, price: 329}\n") +
                        "hypothetical_cards:\n  - id: rtx-4090\n    base: rtx-4090\n    overrides: {}\n",
                    "is a card of the catalog"},
        BadScenario{"hypothetical-unknown-base",
                    scenario_text("  - {gpu: rtx-3060-12gb, price: 329}\n") +
                        "hypothetical_cards:\n  - id: x\n    base: rtx-9090\n    overrides: {}\n",
                    "field 'hypothetical_cards[0].base': unknown GPU 'rtx-9090'"},
        BadScenario{"duplicate-weight", scenario_text("  - {gpu: rtx-3060-12gb, price: 329}\n", "\n    weight: 2"),
                    "given more than once"}),
    [](const ::testing::TestParamInfo<BadScenario>& p) {
      std::string n = p.param.id;
      for (char& c : n)
        if (c == '-') c = '_';
      return n;
    });
