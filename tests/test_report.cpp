// The generated reports: every survey table, the parameters and the scaling explanation are there.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli.hpp"

namespace {
std::string run_ok(std::vector<std::string> args) {
  std::ostringstream out, err;
  int code = gpuperf::cli::run(args, GPUPERF_SPECS_DIR, out, err);
  EXPECT_EQ(code, 0) << err.str();
  return out.str();
}
bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
}  // namespace

TEST(Report, ScalingExplainsAllThreeSurveyRatios) {
  std::string md = run_ok({"report", "scaling"});
  EXPECT_TRUE(has(md, "# Why it scales"));
  for (const char* part : {"survey Table 3", "survey Table 4", "survey Table 5", "waiting for host", "GPU-only ratio"})
    EXPECT_TRUE(has(md, part)) << part;
}

TEST(Report, AccuracyWritesAtomicallyToOut) {
  auto path = std::filesystem::temp_directory_path() / "gpuperf_report_test.md";
  std::filesystem::remove(path);
  std::ostringstream out, err;
  int code = gpuperf::cli::run({"report", "accuracy", "--out", path.string()}, GPUPERF_SPECS_DIR, out, err);
  ASSERT_EQ(code, 0) << err.str();
  EXPECT_TRUE(out.str().empty());
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  for (const char* part : {"## Summary", "## Against free regressions", "1/tensor peak per architecture + constant",
                           "## The fitted parameters", "leave-one-out MAPE", "rtx-5090", "h100-sxm"})
    EXPECT_TRUE(has(text.str(), part)) << part;
  std::filesystem::remove(path);
}

TEST(Report, UnknownReportIsExit2) {
  std::ostringstream out, err;
  EXPECT_EQ(gpuperf::cli::run({"report", "beauty"}, GPUPERF_SPECS_DIR, out, err), 2);
}

namespace {
std::string file_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}
const std::filesystem::path kDocs = std::filesystem::path(GPUPERF_SPECS_DIR).parent_path() / "docs";
}  // namespace

// Golden outputs: the committed reports are what the model says now (regenerate them with the
// command at their top when a change to the model or the specs moves a number).
TEST(Report, CommittedWhyItScalesIsCurrent) {
  EXPECT_EQ(run_ok({"report", "scaling"}), file_text(kDocs / "why-it-scales.md"));
}

TEST(Report, CommittedAccuracyReportIsCurrent) {
  EXPECT_EQ(run_ok({"report", "accuracy"}), file_text(kDocs / "accuracy.md"));
}
