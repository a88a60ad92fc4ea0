// The command line: exit codes, one-line errors, nothing on stdout when a command fails.
#include <gtest/gtest.h>

#include <sstream>

#include "cli_run.hpp"

namespace {
using Result = gpuperf::testing::CliResult;
Result run(const std::vector<std::string>& args, const std::string& specs = GPUPERF_SPECS_DIR) {
  return gpuperf::testing::run_cli(args, specs);
}

int lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }
}  // namespace

TEST(Cli, ListGpusShowsEveryCard) {
  auto r = run({"list", "gpus"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("rtx-4090"), std::string::npos);
  EXPECT_GE(lines(r.out), 36);
}

TEST(Cli, ListGpusJsonHasStableKeys) {
  auto r = run({"list", "gpus", "--format", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* key : {"\"id\"", "\"memory_bandwidth_gb_s\"", "\"fp16_acc32_tflops\"", "\"launch_price_usd\""})
    EXPECT_NE(r.out.find(key), std::string::npos) << key;
}

TEST(Cli, ListGpusCsvHasOneLinePerCardPlusHeader) {
  auto r = run({"list", "gpus", "--format", "csv"});
  ASSERT_EQ(r.code, 0);
  EXPECT_EQ(r.out.rfind("id,name,arch", 0), 0u);
}

TEST(Cli, ShowGpuPrintsDerivedCeilings) {
  auto r = run({"show", "gpu", "rtx-4090", "--format", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\"memory_bandwidth_gb_s\": 1008"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"published_checks\""), std::string::npos);
}

TEST(Cli, SpecsOptionWorksBeforeTheCommand) {
  auto r = run({"--specs", GPUPERF_SPECS_DIR, "show", "gpu", "rtx-3060-12gb"}, "/nonexistent");
  EXPECT_EQ(r.code, 0) << r.err;
}

TEST(Cli, UnknownGpuIsExit2WithNothingOnStdout) {
  auto r = run({"show", "gpu", "rtx-9999"});
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(r.out.empty());
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("unknown GPU 'rtx-9999'"), std::string::npos);
}

TEST(Cli, UnknownCommandIsExit2) {
  auto r = run({"frobnicate"});
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(r.out.empty());
}

TEST(Cli, UnknownOptionIsExit2) {
  auto r = run({"list", "gpus", "--colour"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(lines(r.err), 1) << r.err;
}

TEST(Cli, BadFormatIsExit2) {
  auto r = run({"list", "gpus", "--format", "xml"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown --format 'xml'"), std::string::npos);
}

TEST(Cli, BadSpecTreeIsOneLineExit2AndNoStdout) {
  auto r = run({"list", "gpus", "--specs", std::string(GPUPERF_TEST_DATA_DIR) + "/bad_trees/duplicate-id"});
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(r.out.empty());
  EXPECT_EQ(lines(r.err), 1) << r.err;
}

TEST(Cli, HelpIsEverywhere) {
  EXPECT_EQ(run({"--help"}).code, 0);
  auto r = run({"list", "gpus", "--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("--format"), std::string::npos);
  EXPECT_EQ(run({"show", "gpu", "--help"}).code, 0);
}

TEST(Cli, NoCommandIsExit2) { EXPECT_EQ(run({}).code, 2); }

TEST(Cli, PrefillScenarioNamesItsPromptLengthNotTheDecodeContext) {
  auto r =
      run({"predict", "--gpu", "rtx-4090", "--model", "llama-7b", "--phase", "prefill", "--prompt-tokens", "2048"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("prefill of 2048 prompt tokens"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("context"), std::string::npos) << r.out;
}

TEST(Cli, LlamaScenarioNamesAFusedAttentionOnly) {
  auto args = [](const char* attention) {
    return run({"predict", "--gpu", "h100-sxm", "--model", "llama3-8b", "--weights", "gptq4-g128", "--context", "8192",
                "--stack", "cuda-graph", "--attention", attention});
  };
  const auto flash = args("flash"), naive = args("naive");
  ASSERT_EQ(flash.code, 0) << flash.err;
  ASSERT_EQ(naive.code, 0) << naive.err;
  EXPECT_NE(flash.out.find("decode at context 8192, gptq4-g128 weights, batch 1, flash attention"), std::string::npos)
      << flash.out;
  EXPECT_EQ(naive.out.find("attention"), std::string::npos) << naive.out;  // the default is not named
}

TEST(Cli, ShowGpuGivesTheTopBoostClockWhereTheSpecHasOne) {
  auto r = run({"show", "gpu", "l4", "--format", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\"max_boost_clock_mhz\": 2040"), std::string::npos) << r.out;
  r = run({"show", "gpu", "rtx-4090", "--format", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.find("max_boost_clock_mhz"), std::string::npos);
}

TEST(Cli, ExplainStatesTheClocksItAssumed) {
  auto r = run({"explain", "--gpu", "l4", "--model", "sd15"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("at 2040 MHz (1 x the rated boost clock of 2040 MHz, held at the card's top boost clock"),
            std::string::npos)
      << r.out;
  r = run({"explain", "--gpu", "h100-sxm", "--model", "sd15", "--stack", "cuda-graph", "--format", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\"core_clock_mhz\": 1980"), std::string::npos) << r.out;
}

// transformers' torch.cat rebuilds the K/V cache every token: the textgen stack moves the whole cache twice
// more per layer than a preallocated one (40 layers x 2047 past entries x K and V x 5120 x 2 bytes, read
// and written), and predict says so where it weighs.
TEST(Cli, PredictCountsAndNamesTheFrameworksCacheRebuild) {
  auto bytes = [](const std::string& json, const std::string& key) {
    const auto at = json.find("\"" + key + "\": ");
    EXPECT_NE(at, std::string::npos) << key << " in " << json;
    return at == std::string::npos ? 0.0 : std::stod(json.substr(at + key.size() + 4));
  };
  auto predict = [](const std::string& stack, const std::string& format) {
    return run({"predict", "--gpu", "rtx-3060-12gb", "--model", "llama-13b", "--weights", "gptq4-g128", "--context",
                "2048", "--stack", stack, "--format", format});
  };
  auto hf = predict("textgen-gptq-2023", "json");
  ASSERT_EQ(hf.code, 0) << hf.err;
  auto fused = predict("cuda-graph", "json");
  ASSERT_EQ(fused.code, 0) << fused.err;
  const double extra = 40.0 * 2047 * 2 * 5120 * 2 * 2;
  EXPECT_NEAR(bytes(hf.out, "kv_cache_update_bytes") - bytes(fused.out, "kv_cache_update_bytes"), extra, 1);
  EXPECT_NEAR((bytes(hf.out, "dram_bytes") - bytes(fused.out, "dram_bytes")) / extra, 1.0, 0.001);
  auto text = predict("textgen-gptq-2023", "table");
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_NE(text.out.find("is the framework rebuilding the cache (torch.cat"), std::string::npos) << text.out;
  text = predict("cuda-graph", "table");
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_EQ(text.out.find("rebuilding the cache"), std::string::npos) << text.out;
  // --kv-cache overrides the framework: textgen with a preallocated cache moves what cuda-graph's does, and
  // cuda-graph with a concatenating one what textgen's does.
  auto with = [](const std::string& stack, const std::string& cache) {
    return run({"predict", "--gpu", "rtx-3060-12gb", "--model", "llama-13b", "--weights", "gptq4-g128", "--context",
                "2048", "--stack", stack, "--kv-cache", cache, "--format", "json"});
  };
  auto pre = with("textgen-gptq-2023", "in-place");
  ASSERT_EQ(pre.code, 0) << pre.err;
  EXPECT_NEAR(bytes(pre.out, "kv_cache_update_bytes"), bytes(fused.out, "kv_cache_update_bytes"), 1);
  EXPECT_NE(pre.out.find("K/V cache in place"), std::string::npos) << pre.out;
  auto cat = with("cuda-graph", "concat");
  ASSERT_EQ(cat.code, 0) << cat.err;
  EXPECT_NEAR(bytes(cat.out, "kv_cache_update_bytes"), bytes(hf.out, "kv_cache_update_bytes"), 1);
  auto bad = with("cuda-graph", "static");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("--kv-cache 'static' is unknown (expected concat or in-place)"), std::string::npos) << bad.err;
  auto sd = run({"predict", "--gpu", "rtx-4090", "--model", "sd15", "--kv-cache", "concat"});
  EXPECT_EQ(sd.code, 2) << sd.out;
  // explain names it too (the rebuild is in the elementwise class's bytes).
  auto why = run(
      {"explain", "--gpu", "rtx-3060-12gb", "--model", "llama-13b", "--weights", "gptq4-g128", "--context", "2048"});
  ASSERT_EQ(why.code, 0) << why.err;
  EXPECT_NE(why.out.find("is the framework rebuilding the cache (torch.cat"), std::string::npos) << why.out;
  why = run({"explain", "--gpu", "rtx-3060-12gb", "--model", "llama-13b", "--weights", "gptq4-g128", "--context",
             "2048", "--format", "json"});
  ASSERT_EQ(why.code, 0) << why.err;
  EXPECT_NEAR(bytes(why.out, "kv_cache_update_bytes"), bytes(hf.out, "kv_cache_update_bytes"), 1);
}

TEST(Cli, TableSaysWhenASetIsOutOfSample) {
  // The survey table is among the default calibration's sets; the held-out replays are not.
  auto r = run({"table", "--measurements", "survey-sd512", "--no-loo"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("MAPE (calibrated fit)"), std::string::npos) << r.out;
  r = run({"table", "--measurements",
           std::string(GPUPERF_SPECS_DIR) + "/../validate/results/h100-sxm-replay-holdout.yaml", "--no-loo"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("MAPE (out of sample: not among the calibration's sets)"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("calibrated fit"), std::string::npos);
}
