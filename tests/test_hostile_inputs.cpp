// Hostile inputs: each gives one line on stderr and exit 2 — no crash, no hang, no huge allocation.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli_run.hpp"

namespace fs = std::filesystem;

namespace {
using Result = gpuperf::testing::CliResult;
Result run(const std::vector<std::string>& args) { return gpuperf::testing::run_cli(args); }

// A spec tree with the real architectures and one hostile card file.
fs::path tree_with(const std::string& file_name, const std::string& content) {
  fs::path dir = fs::temp_directory_path() / ("gpuperf_hostile_" + std::to_string(std::hash<std::string>{}(file_name)));
  fs::remove_all(dir);
  fs::create_directories(dir / "gpus");
  fs::copy(fs::path(GPUPERF_SPECS_DIR) / "arches", dir / "arches");
  std::ofstream(dir / "gpus" / file_name, std::ios::binary) << content;
  return dir;
}

void expect_one_line_exit_2(const Result& r, const std::string& part) {
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(r.out.empty());
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(part), std::string::npos) << r.err;
}
}  // namespace

TEST(Hostile, DeeplyNestedYamlIsAnErrorNotAStackOverflow) {
  std::string text = "version: 1\nid: deep\nname: " + std::string(100000, '[') + std::string(100000, ']') + "\n";
  fs::path dir = tree_with("deep.yaml", text);
  expect_one_line_exit_2(run({"list", "gpus", "--specs", dir.string()}), "deep.yaml");
  fs::remove_all(dir);
}

TEST(Hostile, AliasesThatWouldExpandToAHugeDocumentAreNotExpanded) {
  std::string text = "version: 1\nid: laughs\na: &a [x, x, x, x, x, x, x, x, x, x]\n";
  std::string prev = "a";
  for (char c = 'b'; c <= 'j'; ++c) {
    text += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) text += (i ? ", *" : "*") + prev;
    text += "]\n";
    prev = std::string(1, c);
  }
  text += "name: *" + prev + "\n";
  fs::path dir = tree_with("laughs.yaml", text);
  expect_one_line_exit_2(run({"list", "gpus", "--specs", dir.string()}), "laughs.yaml");
  fs::remove_all(dir);
}

TEST(Hostile, A100MegabyteFileIsRejectedBeforeItIsRead) {
  fs::path dir = tree_with("big.yaml", std::string(100u * 1000u * 1000u, 'a'));
  expect_one_line_exit_2(run({"list", "gpus", "--specs", dir.string()}), "more than the");
  fs::remove_all(dir);
}

TEST(Hostile, NonUtf8FileNameGivesOneLine) {
  fs::path dir = tree_with("\xff\xfe.yaml", "version: 1\nid: x\n");
  Result r = run({"list", "gpus", "--specs", dir.string()});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  fs::remove_all(dir);
}

TEST(Hostile, ADirectoryWhereASpecFileIsExpected) {
  fs::path dir = tree_with("ok.txt", "");
  fs::create_directories(dir / "gpus" / "folder.yaml");
  expect_one_line_exit_2(run({"list", "gpus", "--specs", dir.string()}), "is a directory");
  fs::remove_all(dir);
}

TEST(Hostile, AResolutionThatWouldOverflowIsRefused) {
  expect_one_line_exit_2(
      run({"predict", "--gpu", "rtx-4090", "--model", "sd15", "--resolution", "1000000000x1000000000"}),
      "out of range");
}

TEST(Hostile, AContextOfTwoToTheFortyIsRefused) {
  expect_one_line_exit_2(run({"predict", "--gpu", "rtx-4090", "--model", "llama-13b", "--context", "1099511627776"}),
                         "out of range");
}

TEST(Hostile, TheLargestAcceptedScenarioStaysFinite) {
  Result r = run({"predict", "--gpu", "rtx-3050-8gb", "--model", "sd15", "--resolution", "16384x16384", "--batch",
                  "4096", "--format", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.find("null"), std::string::npos);
  EXPECT_EQ(r.out.find("inf"), std::string::npos);
  EXPECT_EQ(r.out.find("nan"), std::string::npos);
}

TEST(Hostile, AnOutputPathInAMissingFolderFailsCleanly) {
  Result r = run({"report", "scaling", "--out", "/nonexistent-folder/x.md"});
  expect_one_line_exit_2(r, "does not exist");
}

// A calibration file the engine would misuse (found while fuzzing parameter files): each is refused at
// load time with its message on line 1 (`# expect: ...`) — before, an unknown covariance name crashed
// `whatif`'s Monte Carlo draws and a dof beyond int overflowed its conversion.
class BadCalibration : public ::testing::TestWithParam<fs::path> {};

TEST_P(BadCalibration, WhatifRefusesItWithItsMessage) {
  std::ifstream in(GetParam());
  std::string expect;
  std::getline(in, expect);
  ASSERT_EQ(expect.rfind("# expect: ", 0), 0u) << GetParam();
  const std::string scenario = std::string(GPUPERF_SPECS_DIR) + "/scenarios/survey-launch-prices.yaml";
  expect_one_line_exit_2(run({"whatif", scenario, "--calibration", GetParam().string(), "--samples", "5"}),
                         expect.substr(10));
}

std::vector<fs::path> bad_calibrations() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(fs::path(GPUPERF_TEST_DATA_DIR) / "bad_calibrations"))
    out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::string calibration_case(const ::testing::TestParamInfo<fs::path>& p) {
  std::string n = p.param.stem().string();
  for (char& c : n)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadCalibration, ::testing::ValuesIn(bad_calibrations()), calibration_case);
