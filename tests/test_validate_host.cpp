// validate/host: the host-side rules of gpuperf-validate — statistics, the measurement YAML writer and
// its atomic write, peak computation, the refusal rule, the L2 knee and the emitted GPU spec.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "gpuperf/io/catalog.hpp"
#include "measurement.hpp"
#include "peaks.hpp"
#include "replay_plan.hpp"

using namespace gpuperf::validate;
using namespace gpuperf_replay;
namespace fs = std::filesystem;

namespace {

// What the CUDA runtime reports for an H100 SXM5 80GB.
DeviceInfo h100() {
  DeviceInfo d;
  d.name = "NVIDIA H100 80GB HBM3";
  d.cc_major = 9;
  d.cc_minor = 0;
  d.sm_count = 132;
  d.sm_clock_max_mhz = 1980;
  d.memory_clock_mhz = 2619;
  d.bus_width_bits = 5120;
  d.l2_bytes = 50.0 * 1024 * 1024;
  d.memory_bytes = 79.1 * 1024 * 1024 * 1024;
  d.driver = "580.159.04";
  d.power_limit_default_w = 700;
  return d;
}

Measurement rate(const std::string& kind, double v, std::vector<Condition> cond = {}) {
  return make_measurement("x", kind, "GB/s", {v, v, v}, std::move(cond));
}

}  // namespace

TEST(ValidateStats, SummaryUsesMedianOfEvenCountAndExtremes) {
  Summary s = summarize({4, 1, 3, 2});
  EXPECT_DOUBLE_EQ(s.median, 2.5);
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.max, 4);
  EXPECT_EQ(s.repeats, 4);
  EXPECT_GT(s.noise_pct, 0);
}
TEST(ValidateStats, EmptySamplesGiveNaNAndAreRefused) {
  Summary s = summarize({});
  EXPECT_TRUE(std::isnan(s.median));
  Measurement m = make_measurement("e", "dram_copy_gb_s", "GB/s", {}, {});
  EXPECT_TRUE(refusal(m, compute_peaks(h100())).has_value());
}
TEST(ValidateStats, RatesFromTimesDivideAmountByTime) {
  auto r = rates_from_times({0.5, 0.25}, 1e9, 1e-9);
  EXPECT_DOUBLE_EQ(r[0], 2.0);
  EXPECT_DOUBLE_EQ(r[1], 4.0);
}
TEST(ValidateStats, SmClockConditionsGiveMeanMinAndCountOrNothing) {
  EXPECT_TRUE(sm_clock_conditions({}).empty());  // no NVML: no clock, never an invented one
  Measurement m = make_measurement("g", "gemm_tflops", "TFLOP/s", {1}, sm_clock_conditions({1980, 1755, 1500, 1755}));
  EXPECT_EQ(m.condition("sm_mhz_mean"), "1747.5");
  EXPECT_EQ(m.condition("sm_mhz_min"), "1500");
  EXPECT_EQ(m.condition("sm_mhz_samples"), "4");
}

