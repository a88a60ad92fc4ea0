// Measurement sets: the survey's tables load; bad points are rejected with their one-line message.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "gpuperf/io/catalog.hpp"
#include "gpuperf/io/measurements_loader.hpp"
#include "gpuperf/io/model_loader.hpp"
#include "gpuperf/io/params_loader.hpp"

namespace fs = std::filesystem;
using namespace gpuperf;

namespace {
struct World {
  io::Catalog catalog = io::load_catalog(GPUPERF_SPECS_DIR);
  std::vector<ModelSpec> models = io::load_models(GPUPERF_SPECS_DIR);
  std::vector<StackSpec> stacks = io::load_stacks(GPUPERF_SPECS_DIR);
};
const World& world() {
  static const World w;
  return w;
}
MeasurementSet load(const fs::path& p) {
  return io::load_measurement_set(p, world().catalog, world().models, world().stacks);
}
}  // namespace

TEST(Measurements, TheThreeSurveyTablesLoad) {
  fs::path dir = fs::path(GPUPERF_SPECS_DIR) / "measurements";
  EXPECT_EQ(load(dir / "survey-sd512.yaml").points.size(), 13u);
  EXPECT_EQ(load(dir / "survey-sd-hires.yaml").points.size(), 13u);
  MeasurementSet ll = load(dir / "survey-llama13b-4bit.yaml");
  ASSERT_EQ(ll.points.size(), 9u);
  EXPECT_EQ(ll.points[0].gpu_id, "rtx-4090");
  EXPECT_DOUBLE_EQ(ll.points[0].value, 25.82);
  EXPECT_EQ(ll.points[0].metric, "tokens/s");
}

TEST(Measurements, HiresSetCountsTheHighResolutionPass) {
  MeasurementSet s = load(fs::path(GPUPERF_SPECS_DIR) / "measurements" / "survey-sd-hires.yaml");
  EXPECT_EQ(s.points[0].sd_pass, 1);
  const auto& sd = std::get<SdScenario>(s.points[0].scenario);
  ASSERT_TRUE(sd.hires.has_value());
  EXPECT_EQ(sd.hires->width, 2048);
  EXPECT_EQ(sd.hires->height, 1152);
}

class BadMeasurement : public ::testing::TestWithParam<fs::path> {};

TEST_P(BadMeasurement, IsRejectedWithItsMessage) {
  std::ifstream in(GetParam());
  std::string expect;
  std::getline(in, expect);
  ASSERT_EQ(expect.rfind("# expect: ", 0), 0u);
  expect = expect.substr(10);
  try {
    load(GetParam());
    FAIL() << "accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(expect), std::string::npos) << e.what() << "\nexpected: " << expect;
  }
}

std::vector<fs::path> bad_files() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(fs::path(GPUPERF_TEST_DATA_DIR) / "bad_measurements"))
    out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::string bad_name(const ::testing::TestParamInfo<fs::path>& p) {
  std::string n = p.param.stem().string();
  for (char& c : n)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadMeasurement, ::testing::ValuesIn(bad_files()), bad_name);

TEST(Params, PriorsAndStacksLoadAndEveryStackResolves) {
  ParamSet p = io::load_params(GPUPERF_SPECS_DIR, std::nullopt);
  for (const auto& s : world().stacks) {
    std::vector<std::string> missing;
    resolve_stack(p, s, missing);
    EXPECT_TRUE(missing.empty()) << s.id;
  }
  for (const auto& a : world().catalog.arches) {
    std::vector<std::string> missing;
    resolve_hardware(p, a.id, missing);
    EXPECT_TRUE(missing.empty()) << a.id;
  }
}

