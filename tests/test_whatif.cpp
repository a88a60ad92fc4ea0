// What-if scenarios: merit, ranking, Pareto front, break-even prices, memory exclusion, bad files.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

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
  return CardInputs{id, price, tdp, {a, b}, {"", ""}};
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
std::string scenario_text(const std::string& cards, const std::string& workload_extra = "") {
  return "version: 1\nid: ID\ndescription: test\ncurrency: USD\nreference: rtx-3060-12gb\nworkloads:\n"
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
        BadScenario{"duplicate-weight", scenario_text("  - {gpu: rtx-3060-12gb, price: 329}\n", "\n    weight: 2"),
                    "given more than once"}),
    [](const ::testing::TestParamInfo<BadScenario>& p) {
      std::string n = p.param.id;
      for (char& c : n)
        if (c == '-') c = '_';
      return n;
    });