TEST(ValidatePeaks, H100PeaksComeFromClockBusAndPerSmRate) {
  Peaks p = compute_peaks(h100());
  EXPECT_NEAR(p.dram_gb_s, 2619e6 * 2 * 5120 / 8 / 1e9, 1e-9);  // 3352.3 GB/s
  EXPECT_NEAR(*p.fp16_tflops, 132 * 4096 * 1.98e9 / 1e12, 1e-9);
  EXPECT_NEAR(*p.fp32_tflops, 132 * 256 * 1.98e9 / 1e12, 1e-9);  // 66.9 TFLOP/s
  EXPECT_NEAR(*p.int8_tops, 2 * *p.fp16_tflops, 1e-9);
}
TEST(ValidatePeaks, NvmlMaxClockRaisesTheCeilingNeverLowersIt) {
  DeviceInfo d = h100();
  d.nvml_max_sm_clock_mhz = 1000;
  EXPECT_DOUBLE_EQ(compute_peaks(d).clock_mhz, 1980);
  d.nvml_max_sm_clock_mhz = 2100;
  EXPECT_DOUBLE_EQ(compute_peaks(d).clock_mhz, 2100);
}
TEST(ValidatePeaks, PerSmRatesMatchSpecsArches) {
  auto cat = gpuperf::io::load_catalog(GPUPERF_SPECS_DIR);
  for (const auto& a : cat.arches) {
    const int major = std::stoi(a.compute_capability.substr(0, a.compute_capability.find('.')));
    const int minor = std::stoi(a.compute_capability.substr(a.compute_capability.find('.') + 1));
    auto r = per_sm_rates(major, minor);
    ASSERT_TRUE(r.has_value()) << a.id;
    EXPECT_EQ(arch_id_for(major, minor), a.id);
    EXPECT_DOUBLE_EQ(r->fp32_flop_per_clk, 2.0 * a.fp32_lanes_per_sm) << a.id;
    auto rate = [&](gpuperf::TensorMode m) { return a.tensor_dense_flop_per_clk_per_sm[static_cast<size_t>(m)]; };
    EXPECT_EQ(r->fp16, rate(gpuperf::TensorMode::fp16_acc32)) << a.id;
    EXPECT_EQ(r->tf32, rate(gpuperf::TensorMode::tf32)) << a.id;
    EXPECT_EQ(r->fp8, rate(gpuperf::TensorMode::fp8_acc32)) << a.id;
    EXPECT_EQ(r->int8, rate(gpuperf::TensorMode::int8)) << a.id;
  }
}

TEST(ValidateRefusal, BandwidthAboveTheoreticalPeakIsRefused) {
  Peaks p = compute_peaks(h100());
  EXPECT_FALSE(refusal(rate("dram_copy_gb_s", 3000), p).has_value());
  auto r = refusal(rate("dram_copy_gb_s", 3400), p);
  ASSERT_TRUE(r.has_value());
  EXPECT_NE(r->find("above the card's theoretical peak"), std::string::npos) << *r;
  EXPECT_TRUE(refusal(rate("gemv_q4_gb_s", 3353), p).has_value());
}
TEST(ValidateRefusal, OneSampleAbovePeakIsRefusedEvenIfTheMedianIsBelow) {
  Peaks p = compute_peaks(h100());
  Measurement m = make_measurement("c", "dram_read_gb_s", "GB/s", {3000, 3001, 3500}, {});
  EXPECT_TRUE(refusal(m, p).has_value());
}
TEST(ValidateRefusal, GemmIsCheckedAgainstItsDtypeRate) {
  Peaks p = compute_peaks(h100());  // fp16 1070.5, fp8/int8 2141 at 1980 MHz
  EXPECT_FALSE(refusal(rate("gemm_tflops", 750, {{"dtype", std::string("fp16")}}), p).has_value());
  EXPECT_TRUE(refusal(rate("gemm_tflops", 1100, {{"dtype", std::string("fp16")}}), p).has_value());
  EXPECT_FALSE(refusal(rate("gemm_tflops", 1100, {{"dtype", std::string("fp8")}}), p).has_value());
  EXPECT_TRUE(refusal(rate("gemm_tflops", 600, {{"dtype", std::string("tf32")}}), p).has_value());
  EXPECT_TRUE(refusal(rate("gemm_tflops", 10, {{"dtype", std::string("fp4")}}), p).has_value());
}
TEST(ValidateRefusal, AttentionAndItsExponentialProbeAreCheckedAgainstTheFp16TensorRate) {
  Peaks p = compute_peaks(h100());  // fp16 1070.5 at 1980 MHz
  for (const char* kind : {"attention_tflops", "attention_exp_probe_tflops"}) {
    EXPECT_FALSE(refusal(rate(kind, 230), p).has_value()) << kind;
    EXPECT_TRUE(refusal(rate(kind, 1100), p).has_value()) << kind;
  }
}
TEST(ValidateRefusal, Fp32AboveLanesTimesClockIsRefused) {
  Peaks p = compute_peaks(h100());
  EXPECT_FALSE(refusal(rate("fp32_fma_tflops", 60), p).has_value());
  EXPECT_TRUE(refusal(rate("fp32_fma_tflops", 70), p).has_value());
}
TEST(ValidateRefusal, UnknownArchitectureCannotBeCheckedSoIsRefused) {
  DeviceInfo d = h100();
  d.cc_major = 99;
  Peaks p = compute_peaks(d);
  EXPECT_TRUE(refusal(rate("gemm_tflops", 1, {{"dtype", std::string("fp16")}}), p).has_value());
  EXPECT_FALSE(refusal(rate("dram_copy_gb_s", 1000), p).has_value());  // DRAM needs no per-SM rate
}
TEST(ValidateRefusal, NonFiniteNonPositiveAndUnknownKindsAreRefused) {
  Peaks p = compute_peaks(h100());
  EXPECT_TRUE(refusal(rate("launch_latency_us", std::nan("")), p).has_value());
  EXPECT_TRUE(refusal(rate("launch_latency_us", 0), p).has_value());
  EXPECT_FALSE(refusal(rate("launch_latency_us", 2.5), p).has_value());
  EXPECT_TRUE(refusal(rate("made_up_kind", 1), p).has_value());
}
TEST(ValidateRefusal, RefusalsListsEveryBadFigure) {
  Peaks p = compute_peaks(h100());
  auto r = refusals({rate("dram_copy_gb_s", 3000), rate("dram_copy_gb_s", 9000), rate("l2_read_gb_s", 1e6)}, p);
  EXPECT_EQ(r.size(), 2u);
}