TEST(Params, ArchitectureScopedValueOverridesTheUnscopedOne) {
  ParamSet p;
  p.set({"tensor_efficiency", 0.5, 0, 1, "", "", true});
  p.set({"ada-ad10x.tensor_efficiency", 0.7, 0, 1, "", "", true});
  EXPECT_EQ(p.lookup("ada-ad10x", "tensor_efficiency"), 0.7);
  EXPECT_EQ(p.lookup("ampere-ga10x", "tensor_efficiency"), 0.5);
  EXPECT_FALSE(p.lookup("ada-ad10x", "nothing").has_value());
}

TEST(Params, SetValueClampsToBounds) {
  ParamSet p;
  p.set({"x", 0.5, 0.1, 1, "", "", true});
  p.set_value("x", 7);
  EXPECT_EQ(p.find("x")->value, 1);
}

TEST(Params, TheDefaultCalibrationLoadsAndNamesOnlyKnownParameters) {
  auto cal = io::default_calibration(GPUPERF_SPECS_DIR);
  ASSERT_TRUE(cal.has_value());
  EXPECT_NO_THROW(io::load_params(GPUPERF_SPECS_DIR, cal));
}

TEST(Params, TheDefaultCalibrationHasTheSurveyAndTheH100AsSeparateBlocks) {
  auto f = io::load_param_file(*io::default_calibration(GPUPERF_SPECS_DIR));
  ASSERT_EQ(f.blocks.size(), 2u);
  for (const auto& b : f.blocks) {
    EXPECT_GT(b.dof, 0);
    EXPECT_GT(b.residual_sd_log, 0.0);
    const bool hopper = b.names.front().rfind("hopper-gh100.", 0) == 0;
    for (const auto& n : b.names) EXPECT_EQ(n.rfind("hopper-gh100.", 0) == 0, hopper) << n;
  }
}

TEST(Params, ACalibrationBlockMustNameCovarianceParametersOnce) {
  auto write = [](const std::string& blocks) {
    const std::string id = "gpuperf-blocks-" + std::to_string(::getpid());
    fs::path p = fs::temp_directory_path() / (id + ".yaml");
    std::ofstream(p) << "version: 1\nid: " << id
                     << "\ndescription: x\nparameters:\n"
                        "  - {name: a, value: 0.5, min: 0, max: 1, meaning: m}\n"
                        "  - {name: b, value: 0.5, min: 0, max: 1, meaning: m}\n"
                        "covariance:\n  names: [a, b]\n  matrix:\n    - [1, 0]\n    - [0, 1]\n"
                     << blocks << "sources: [s]\n";
    return p;
  };
  fs::path good = write(
      "blocks:\n  - {names: [a], residual_sd_log: 0.1, dof: 3}\n  - {names: [b], residual_sd_log: 0.2, dof: 4}\n");
  auto f = io::load_param_file(good);
  ASSERT_EQ(f.blocks.size(), 2u);
  EXPECT_EQ(f.blocks[1].dof, 4);
  EXPECT_DOUBLE_EQ(f.blocks[1].residual_sd_log, 0.2);
  for (const char* bad :
       {"blocks:\n  - {names: [z], residual_sd_log: 0.1, dof: 3}\n",
        "blocks:\n  - {names: [a], residual_sd_log: 0.1, dof: 3}\n  - {names: [a], residual_sd_log: 0.1, dof: 3}\n",
        "blocks:\n  - {names: [a], residual_sd_log: -1, dof: 3}\n",
        "blocks:\n  - {names: [a], residual_sd_log: 0.1, dof: 2.5}\n"}) {
    fs::path p = write(bad);
    try {
      io::load_param_file(p);
      ADD_FAILURE() << bad;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("blocks["), std::string::npos) << e.what();
    }
  }
  fs::remove(good);
}

