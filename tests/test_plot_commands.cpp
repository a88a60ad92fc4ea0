// gpuperf plot roofline|scaling|breakdown|value: each chart is produced, well-formed (SVG parses as XML,
// PNG and PDF signatures) and non-trivial (names its cards); bad input is exit 2 with no file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli_run.hpp"

namespace fs = std::filesystem;

namespace {
using gpuperf::testing::CliResult;
CliResult run(const std::vector<std::string>& args) { return gpuperf::testing::run_cli(args); }
bool has(const std::string& s, const std::string& part) { return gpuperf::testing::contains(s, part); }

fs::path fresh_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("gpuperf-test-plot-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::size_t entries(const fs::path& d) {
  return static_cast<std::size_t>(std::distance(fs::directory_iterator(d), fs::directory_iterator()));
}

// Counts elements named `tag` anywhere under `t`.
std::size_t count_elements(const boost::property_tree::ptree& t, const std::string& tag) {
  std::size_t n = 0;
  for (const auto& [k, child] : t) n += (k == tag) + count_elements(child, tag);
  return n;
}

// The SVG parses as XML, has an <svg> root with paths and texts, and holds every `needle`.
void expect_svg(const fs::path& p, const std::vector<std::string>& needles) {
  ASSERT_TRUE(fs::exists(p)) << p;
  const std::string text = slurp(p);
  EXPECT_GT(text.size(), 10000u);
  boost::property_tree::ptree tree;
  std::istringstream in(text);
  ASSERT_NO_THROW(boost::property_tree::read_xml(in, tree));
  ASSERT_EQ(tree.count("svg"), 1u);
  EXPECT_GT(count_elements(tree, "path"), 10u);
  EXPECT_GT(count_elements(tree, "text"), 10u);
  for (const auto& n : needles) EXPECT_TRUE(has(text, n)) << n;
}

void expect_png(const fs::path& p) {
  ASSERT_TRUE(fs::exists(p)) << p;
  const std::string text = slurp(p);
  EXPECT_EQ(text.substr(0, 8), "\x89PNG\r\n\x1a\n");
  EXPECT_GT(text.size(), 20000u);
}

void expect_pdf(const fs::path& p) {
  ASSERT_TRUE(fs::exists(p)) << p;
  const std::string text = slurp(p);
  EXPECT_EQ(text.substr(0, 5), "%PDF-");
  EXPECT_TRUE(has(text, "%%EOF"));
  EXPECT_GT(text.size(), 5000u);
}
}  // namespace