TEST(ValidateL2Knee, HalfwayDropIsInterpolatedOnLogSize) {
  std::vector<SweepPoint> sweep = {{1, 9000},  {8, 10000},  {16, 10000}, {32, 10000},
                                   {64, 3000}, {128, 3000}, {256, 3000}, {512, 3000}};
  auto knee = l2_knee_mib(sweep, 50);
  ASSERT_TRUE(knee.has_value());
  // Halfway is 6500 GB/s: half of the way from 32 to 64 MiB on a log axis = 32 * 2^0.5.
  EXPECT_NEAR(*knee, 32 * std::sqrt(2.0), 1e-9);
}
TEST(ValidateL2Knee, FlatSweepHasNoKnee) {
  std::vector<SweepPoint> sweep = {{1, 3000}, {64, 3000}, {256, 3000}, {512, 3000}};
  EXPECT_FALSE(l2_knee_mib(sweep, 50).has_value());
}

TEST(ValidateYaml, NumbersAndStringsAreValidYaml) {
  EXPECT_EQ(yaml_number(132), "132");
  EXPECT_EQ(yaml_number(3012.3456), "3012.346");
  EXPECT_EQ(yaml_number(std::nan("")), ".nan");
  EXPECT_EQ(yaml_quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
}
TEST(ValidateYaml, MeasurementFileRoundTripsThroughAYamlParser) {
  MeasurementFile f;
  f.date = "2026-01-02";
  f.card_id = "h100-sxm";
  f.device = h100();
  f.device.sm_clocks_seen_mhz = {1980, 1755};
  f.peaks = peaks_for_file(compute_peaks(f.device));
  f.micro.push_back(make_measurement("dram-copy", "dram_copy_gb_s", "GB/s", {3000, 3010, 2990},
                                     {{"buffer_mib", 4096.0}, {"method", std::string("kernel")}}));
  f.micro.push_back(make_measurement("gemm", "gemm_tflops", "TFLOP/s", {700},
                                     {{"dtype", std::string("fp16")}, {"m", std::int64_t(8192)}}));
  YAML::Node y = YAML::Load(to_yaml(f));
  EXPECT_EQ(y["version"].as<int>(), 1);
  EXPECT_EQ(y["device"]["name"].as<std::string>(), "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(y["device"]["sm_count"].as<int>(), 132);
  EXPECT_EQ(y["device"]["clocks_seen"]["sm_mhz"]["max"].as<double>(), 1980);
  EXPECT_NEAR(y["peaks"]["dram_gb_s"].as<double>(), 3352.3, 0.05);
  ASSERT_EQ(y["micro"].size(), 2u);
  const YAML::Node m = y["micro"][0];
  EXPECT_EQ(m["kind"].as<std::string>(), "dram_copy_gb_s");
  EXPECT_DOUBLE_EQ(m["value"].as<double>(), 3000);
  EXPECT_DOUBLE_EQ(m["min"].as<double>(), 2990);
  EXPECT_EQ(m["repeats"].as<int>(), 3);
  EXPECT_EQ(m["conditions"]["method"].as<std::string>(), "kernel");
  EXPECT_EQ(y["micro"][1]["conditions"]["m"].as<int>(), 8192);
}
TEST(ValidateYaml, AtomicWriteReplacesTheFileAndLeavesNoTemporary) {
  fs::path dir = fs::temp_directory_path() / ("gpuperf-validate-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::path p = dir / "m.yaml";
  write_file_atomically(p, "one\n");
  write_file_atomically(p, "two\n");
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), "two\n");
  int files = 0;
  for (auto& e : fs::directory_iterator(dir)) (void)e, ++files;
  EXPECT_EQ(files, 1);
  EXPECT_THROW(write_file_atomically(dir / "no-such-dir" / "x.yaml", "x"), std::runtime_error);
  fs::remove_all(dir);
}

TEST(ValidateSpec, CardIdsMatchSpecsForKnownCards) {
  EXPECT_EQ(card_id_for("NVIDIA H100 80GB HBM3"), "h100-sxm");
  EXPECT_EQ(card_id_for("NVIDIA H100 PCIe"), "h100-pcie");
  EXPECT_EQ(card_id_for("NVIDIA GeForce RTX 4090"), "rtx-4090");
}
TEST(ValidateSpec, EmittedSpecLoadsOnceLaunchFieldsAreFilledIn) {
  std::string text = emit_gpu_spec(h100(), "h100-sxm-measured", "2026-01-02");
  EXPECT_NE(text.find("measured by gpuperf-validate on 2026-01-02"), std::string::npos);
  auto replace = [&](const std::string& from, const std::string& to) {
    auto at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
  };
  replace("price_usd: null", "price_usd: 30000");
  replace("price_basis: null", "price_basis: street-estimate");
  replace("date: null", "date: 2023-03-21");
  fs::path dir = fs::temp_directory_path() / ("gpuperf-spec-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::path p = dir / "h100-sxm-measured.yaml";
  {
    std::ofstream out(p);
    out << text;
  }
  auto cat = gpuperf::io::load_catalog(GPUPERF_SPECS_DIR);
  gpuperf::GpuSpec g;
  EXPECT_NO_THROW(g = gpuperf::io::load_gpu_file(p, cat.arches));
  fs::remove_all(dir);
  EXPECT_EQ(g.sm_count, 132);
  EXPECT_EQ(g.cuda_cores, 16896);
}

namespace {
int count_kind(const ReplayPlan& p, ReplayKind k) {
  int n = 0;
  for (const auto& op : p.ops) n += op.kind == k;
  return n;
}
}  // namespace

TEST(ValidateReplay, LlamaDecodePlanIsTheModelsGraph) {
  const ReplayPlan p = llama_decode_plan(GPUPERF_SPECS_DIR, "llama-13b", "gptq4-g128", 512);
  EXPECT_EQ(p.layers, 40);
  EXPECT_EQ(p.heads, 40);
  EXPECT_EQ(p.head_dim, 128);
  EXPECT_EQ(count_kind(p, ReplayKind::gemv_q4), 40 * 7);
  EXPECT_EQ(count_kind(p, ReplayKind::gemv_fp16), 1);  // lm_head stays fp16 under GPTQ
  EXPECT_EQ(count_kind(p, ReplayKind::attn_scores), 40);
  EXPECT_EQ(count_kind(p, ReplayKind::attn_softmax), 40);
  EXPECT_EQ(count_kind(p, ReplayKind::attn_pv), 40);
  double w = 0;
  for (const auto& op : p.ops) {
    w += op.weight_bytes;
    if (op.kind == ReplayKind::gemv_q4) {
      EXPECT_EQ(op.k % 256, 0) << op.name;
      EXPECT_NEAR(op.weight_bytes, double(op.n) * double(op.k) / 2 + double(op.n) * double(op.k / 128) * 4,
                  double(op.n) * double(op.k) * 0.02)
          << op.name;  // the kernel's bytes: nibbles + fp16 scale/zero per group (GPTQ packs the zero)
    }
    if (op.kind == ReplayKind::attn_scores) {
      EXPECT_DOUBLE_EQ(op.cache_bytes, 512.0 * 5120 * 2) << op.name;
    }
  }
  EXPECT_NEAR(w, p.weight_bytes, 1.0);
  EXPECT_GT(p.weight_bytes, 6.5e9);
  EXPECT_LT(p.weight_bytes, 7.5e9);
  const ReplayPlan f = llama_decode_plan(GPUPERF_SPECS_DIR, "llama-13b", "fp16", 512);
  EXPECT_EQ(count_kind(f, ReplayKind::gemv_fp16), 40 * 7 + 1);
  EXPECT_EQ(count_kind(f, ReplayKind::gemv_q4), 0);
  EXPECT_GT(f.weight_bytes, 25e9);
}

TEST(ValidateReplay, LlamaDecodeFlashPlanRunsEachAttentionAsOneDecodeOp) {
  const ReplayPlan n = llama_decode_plan(GPUPERF_SPECS_DIR, "llama3-8b", "gptq4-g128", 8192);
  const ReplayPlan p = llama_decode_plan(GPUPERF_SPECS_DIR, "llama3-8b", "gptq4-g128", 8192, true);
  EXPECT_NE(p.workload, n.workload);
  EXPECT_EQ(count_kind(p, ReplayKind::attn_decode), 32);
  EXPECT_EQ(count_kind(p, ReplayKind::attn_scores), 0);
  EXPECT_EQ(count_kind(p, ReplayKind::attn_softmax), 0);
  EXPECT_EQ(count_kind(p, ReplayKind::attn_pv), 0);
  EXPECT_EQ(count_kind(p, ReplayKind::attn_fused), 0);
  EXPECT_EQ(p.ops.size(), n.ops.size() - 2 * 32);  // three attention ops a layer become one
  EXPECT_EQ(p.heads / p.kv_heads, 4);
  double nkv = 0;
  for (const auto& op : n.ops)
    nkv += (op.kind == ReplayKind::attn_scores || op.kind == ReplayKind::attn_pv) ? op.cache_bytes : 0;
  for (const auto& op : p.ops) {
    if (op.kind != ReplayKind::attn_decode) continue;
    EXPECT_EQ(op.m, 1) << op.name;
    EXPECT_EQ(op.n, 8192) << op.name;
    EXPECT_EQ(op.k, 128) << op.name;
    EXPECT_GE(op.layer, 0) << op.name;
    // K and V of the 8 K/V heads read once: what the naive plan's scores and P·V read.
    EXPECT_DOUBLE_EQ(op.cache_bytes, 2.0 * 8192 * 8 * 128 * 2) << op.name;
  }
  EXPECT_DOUBLE_EQ(nkv, 32 * 2.0 * 8192 * 8 * 128 * 2);
  EXPECT_DOUBLE_EQ(p.weight_bytes, n.weight_bytes);
}

TEST(ValidateReplay, SdUnetPlanRunsEveryMatrixOpAsAGemm) {
  const ReplayPlan p = sd_unet_plan(GPUPERF_SPECS_DIR, "sd15", 512, 1, true);
  int gemms = 0;
  for (const auto& op : p.ops) {
    EXPECT_NE(op.op_class, "attention") << op.name;  // naive attention: scores and PV are GEMMs
    if (op.op_class == "conv" || op.op_class == "gemm") {
      EXPECT_EQ(op.kind, ReplayKind::gemm) << op.name;
      EXPECT_GT(op.m * op.n * op.k, 0) << op.name;
      ++gemms;
    }
  }
  EXPECT_GT(gemms, 100);
  EXPECT_GT(p.flops, 1e12);
}

TEST(ValidateReplay, SdUnetFlashPlanRunsEachAttentionAsOneFusedOp) {
  const ReplayPlan p = sd_unet_plan(GPUPERF_SPECS_DIR, "sd15", 2048, 1152, 1, true, true);
  int fused = 0;
  for (const auto& op : p.ops) {
    EXPECT_NE(op.kind, ReplayKind::attn_softmax) << op.name;
    if (op.op_class != "attention") continue;
    EXPECT_EQ(op.kind, ReplayKind::attn_fused) << op.name;
    EXPECT_EQ(op.batch, 2 * 8) << op.name;  // CFG batch 2 x 8 heads
    if (op.m == 256 * 144) {
      EXPECT_EQ(op.k, 40) << op.name;  // first level: latent 256x144, head dim 40
    }
    ++fused;
  }
  EXPECT_EQ(fused, 32);  // 16 transformer blocks x (self, cross)
}

TEST(ValidateReplay, UnknownModelOrFormatIsAnError) {
  EXPECT_THROW(llama_decode_plan(GPUPERF_SPECS_DIR, "no-such-model", "fp16", 512), std::exception);
  EXPECT_THROW(llama_decode_plan(GPUPERF_SPECS_DIR, "llama-13b", "gptq5", 512), std::exception);
  EXPECT_THROW(sd_unet_plan(GPUPERF_SPECS_DIR, "llama-13b", 512, 1, true), std::exception);
}

namespace {
// A points file written as <f.id>.yaml into a fresh temp folder and read back through the strict loader.
std::vector<LoadedPoint> write_and_load(const ReplayPointsFile& f, std::string* id = nullptr) {
  const fs::path dir = fs::temp_directory_path() / ("gpuperf-points-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path p = dir / (f.id + ".yaml");
  std::ofstream(p) << to_yaml(f);
  struct Cleanup {
    fs::path d;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(d, ec);
    }
  } cleanup{dir};
  return load_replay_points(p.string(), GPUPERF_SPECS_DIR, id);
}
}  // namespace

TEST(ValidateReplay, PointsFileLoadsThroughTheStrictMeasurementLoader) {
  ReplayPointsFile f;
  f.id = "h100-sxm-replay";
  f.gpu = "h100-sxm";
  f.description = "Workload replay by gpuperf-validate.";
  f.conditions = "NVIDIA H100 80GB HBM3, driver 580, CUDA 13.0, 2026-01-02.";
  const std::string q4 =
      "{phase: decode, context: 512, batch: 1, weights: gptq4-g128, kv_dtype: fp16, attention: naive}";
  const std::string f16 = "{phase: decode, context: 512, batch: 1, weights: fp16, kv_dtype: fp16, attention: naive}";
  const std::string sd = "{resolution: 512x512, batch: 1, cfg: true, steps: 20, attention: naive, precision: fp16}";
  f.points = {{"llama-13b", "cuda-graph", "tokens/s", q4, 312.5, "graph, 3.2 ms"},
              {"llama-13b", "cuda-eager", "tokens/s", q4, 250, ""},
              {"llama-13b", "cuda-graph", "tokens/s", f16, 90, ""},
              {"sd15", "cuda-graph", "it/s", sd, 30.5, "graph"}};
  f.sources = {"measured by gpuperf-validate (validate/RUNS.md run 3)"};
  std::vector<LoadedPoint> pts;
  std::string id;
  EXPECT_NO_THROW(pts = write_and_load(f, &id)) << to_yaml(f);
  ASSERT_EQ(pts.size(), 4u);
  EXPECT_EQ(id, "h100-sxm-replay");
  EXPECT_EQ(pts[0].gpu, "h100-sxm");
  EXPECT_EQ(pts[0].stack, "cuda-graph");
  EXPECT_EQ(pts[1].stack, "cuda-eager");
  EXPECT_EQ(pts[3].model, "sd15");
  EXPECT_EQ(pts[3].metric, "it/s");
  EXPECT_DOUBLE_EQ(pts[0].value, 312.5);
  EXPECT_THROW(to_yaml(ReplayPointsFile{}), std::invalid_argument);
}

TEST(ValidateReplay, CommittedReplayResultsLoad) {
  const fs::path file = fs::path(GPUPERF_SPECS_DIR) / ".." / "validate" / "results" / "h100-sxm-replay.yaml";
  ASSERT_TRUE(fs::exists(file)) << file;
  std::string id;
  std::vector<LoadedPoint> pts;
  ASSERT_NO_THROW(pts = load_replay_points(file.string(), GPUPERF_SPECS_DIR, &id));
  EXPECT_EQ(id, "h100-sxm-replay");
  // LLaMA 4-bit (graph, graph with PDL, eager), fp16; SD 512 naive, 512 and 2048x1152 fused: graph + eager.
  ASSERT_EQ(pts.size(), 11u);
  for (const auto& p : pts) EXPECT_EQ(p.gpu, "h100-sxm");
}

TEST(ValidateReplay, HoldoutScenariosBuildPlansAndLoadAsPoints) {
  const auto hs = holdout_scenarios();
  ASSERT_GE(hs.size(), 6u);
  std::set<std::string> tags;
  ReplayPointsFile f;
  f.id = "h100-sxm-replay-holdout";
  f.gpu = "h100-sxm";
  f.description = "Held-out workload replays.";
  f.conditions = "NVIDIA H100 80GB HBM3, 2026-01-02.";
  f.sources = {"test"};
  for (const auto& h : hs) {
    EXPECT_TRUE(tags.insert(h.tag).second) << h.tag;
    const ReplayPlan p = holdout_plan(GPUPERF_SPECS_DIR, h);
    EXPECT_FALSE(p.ops.empty()) << h.tag;
    if (h.llm) {
      EXPECT_EQ(p.context, h.context) << h.tag;
      EXPECT_EQ(p.heads % p.kv_heads, 0) << h.tag;
      if (h.model_id == "llama3-8b") {
        EXPECT_EQ(p.heads / p.kv_heads, 4) << h.tag;  // grouped-query attention
      }
      if (h.model_id == "llama-7b") {
        EXPECT_EQ(p.kv_heads, p.heads) << h.tag;
      }
      for (const auto& op : p.ops) {
        if (op.kind == ReplayKind::gemv_q4) {
          EXPECT_EQ(op.k % 256, 0) << h.tag << " " << op.name;
          EXPECT_LE(op.k, 16384) << h.tag << " " << op.name;  // the GEMV kernels' x staging
        }
      }
    } else {
      EXPECT_GT(count_kind(p, ReplayKind::attn_fused), 0) << h.tag;
      EXPECT_EQ(count_kind(p, ReplayKind::attn_scores), 0) << h.tag;
    }
    f.points.push_back({h.model_id, "cuda-graph", h.llm ? "tokens/s" : "it/s", h.scenario, 10, ""});
    f.points.push_back({h.model_id, "cuda-eager", h.llm ? "tokens/s" : "it/s", h.scenario, 9, ""});
  }
  // None of them is a scenario the calibration's replay file holds (LLaMA-13B at context 512 naive).
  for (const auto& h : hs) EXPECT_FALSE(h.model_id == "llama-13b" && h.context == 512 && !h.flash) << h.tag;
  // The fused decode attention at the calibration's shape, with the step's fused variants, and at length.
  int flash = 0;
  for (const auto& h : hs) {
    if (!h.flash) continue;
    ++flash;
    EXPECT_NE(h.scenario.find("attention: flash"), std::string::npos) << h.tag;
    EXPECT_GT(count_kind(holdout_plan(GPUPERF_SPECS_DIR, h), ReplayKind::attn_decode), 0) << h.tag;
  }
  EXPECT_GE(flash, 3);
  std::vector<LoadedPoint> pts;
  EXPECT_NO_THROW(pts = write_and_load(f)) << to_yaml(f);
  EXPECT_EQ(pts.size(), 2 * hs.size());
}