TEST(Measurements, ValidateMicroFilesBecomeOneOpPoints) {
  MeasurementSet s = load(fs::path(GPUPERF_SPECS_DIR).parent_path() / "validate" / "results" / "h100-sxm.yaml");
  ASSERT_GE(s.points.size(), 10u);
  int gemms = 0, copies = 0, gemvs = 0, attentions = 0;
  std::map<std::string, double> gemv_by_shape_and_stack;
  for (const auto& p : s.points) {
    ASSERT_TRUE(p.micro.has_value());
    EXPECT_EQ(p.gpu_id, "h100-sxm");
    // Each point under the stack it was timed with: GEMVs in graphs (with programmatic dependent launch
    // where they ran with it), the rest in launch loops.
    const bool gemv = p.micro_id.rfind("gemv", 0) == 0, gemm = p.micro_id.rfind("gemm", 0) == 0;
    const bool in_graph = p.micro_id.find("-graph") != std::string::npos;
    EXPECT_EQ(p.stack_id, gemm && in_graph                               ? "cuda-graph"
                          : gemm                                         ? "cuda-stream-cublas"
                          : !gemv                                        ? "cuda-stream"
                          : p.micro_id.find("-pdl") != std::string::npos ? "cuda-graph-pdl"
                                                                         : "cuda-graph")
        << p.micro_id;
    ASSERT_EQ(p.micro->graph.ops.size(), 1u);
    switch (p.micro->graph.ops[0].op_class) {
      case OpClass::gemm:
        ++gemms;
        break;
      case OpClass::elementwise:
        ++copies;
        break;
      case OpClass::dequant_gemv: {
        ++gemvs;
        const Op& op = p.micro->graph.ops[0];
        gemv_by_shape_and_stack[std::to_string(op.gemm.n) + "x" + std::to_string(op.gemm.k) + " " + p.stack_id] =
            p.value;
        break;
      }
      case OpClass::attention: {
        ++attentions;
        const Op& op = p.micro->graph.ops[0];
        EXPECT_EQ(op.tensor_mode, TensorMode::fp16_acc32);
        // 4 · (sequence, head) pairs · queries · keys · head dim, and the rate's unit is TFLOP/s.
        EXPECT_DOUBLE_EQ(op.flops, 4.0 * static_cast<double>(op.gemm.batch * op.gemm.m * op.gemm.n * op.gemm.k));
        EXPECT_DOUBLE_EQ(p.micro->items_per_step, op.flops / 1e12);
        break;
      }
      default:
        ADD_FAILURE() << p.micro_id;
    }
  }
  EXPECT_GE(gemms, 6);
  EXPECT_EQ(copies, 1);  // the plain copy kernel
  EXPECT_EQ(gemvs, 6);   // the replay's kernel at each LLaMA-13B shape, in a plain graph and with PDL
  ASSERT_EQ(gemv_by_shape_and_stack.size(), 6u);
  // PDL hides part of each GEMV's fixed cost (run 22, q/k/v/o: 1606 -> 1997 GB/s in run 18).
  EXPECT_GT(gemv_by_shape_and_stack["5120x5120 cuda-graph-pdl"], 1.1 * gemv_by_shape_and_stack["5120x5120 cuda-graph"]);
  EXPECT_GE(attentions, 8);  // every SD 1.5 self- and cross-attention shape at both resolutions
}

