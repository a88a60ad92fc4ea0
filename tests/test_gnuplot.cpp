// gnuplot driver: format from the extension, quoting, atomic render, failures leave no file.
#include "gnuplot.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "commands.hpp"

namespace fs = std::filesystem;
using namespace gpuperf::cli;

namespace {

fs::path fresh_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("gpuperf-test-gnuplot-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string head(const fs::path& p, std::size_t n) {
  std::ifstream in(p, std::ios::binary);
  std::string s(n, '\0');
  in.read(s.data(), static_cast<std::streamsize>(n));
  s.resize(static_cast<std::size_t>(in.gcount()));
  return s;
}

std::size_t entries(const fs::path& d) {
  return static_cast<std::size_t>(std::distance(fs::directory_iterator(d), fs::directory_iterator()));
}

}  // namespace

TEST(ChartFormat, ComesFromTheExtension) {
  EXPECT_EQ(chart_format_of("a/b.svg"), ChartFormat::svg);
  EXPECT_EQ(chart_format_of("b.PNG"), ChartFormat::png);
  EXPECT_EQ(chart_format_of("b.pdf"), ChartFormat::pdf);
  EXPECT_THROW(chart_format_of("b.jpg"), UsageError);
  EXPECT_THROW(chart_format_of("b"), UsageError);
}

TEST(GpQuote, EscapesQuotesBackslashesAndNewlines) { EXPECT_EQ(gp_quote("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\""); }

TEST(OkabeIto, HasSevenColoursAndGrey) {
  ASSERT_EQ(okabe_ito().size(), 8u);
  EXPECT_EQ(okabe_ito()[0], "#0072B2");
}

TEST(RenderChart, WritesEachFormatAndNoTemporaryFiles) {
  ASSERT_TRUE(find_gnuplot()) << "gnuplot is a dependency of the plot commands (scripts/setup.sh installs it)";
  fs::path d = fresh_dir("formats");
  for (const char* name : {"c.svg", "c.png", "c.pdf"}) {
    render_chart("plot [0:1] x title \"line\"\n", d / name, {}, nullptr);
    ASSERT_TRUE(fs::exists(d / name)) << name;
  }
  EXPECT_EQ(entries(d), 3u);
  EXPECT_EQ(head(d / "c.png", 8), "\x89PNG\r\n\x1a\n");
  EXPECT_EQ(head(d / "c.pdf", 5), "%PDF-");
  EXPECT_NE(head(d / "c.svg", 200).find("<svg"), std::string::npos);
  fs::remove_all(d);
}

TEST(RenderChart, AFailingScriptLeavesNoFileAndKeepsTheOldOne) {
  fs::path d = fresh_dir("fail");
  EXPECT_THROW(render_chart("plot $nosuchblock using 1:2\n", d / "x.png", {}, nullptr), std::runtime_error);
  EXPECT_EQ(entries(d), 0u);
  { std::ofstream(d / "old.svg") << "old"; }
  EXPECT_THROW(render_chart("this is not gnuplot\n", d / "old.svg", {}, nullptr), std::runtime_error);
  EXPECT_EQ(head(d / "old.svg", 10), "old");
  EXPECT_EQ(entries(d), 1u);
  fs::remove_all(d);
}

TEST(RenderChart, MissingGnuplotIsAUsageError) {
  fs::path d = fresh_dir("missing");
  ::setenv("GPUPERF_GNUPLOT", "/nonexistent/gnuplot", 1);
  try {
    render_chart("plot x\n", d / "x.svg", {}, nullptr);
    ADD_FAILURE() << "expected a UsageError";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("gnuplot not found"), std::string::npos) << e.what();
  }
  ::unsetenv("GPUPERF_GNUPLOT");
  EXPECT_EQ(entries(d), 0u);
  fs::remove_all(d);
}

TEST(RenderChart, MissingFolderIsAnInputError) {
  EXPECT_THROW(render_chart("plot x\n", "/nonexistent-folder-gpuperf/x.svg", {}, nullptr), gpuperf::InputError);
}