TEST(PlotRoofline, SvgNamesTheCardsRoofsAndOpClasses) {
  fs::path d = fresh_dir("roofline");
  auto r = run(
      {"plot", "roofline", "--gpu", "rtx-4090", "rtx-3060-12gb", "--model", "sd15", "--out", (d / "r.svg").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.out.empty());
  EXPECT_FALSE(has(r.err, "warning")) << r.err;
  expect_svg(d / "r.svg", {"RTX 4090", "RTX 3060", "fp16 tensor, fp32 acc.", "L2", "TFLOP/s", "FLOP per byte", "conv"});
  EXPECT_EQ(entries(d), 1u);
  fs::remove_all(d);
}

TEST(PlotRoofline, PngAndPdfForLlama) {
  fs::path d = fresh_dir("roofline-llama");
  for (const char* name : {"r.png", "r.pdf"}) {
    auto r = run({"plot", "roofline", "--gpu", "rtx-4090", "--model", "llama-13b", "--weights", "gptq4-g128", "--out",
                  (d / name).string()});
    ASSERT_EQ(r.code, 0) << r.err;
  }
  expect_png(d / "r.png");
  expect_pdf(d / "r.pdf");
  fs::remove_all(d);
}

TEST(PlotBreakdown, SvgHasEveryCardAndTerm) {
  fs::path d = fresh_dir("breakdown");
  auto r = run({"plot", "breakdown", "--gpu", "rtx-3060-12gb", "rtx-3090", "rtx-4090", "--model", "llama-13b",
                "--weights", "gptq4-g128", "--out", (d / "b.svg").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  expect_svg(d / "b.svg", {"RTX 3060", "RTX 3090", "RTX 4090", "waiting for the host", "memory-bound",
                           "time per step (ms)", "tokens/s"});
  fs::remove_all(d);
}

TEST(PlotScaling, ThreeSurveyTablesWithoutLoo) {
  fs::path d = fresh_dir("scaling");
  auto r = run({"plot", "scaling", "--no-loo", "--out", (d / "s.svg").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  expect_svg(d / "s.svg", {"Stable Diffusion 512x512", "LLaMA-13B 4-bit decode", "SD hires", "RTX 4090",
                           "ratio to the reference", "predicted, 95% interval"});
  fs::remove_all(d);
}

TEST(PlotScaling, LeaveOneOutPointsOnOneSet) {
  fs::path d = fresh_dir("scaling-loo");
  auto r = run({"plot", "scaling", "--measurements", "survey-llama13b-4bit", "--out", (d / "s.png").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(has(r.err, "leave-one-out refit without rtx-4090")) << r.err;
  expect_png(d / "s.png");
  fs::remove_all(d);
}

TEST(PlotValue, SvgShowsTheParetoFront) {
  fs::path d = fresh_dir("value");
  auto r = run({"plot", "value", std::string(GPUPERF_SPECS_DIR) + "/scenarios/survey-launch-prices.yaml", "--out",
                (d / "v.svg").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  expect_svg(d / "v.svg", {"Pareto front", "RTX 4090", "RTX 3060", "USD", "merit"});
  fs::remove_all(d);
}

TEST(PlotValue, HypotheticalCardsAreNamedByTheirLabels) {
  fs::path d = fresh_dir("value-hypothetical");
  auto r = run({"plot", "value", std::string(GPUPERF_SPECS_DIR) + "/scenarios/hypothetical-cards.yaml", "--out",
                (d / "v.svg").string()});
  ASSERT_EQ(r.code, 0) << r.err;
  expect_svg(d / "v.svg", {"Pareto front", "(hypothetical)", "RTX 4090"});
  fs::remove_all(d);
}

TEST(PlotErrors, BadInputIsExit2WithOneLineAndNoFile) {
  fs::path d = fresh_dir("errors");
  const std::string out = (d / "x.svg").string();
  std::vector<std::vector<std::string>> bad = {
      {"plot", "roofline", "--gpu", "rtx-9090", "--model", "sd15", "--out", out},
      {"plot", "roofline", "--gpu", "rtx-4090", "--model", "nope", "--out", out},
      {"plot", "roofline", "--gpu", "rtx-4090", "--model", "sd15", "--out", (d / "x.jpg").string()},
      {"plot", "roofline", "--gpu", "rtx-4090", "--model", "sd15"},
      {"plot", "breakdown", "--gpu", "rtx-4090", "rtx-4090", "--model", "sd15", "--out", out},
      {"plot", "breakdown", "--gpu", "rtx-2080-ti", "--model", "sd15", "--precision", "bf16", "--out", out},
      {"plot", "breakdown", "--gpu", "rtx-4090", "--model", "sd15", "--weights", "q4_0", "--out", out},
      {"plot", "scaling", "--no-loo", "--reference", "h100-sxm", "--out", out},
      {"plot", "scaling", "--no-loo", "--measurements", "no-such-set", "--out", out},
      {"plot", "value", "/nonexistent/scenario.yaml", "--out", out},
      {"plot", "value", "--out", out},
      {"plot", "roofline", "--gpu", "rtx-4090", "--model", "sd15", "--out", (d / "no-folder" / "x.svg").string()},
  };
  for (const auto& args : bad) {
    auto r = run(args);
    std::string cmd;
    for (const auto& a : args) cmd += a + " ";
    EXPECT_EQ(r.code, 2) << cmd << "\n" << r.err;
    EXPECT_EQ(r.err_lines(), 1) << cmd << "\n" << r.err;
    EXPECT_TRUE(r.out.empty()) << cmd;
    EXPECT_EQ(entries(d), 0u) << cmd;
  }
  fs::remove_all(d);
}

TEST(PlotErrors, OutMustNotReplaceAnInput) {
  fs::path d = fresh_dir("inputs");
  const fs::path scenario = d / "s.svg";
  fs::copy_file(fs::path(GPUPERF_SPECS_DIR) / "scenarios" / "survey-launch-prices.yaml", scenario);
  const std::string before = slurp(scenario);
  // The scenario file itself, misnamed .svg, as both the input and the output.
  auto r = run({"plot", "value", scenario.string(), "--out", scenario.string()});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_TRUE(has(r.err, "is an input of this run")) << r.err;
  EXPECT_EQ(slurp(scenario), before);
  const fs::path calib = d / "c.svg";
  {
    // The default calibration under another name (its id must match the file name).
    std::string yaml = slurp(fs::path(GPUPERF_SPECS_DIR) / "calibrations" / "default.yaml");
    auto at = yaml.find("id: default");
    ASSERT_NE(at, std::string::npos);
    yaml.replace(at, 11, "id: c");
    std::ofstream(calib) << yaml;
  }
  r = run({"plot", "breakdown", "--gpu", "rtx-4090", "--model", "sd15", "--calibration", calib.string(), "--out",
           calib.string()});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_TRUE(has(r.err, "is an input of this run")) << r.err;
  EXPECT_EQ(entries(d), 2u);
  fs::remove_all(d);
}

TEST(PlotErrors, MissingGnuplotIsExit2WithOneLineAndNoFile) {
  fs::path d = fresh_dir("no-gnuplot");
  ::setenv("GPUPERF_GNUPLOT", "/nonexistent/gnuplot", 1);
  auto r = run({"plot", "breakdown", "--gpu", "rtx-4090", "--model", "sd15", "--out", (d / "b.svg").string()});
  ::unsetenv("GPUPERF_GNUPLOT");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err_lines(), 1) << r.err;
  EXPECT_TRUE(has(r.err, "gnuplot not found")) << r.err;
  EXPECT_EQ(entries(d), 0u);
  fs::remove_all(d);
}

TEST(PlotHelp, ListsThePlotCommands) {
  auto r = run({"--help"});
  ASSERT_EQ(r.code, 0);
  for (const char* c : {"plot roofline", "plot scaling", "plot breakdown", "plot value"})
    EXPECT_TRUE(has(r.out, c)) << c;
}