// Which GEMM figures of a gpuperf-validate file become points: per shape, the graph-timed figure of
// cuBLASLt's first heuristic candidate where there is one (what a framework's call gets), else the
// suite's pick; no call loop where the shape was timed in a graph (the loop times the host); no
// figure whose TN output has a leading dimension off 16 bytes (m = 154 or 2 rows of fp16).
TEST(Measurements, MicroGemmFiguresKeptPerShape) {
  const std::string id = "gpuperf-micro-" + std::to_string(::getpid());
  fs::path p = fs::temp_directory_path() / (id + ".yaml");
  auto gemm = [](const std::string& name, double value, int m, const std::string& extra) {
    return "  - id: " + name + "\n    kind: gemm_tflops\n    value: " + std::to_string(value) +
           "\n    conditions: {dtype: fp16, accumulate: fp32, m: " + std::to_string(m) +
           ", n: 1280, k: 1280, batch: 1, layout: TN" + extra + "}\n";
  };
  std::ofstream(p) << "version: 1\ngenerator: gpuperf-validate\ndate: \"2026-11-26\"\ncard_id: h100-sxm\n"
                      "device: {}\npeaks: {}\nmicro:\n"
                   << gemm("a-loop", 100, 512, "") << gemm("a-graph", 300, 512, ", launch: graph")
                   << gemm("a-graph-heuristic", 250, 512, ", launch: graph, algo: \"heuristic's first\"")
                   << gemm("b-loop", 200, 4096, "") << gemm("c-graph", 1, 2, ", launch: graph")
                   << gemm("d-graph", 2, 1280, ", launch: graph");
  MeasurementSet s = load(p);
  fs::remove(p);
  std::map<std::string, std::string> kept;
  for (const auto& pt : s.points) kept[pt.micro_id] = pt.stack_id;
  EXPECT_EQ(kept.size(), 3u);
  EXPECT_EQ(kept["a-graph-heuristic"], "cuda-graph");  // preferred to a-graph, and a-loop dropped
  EXPECT_EQ(kept["b-loop"], "cuda-stream-cublas");     // no graph figure at its shape: the loop stays
  EXPECT_EQ(kept["d-graph"], "cuda-graph");            // m = 1280: aligned
  EXPECT_EQ(kept.count("c-graph"), 0u);                // m = 2: D's leading dimension is 4 bytes
}

// Which 4-bit GEMV figures become points: where the file has the LLaMA layer graphs, those of the kernel
// whose layer graph is fastest (the replay's kernel, as gpuperf-validate picks it; never the row-pair
// kernel), the fastest of them per shape and launch; without layer graphs, the fastest kernel per shape.
TEST(Measurements, MicroGemvFiguresAreTheReplaysKernels) {
  const std::string id = "gpuperf-gemv-" + std::to_string(::getpid());
  fs::path p = fs::temp_directory_path() / (id + ".yaml");
  auto gemv = [](const std::string& name, double value, const std::string& kernel, const std::string& shape,
                 const std::string& pdl) {
    return "  - id: " + name + "\n    kind: gemv_q4_gb_s\n    value: " + std::to_string(value) +
           "\n    conditions: {shape: " + shape + ", n: 4096, k: 4096, kernel: " + kernel +
           ", mode: graph, pdl: " + pdl + ", bytes: 9000000}\n";
  };
  const std::string head =
      "version: 1\ngenerator: gpuperf-validate\ndate: \"2026-11-26\"\ncard_id: h100-sxm\ndevice: {}\npeaks: "
      "{}\nmicro:\n";
  const std::string singles =
      gemv("a", 1680, "stream-d3-lanes", "qkvo", "yes") + gemv("b", 1452, "stream-d2-lanes", "qkvo", "yes") +
      gemv("c", 1240, "stream-d2-lanes", "qkvo", "no") + gemv("d", 1300, "stream-d3-lanes", "qkvo", "no");
  std::ofstream(p) << head << singles << gemv("la", 1900, "stream-d3-lanes", "llama13b-layer-7-gemvs", "no")
                   << gemv("lb", 1911, "stream-d2-lanes", "llama13b-layer-7-gemvs", "no")
                   << gemv("lr", 2500, "rowpair", "llama13b-layer-7-gemvs", "no");
  MeasurementSet s = load(p);
  std::map<std::string, double> kept;
  for (const auto& pt : s.points) kept[pt.stack_id] = pt.value;
  EXPECT_EQ(s.points.size(), 2u);
  EXPECT_DOUBLE_EQ(kept["cuda-graph-pdl"], 1452);  // the replay's kernel (its layer graph is the fastest)
  EXPECT_DOUBLE_EQ(kept["cuda-graph"], 1240);
  std::ofstream(p) << head << singles;  // no layer graphs: the fastest kernel per shape and launch
  s = load(p);
  fs::remove(p);
  kept.clear();
  for (const auto& pt : s.points) kept[pt.stack_id] = pt.value;
  EXPECT_DOUBLE_EQ(kept["cuda-graph-pdl"], 1680);
  EXPECT_DOUBLE_EQ(kept["cuda-graph"], 1300);
}

