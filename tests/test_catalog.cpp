// The bundled catalog loads, every derived figure matches the vendor's, and every bad spec of the
// corpus is rejected with its one-line message.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "gpuperf/io/catalog.hpp"

namespace fs = std::filesystem;
using namespace gpuperf;

namespace {
const io::Catalog& catalog() {
  static const io::Catalog cat = io::load_catalog(GPUPERF_SPECS_DIR);
  return cat;
}

std::string first_line(const fs::path& p) {
  std::ifstream in(p);
  std::string line;
  std::getline(in, line);
  return line;
}
}  // namespace

TEST(Catalog, HoldsAtLeast35Cards) { EXPECT_GE(catalog().gpus.size(), 35u); }

TEST(Catalog, HoldsEveryCardTheIssueNames) {
  for (const char* id : {"rtx-4090",
                         "rtx-4080",
                         "rtx-4070-ti",
                         "rtx-4070",
                         "rtx-4060-ti-16gb",
                         "rtx-4060-ti-8gb",
                         "rtx-4060",
                         "rtx-3090-ti",
                         "rtx-3090",
                         "rtx-3080-ti",
                         "rtx-3080-12gb",
                         "rtx-3080-10gb",
                         "rtx-3070-ti",
                         "rtx-3070",
                         "rtx-3060-ti",
                         "rtx-3060-12gb",
                         "rtx-3050-8gb",
                         "rtx-4080-super",
                         "rtx-4070-ti-super",
                         "rtx-4070-super",
                         "rtx-5090",
                         "rtx-5080",
                         "rtx-5070-ti",
                         "rtx-5070",
                         "rtx-5060-ti-16gb",
                         "rtx-2080-ti",
                         "a100-sxm-40gb",
                         "a100-sxm-80gb",
                         "a100-pcie-40gb",
                         "h100-sxm",
                         "h100-pcie",
                         "h200-sxm",
                         "l40s",
                         "l4",
                         "rtx-6000-ada",
                         "rtx-a6000"})
    EXPECT_NE(catalog().find_gpu(id), nullptr) << id;
}

TEST(Catalog, HoldsEveryArchitecture) {
  for (const char* id :
       {"turing-tu10x", "ampere-ga10x", "ampere-ga100", "ada-ad10x", "hopper-gh100", "blackwell-gb20x"})
    EXPECT_NE(catalog().find_arch(id), nullptr) << id;
}

// The heart of the spec check: a wrong SM count, clock, bus width or data rate cannot hide, because
// some published figure is derived from it.
TEST(Catalog, EveryDerivedFigureMatchesEveryPublishedFigureWithin3Percent) {
  int checked = 0;
  for (const auto& g : catalog().gpus) {
    auto checks = check_published(g);
    ASSERT_FALSE(checks.empty()) << g.spec.id;
    EXPECT_EQ(checks.front().figure, "memory_bandwidth_gb_s") << g.spec.id;
    for (const auto& c : checks) {
      EXPECT_LE(c.relative_error(), kPublishedTolerance) << g.spec.id << " " << c.figure << ": " << c.derivation;
      ++checked;
    }
  }
  EXPECT_GE(checked, 100);
}

TEST(Catalog, EveryCardAndArchitectureCitesSources) {
  for (const auto& g : catalog().gpus) EXPECT_FALSE(g.spec.sources.empty()) << g.spec.id;
  for (const auto& a : catalog().arches) EXPECT_FALSE(a.sources.empty()) << a.id;
}

TEST(Catalog, GeForceBoardsHalveFp32AccumulateAndProBoardsDoNot) {
  for (const auto& g : catalog().gpus)
    EXPECT_EQ(g.spec.tensor_fp32_accumulate_half, g.spec.segment == Segment::geforce) << g.spec.id;
}

TEST(Catalog, IsSortedById) {
  const auto& gpus = catalog().gpus;
  for (std::size_t i = 1; i < gpus.size(); ++i) EXPECT_LT(gpus[i - 1].spec.id, gpus[i].spec.id);
}

// ---- the bad-input corpus: each file's first line says `# expect: <part of the message>` ----

class BadSpec : public ::testing::TestWithParam<fs::path> {};

TEST_P(BadSpec, IsRejectedWithItsOneLineMessage) {
  const fs::path file = GetParam();
  std::string expect = first_line(file);
  ASSERT_EQ(expect.rfind("# expect: ", 0), 0u) << file;
  expect = expect.substr(10);
  try {
    if (file.parent_path().filename() == "arches") {
      io::load_arch_file(file);
    } else {
      io::load_gpu_file(file, catalog().arches);
    }
    FAIL() << file << " was accepted";
  } catch (const InputError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find(expect), std::string::npos) << "message: " << what << "\nexpected part: " << expect;
    EXPECT_EQ(what.rfind(file.string(), 0), 0u) << "message must start with the file: " << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
}

std::vector<fs::path> corpus() {
  std::vector<fs::path> files;
  for (const char* sub : {"gpus", "arches"})
    for (const auto& e : fs::directory_iterator(fs::path(GPUPERF_TEST_DATA_DIR) / "bad_specs" / sub))
      files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::string case_name(const ::testing::TestParamInfo<fs::path>& p) {
  std::string name = p.param.parent_path().filename().string() + "_" + p.param.stem().string();
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadSpec, ::testing::ValuesIn(corpus()), case_name);

TEST(BadSpecCorpus, HasAtLeast20Files) { EXPECT_GE(corpus().size(), 20u); }

TEST(BadTree, DuplicateIdsAreRejected) {
  fs::path tree = fs::path(GPUPERF_TEST_DATA_DIR) / "bad_trees" / "duplicate-id";
  try {
    io::load_catalog(tree);
    FAIL() << "duplicate ids accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("field 'id': duplicate id 'rtx-4090'"), std::string::npos) << e.what();
  }
}

TEST(BadTree, MissingFolderIsAnInputError) {
  EXPECT_THROW(io::load_catalog(fs::path(GPUPERF_TEST_DATA_DIR) / "no-such-tree"), InputError);
}

TEST(BadTree, DirectoryWhereAFileIsExpected) {
  try {
    io::load_arch_file(fs::path(GPUPERF_TEST_DATA_DIR));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("is a directory"), std::string::npos) << e.what();
  }
}
