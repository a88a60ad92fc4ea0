// The bundled model specs load; every bad model file of the corpus is rejected with its one-line message.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "gpuperf/io/model_loader.hpp"

namespace fs = std::filesystem;
using namespace gpuperf;

namespace {
std::string first_line(const fs::path& p) {
  std::ifstream in(p);
  std::string line;
  std::getline(in, line);
  return line;
}
}  // namespace

TEST(ModelLoader, LoadsEveryBundledModelSortedById) {
  const auto models = io::load_models(GPUPERF_SPECS_DIR);
  std::vector<std::string> ids;
  for (const auto& m : models) ids.push_back(m.id);
  const std::vector<std::string> expected = {"llama-13b",  "llama-33b", "llama-65b",  "llama-7b",  "llama2-13b",
                                             "llama2-70b", "llama2-7b", "llama3-70b", "llama3-8b", "sd15"};
  EXPECT_EQ(ids, expected);
  for (const auto& m : models) {
    EXPECT_FALSE(m.sources.empty()) << m.id;
    EXPECT_EQ(m.kind == ModelKind::diffusion, m.sd() != nullptr) << m.id;
  }
}

TEST(ModelLoader, ReadsTheSd15Hyperparameters) {
  const ModelSpec m = io::load_model_file(fs::path(GPUPERF_SPECS_DIR) / "models" / "sd15.yaml");
  ASSERT_NE(m.sd(), nullptr);
  const SdModelSpec& s = *m.sd();
  EXPECT_EQ(s.id, "sd15");
  EXPECT_EQ(s.unet.block_channels, (std::vector<int>{320, 640, 1280, 1280}));
  EXPECT_EQ(s.unet.block_attention, (std::vector<bool>{true, true, true, false}));
  EXPECT_EQ(s.unet.attention_heads, 8);
  EXPECT_EQ(s.unet.context_dim, 768);
  EXPECT_EQ(s.text.max_length, 77);
  EXPECT_EQ(s.vae.scale_factor, 8);
  EXPECT_EQ(s.kernels.conv, 2);
}

TEST(ModelLoader, ReadsLlama2With8KvHeadsAnd4096Context) {
  const ModelSpec m = io::load_model_file(fs::path(GPUPERF_SPECS_DIR) / "models" / "llama2-70b.yaml");
  ASSERT_NE(m.llama(), nullptr);
  EXPECT_EQ(m.llama()->n_kv_heads, 8);
  EXPECT_EQ(m.llama()->max_context, 4096);
  EXPECT_EQ(m.llama()->ffn_dim, 28672);
  EXPECT_EQ(m.llama()->hf.prefill_logits, PrefillLogits::all);
  const ModelSpec l1 = io::load_model_file(fs::path(GPUPERF_SPECS_DIR) / "models" / "llama-65b.yaml");
  EXPECT_EQ(l1.llama()->max_context, 2048);
}

TEST(ModelLoader, MissingFolderIsAnInputError) {
  EXPECT_THROW(io::load_models(fs::path(GPUPERF_TEST_DATA_DIR) / "no-such-tree"), InputError);
}

class BadModel : public ::testing::TestWithParam<fs::path> {};

TEST_P(BadModel, IsRejectedWithItsOneLineMessage) {
  const fs::path file = GetParam();
  std::string expect = first_line(file);
  ASSERT_EQ(expect.rfind("# expect: ", 0), 0u) << file;
  expect = expect.substr(10);
  try {
    io::load_model_file(file);
    FAIL() << file << " was accepted";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(expect), std::string::npos) << "message: " << what << "\nexpected part: " << expect;
    EXPECT_EQ(what.rfind(file.string() + ":", 0), 0u) << "message must start with the file: " << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
}

std::vector<fs::path> bad_models() {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(fs::path(GPUPERF_TEST_DATA_DIR) / "bad_models"))
    files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::string case_name(const ::testing::TestParamInfo<fs::path>& p) {
  std::string name = p.param.stem().string();
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadModel, ::testing::ValuesIn(bad_models()), case_name);

TEST(BadModelCorpus, HasAtLeast20Files) { EXPECT_GE(bad_models().size(), 20u); }