TEST(Measurements, OutMajorGemmFiguresAreStatedAsTheModelsRowsTimesWeights) {
  // Since run 28 the suite states PyTorch's call: m = output features, n = tokens. The one-op step is
  // the model's GEMM: m = tokens, n x k weights.
  const std::string id = "gpuperf-outmajor-" + std::to_string(::getpid());
  fs::path p = fs::temp_directory_path() / (id + ".yaml");
  std::ofstream(p) << "version: 1\ngenerator: gpuperf-validate\ndate: \"2026-11-26\"\ncard_id: h100-sxm\n"
                      "device: {}\npeaks: {}\nmicro:\n"
                      "  - id: kv\n    kind: gemm_tflops\n    value: 40\n    conditions: {dtype: fp16, accumulate: "
                      "fp32, m: 1280, n: 154, k: 768, batch: 1, layout: TN, orientation: out-major, launch: graph}\n";
  MeasurementSet s = load(p);
  fs::remove(p);
  ASSERT_EQ(s.points.size(), 1u);
  const Op& op = s.points[0].micro->graph.ops[0];
  EXPECT_EQ(op.gemm.m, 154);
  EXPECT_EQ(op.gemm.n, 1280);
  EXPECT_DOUBLE_EQ(op.weight_bytes, 2.0 * 1280 * 768);
  EXPECT_DOUBLE_EQ(op.activation_bytes, 2.0 * 154 * 768);
  EXPECT_DOUBLE_EQ(op.flops, 2.0 * 1280 * 154 * 768);
}

// A scenario may say how the measured stack grew its K/V cache (`kv_cache:`); without it the framework decides.
TEST(Measurements, AScenarioMaySayHowTheKvCacheGrew) {
  const std::string src = (fs::path(GPUPERF_SPECS_DIR) / "measurements" / "survey-llama13b-4bit.yaml").string();
  std::ifstream in(src);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto at = text.find("  kv_dtype: fp16");
  ASSERT_NE(at, std::string::npos);
  text.insert(at, "  kv_cache: in-place\n");
  const std::string id = "kv-cache-in-place-" + std::to_string(::getpid());
  text.replace(text.find("id: survey-llama13b-4bit"), 24, "id: " + id);
  fs::path p = fs::temp_directory_path() / (id + ".yaml");
  std::ofstream(p) << text;
  MeasurementSet s = load(p);
  fs::remove(p);
  ASSERT_EQ(s.points.size(), 9u);
  const auto& sc = std::get<LlamaScenario>(s.points[0].scenario);
  ASSERT_TRUE(sc.kv_concat.has_value());
  EXPECT_FALSE(*sc.kv_concat);
  const MeasurementSet survey = load(src);
  EXPECT_FALSE(std::get<LlamaScenario>(survey.points[0].scenario).kv_concat.has_value());
}

TEST(Measurements, ReplayPointsLoadWithTheirOwnStacksAndScenarios) {
  MeasurementSet s = load(fs::path(GPUPERF_SPECS_DIR).parent_path() / "validate" / "results" / "h100-sxm-replay.yaml");
  // LLaMA 4-bit (graph, graph with programmatic dependent launch, eager) and fp16, SD 512x512 naive, SD
  // 512x512 and 2048x1152 fused attention: graph and eager each.
  ASSERT_EQ(s.points.size(), 11u);
  EXPECT_EQ(s.points[0].stack_id, "cuda-graph");
  EXPECT_EQ(s.points[1].stack_id, "cuda-graph-pdl");
  EXPECT_EQ(s.points[2].stack_id, "cuda-eager");
  EXPECT_EQ(s.points[5].model_id, "sd15");
  EXPECT_EQ(s.points[10].model_id, "sd15");
}
