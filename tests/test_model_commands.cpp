// `gpuperf list models` and `gpuperf show model`: outputs, scenario options, one-line errors and exit 2.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "cli_run.hpp"

namespace {
using Result = gpuperf::testing::CliResult;
Result run(const std::vector<std::string>& args) { return gpuperf::testing::run_cli(args); }

int lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }
bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
}  // namespace

TEST(ListModels, ShowsEveryModelWithItsParameters) {
  auto r = run({"list", "models"});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* id : {"sd15", "llama-7b", "llama-13b", "llama-33b", "llama-65b", "llama2-7b", "llama2-13b",
                         "llama2-70b", "llama3-8b", "llama3-70b"})
    EXPECT_TRUE(has(r.out, id)) << id;
  EXPECT_TRUE(has(r.out, "13015864320"));
  auto csv = run({"list", "models", "--format", "csv"});
  ASSERT_EQ(csv.code, 0);
  EXPECT_EQ(lines(csv.out), 11);
  EXPECT_TRUE(
      has(csv.out, "sd15,Stable Diffusion 1.5,diffusion,1032071643,"));  // 859,520,964 + 123,060,480 + 49,490,199
}

TEST(ShowModel, SdUnetTableHasParametersFlopsAndClassTotals) {
  auto r = run({"show", "model", "sd15"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "859520964"));
  EXPECT_TRUE(has(r.out, "unet FLOPs"));
  EXPECT_TRUE(has(r.out, "attention"));
  EXPECT_TRUE(has(r.out, "it/s"));
}

TEST(ShowModel, JsonHasStableKeys) {
  auto r = run({"show", "model", "sd15", "--format", "json", "--resolution", "768x432", "--hires", "2048x1152",
                "--hires-steps", "25", "--part", "image"});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* key : {"\"version\"", "\"parameters_total\"", "\"memory_footprint\"", "\"parts\"",
                          "\"class_totals\"", "\"unet-hires\"", "\"vae-decode\"", "\"text-encoder\"", "\"totals\""})
    EXPECT_TRUE(has(r.out, key)) << key;
  EXPECT_FALSE(has(r.out, "\"ops_list\""));
}

TEST(ShowModel, OpsListsEveryOp) {
  auto r = run({"show", "model", "llama-7b", "--ops", "--format", "csv", "--weights", "gptq4-g128"});
  ASSERT_EQ(r.code, 0) << r.err;
  // header + embedding + 32 layers x 17 ops (naive attention: scores, softmax, pv) + final norm, lm_head, sampling
  EXPECT_EQ(lines(r.out), 1 + 1 + 32 * 17 + 3);
  EXPECT_TRUE(has(r.out, "dequant-gemv"));
  auto j = run({"show", "model", "llama-7b", "--ops", "--format", "json"});
  ASSERT_EQ(j.code, 0) << j.err;
  EXPECT_TRUE(has(j.out, "\"ops_list\""));
  EXPECT_TRUE(has(j.out, "\"cache_bytes\""));
}

TEST(ShowModel, LlamaOptionsAreApplied) {
  auto r = run({"show", "model", "llama2-70b", "--context", "4096", "--weights", "q4_k", "--kv-dtype", "fp8", "--batch",
                "2", "--format", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "\"context\": 4096"));
  EXPECT_TRUE(has(r.out, "\"framework\": \"llama.cpp\""));
  EXPECT_TRUE(has(r.out, "\"kv_cache\": \"in-place\""));
  EXPECT_TRUE(has(r.out, "\"bits_per_weight\": 4.5"));
  // transformers (GPTQ weights) rebuilds the cache every token and expands the grouped K/V heads.
  auto hf = run({"show", "model", "llama2-70b", "--context", "4096", "--weights", "gptq4-g128"});
  ASSERT_EQ(hf.code, 0) << hf.err;
  EXPECT_TRUE(has(hf.out, "rebuilt every token (concatenation), grouped heads expanded")) << hf.out;
  auto p = run({"show", "model", "llama-13b", "--phase", "prefill", "--prompt-tokens", "1024", "--format", "md"});
  ASSERT_EQ(p.code, 0) << p.err;
  EXPECT_TRUE(has(p.out, "prefill"));
}

TEST(ShowModel, BadScenarioValuesGiveOneLineAndExit2) {
  const std::vector<std::vector<std::string>> bad = {
      {"show", "model", "sd15", "--resolution", "513x512"},
      {"show", "model", "sd15", "--resolution", "1000000000x1000000000"},
      {"show", "model", "sd15", "--resolution", "99999999999999999999999x512"},
      {"show", "model", "sd15", "--resolution", "512"},
      {"show", "model", "sd15", "--batch", "0"},
      {"show", "model", "sd15", "--batch", "-3"},
      {"show", "model", "sd15", "--steps", "abc"},
      {"show", "model", "sd15", "--attention", "sparse"},
      {"show", "model", "sd15", "--precision", "fp8"},
      {"show", "model", "sd15", "--part", "decoder"},
      {"show", "model", "sd15", "--cfg", "--no-cfg"},
      {"show", "model", "sd15", "--hires-steps", "25"},
      {"show", "model", "sd15", "--weights", "fp16"},
      {"show", "model", "llama-13b", "--context", "2049"},
      {"show", "model", "llama-13b", "--context", "1099511627776"},
      {"show", "model", "llama-13b", "--context", "0"},
      {"show", "model", "llama-13b", "--weights", "gptq3"},
      {"show", "model", "llama-13b", "--kv-dtype", "fp4"},
      {"show", "model", "llama-13b", "--phase", "train"},
      {"show", "model", "llama-13b", "--resolution", "512x512"},
      {"show", "model", "llama-13b", "--phase", "prefill", "--context", "512"},
      {"show", "model", "llama-13b", "--phase", "prefill", "--prompt-tokens", "4096"},
      {"show", "model", "no-such-model"},
  };
  for (const auto& args : bad) {
    auto r = run(args);
    std::string joined;
    for (const auto& a : args) joined += a + " ";
    EXPECT_EQ(r.code, 2) << joined << "\n" << r.err;
    EXPECT_EQ(lines(r.err), 1) << joined << "\n" << r.err;
    EXPECT_TRUE(r.out.empty()) << joined;
  }
}

TEST(ShowModel, ContextErrorNamesTheLimit) {
  auto r = run({"show", "model", "llama-13b", "--context", "4096"});
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(has(r.err, "2048")) << r.err;
}
