// Calibration: the fit recovers parameters that generated synthetic data, leave-one-out predicts
// held-out cards, bounds hold, and intervals are honest.
#include <gtest/gtest.h>

#include <cmath>

#include "gpuperf/fit.hpp"
#include "gpuperf/io/catalog.hpp"
#include "gpuperf/io/model_loader.hpp"
#include "gpuperf/io/params_loader.hpp"

using namespace gpuperf;

namespace {
struct World {
  io::Catalog catalog = io::load_catalog(GPUPERF_SPECS_DIR);
  std::vector<ModelSpec> models = io::load_models(GPUPERF_SPECS_DIR);
  std::vector<StackSpec> stacks = io::load_stacks(GPUPERF_SPECS_DIR);
  ParamSet priors = io::load_params(GPUPERF_SPECS_DIR, std::nullopt);

  const StackSpec* stack(const std::string& id) const {
    for (const auto& s : stacks)
      if (s.id == id) return &s;
    return nullptr;
  }
};
const World& world() {
  static const World w;
  return w;
}

// LLaMA-13B 4-bit decode and SD 512 on several cards, "measured" under `truth`.
std::vector<PreparedPoint> synthetic(const ParamSet& truth) {
  const World& w = world();
  std::vector<PreparedPoint> pts;
  LlamaScenario ll;
  ll.context = 256;
  ll.weights = *weight_format_from_string("gptq4-g128");
  SdScenario sd;
  for (const char* id : {"rtx-3060-12gb", "rtx-3080-10gb", "rtx-3090", "rtx-4070-ti", "rtx-4080", "rtx-4090"}) {
    for (int kind = 0; kind < 2; ++kind) {
      PreparedPoint p;
      p.gpu = w.catalog.find_gpu(id);
      const ModelSpec* m = io::find_model(w.models, kind == 0 ? "llama-13b" : "sd15");
      p.stack = w.stack(kind == 0 ? "textgen-gptq-2023" : "a1111-xformers-2023");
      p.workload = kind == 0 ? make_workload(*m, ll, 0, *p.stack) : make_workload(*m, sd, 0, *p.stack);
      p.measured = std::exp(log_prediction(p, truth));
      pts.push_back(std::move(p));
    }
  }
  return pts;
}

// Only these move; the rest are held at their values.
ParamSet with_free(ParamSet p, const std::vector<std::string>& free) {
  for (auto& d : p.all()) d.fit = std::find(free.begin(), free.end(), d.name) != free.end();
  return p;
}
}  // namespace

TEST(Fit, RecoversTheParametersThatGeneratedTheData) {
  const std::vector<std::string> free = {"dram_efficiency", "ada-ad10x.tensor_efficiency",
                                         "ampere-ga10x.tensor_efficiency", "textgen-gptq-2023.host_us_per_kernel"};
  ParamSet truth = with_free(world().priors, free);
  truth.set_value("dram_efficiency", 0.8);
  truth.set_value("ada-ad10x.tensor_efficiency", 0.45);
  truth.set_value("ampere-ga10x.tensor_efficiency", 0.55);
  truth.set_value("textgen-gptq-2023.host_us_per_kernel", 14.0);
  auto pts = synthetic(truth);
  FitResult f = fit_parameters(pts, with_free(world().priors, free), {}, 2);
  ASSERT_TRUE(f.error.empty()) << f.error;
  EXPECT_TRUE(f.converged);
  for (std::size_t i = 0; i < pts.size(); ++i) EXPECT_NEAR(f.predicted[i] / pts[i].measured, 1.0, 1e-4);
  EXPECT_NEAR(f.params.find("ada-ad10x.tensor_efficiency")->value, 0.45, 0.01);
  EXPECT_NEAR(f.params.find("ampere-ga10x.tensor_efficiency")->value, 0.55, 0.01);
  EXPECT_NEAR(f.params.find("textgen-gptq-2023.host_us_per_kernel")->value, 14.0, 0.3);
}

TEST(Fit, ParametersStayInsideTheirBounds) {
  ParamSet truth = with_free(world().priors, {"ampere-ga10x.tensor_efficiency"});
  auto pts = synthetic(truth);
  for (auto& p : pts) p.measured *= 50;  // demands an efficiency far above 1
  FitResult f = fit_parameters(pts, truth, {}, 0);
  const ParamDef* d = f.params.find("ampere-ga10x.tensor_efficiency");
  EXPECT_LE(d->value, d->hi);
  EXPECT_GE(d->value, d->lo);
}

TEST(Fit, ParametersThatTouchNoPointAreNotFree) {
  ParamSet start = with_free(world().priors, {"dram_efficiency", "hopper-gh100.tensor_efficiency"});
  auto pts = synthetic(start);
  FitResult f = fit_parameters(pts, start, {}, 0);
  ASSERT_EQ(f.free.size(), 1u);
  EXPECT_EQ(f.free[0], "dram_efficiency");
}

TEST(Fit, LeaveOneCardOutPredictsHeldOutCardsOfExactData) {
  const std::vector<std::string> free = {"ada-ad10x.tensor_efficiency", "ampere-ga10x.tensor_efficiency"};
  ParamSet truth = with_free(world().priors, free);
  truth.set_value("ada-ad10x.tensor_efficiency", 0.5);
  auto pts = synthetic(truth);
  FitResult f = fit_parameters(pts, truth, {}, 0);
  auto loo = leave_one_card_out(pts, f);
  for (std::size_t i = 0; i < pts.size(); ++i) EXPECT_NEAR(loo[i] / pts[i].measured, 1.0, 1e-3) << i;
}

TEST(Fit, NoisyDataGivesIntervalsThatContainTheTruth) {
  const std::vector<std::string> free = {"ampere-ga10x.tensor_efficiency", "ada-ad10x.tensor_efficiency"};
  ParamSet truth = with_free(world().priors, free);
  auto pts = synthetic(truth);
  const double noise[] = {0.03, -0.02, 0.01, -0.03, 0.02, -0.01, 0.025, -0.015, 0.0, 0.01, -0.02, 0.03};
  for (std::size_t i = 0; i < pts.size(); ++i) pts[i].measured *= std::exp(noise[i % 12]);
  FitResult f = fit_parameters(pts, truth, {}, 0);
  ASSERT_EQ(f.free.size(), 2u);
  EXPECT_GT(f.residual_sd_log, 0.005);
  for (std::size_t j = 0; j < f.free.size(); ++j) {
    double t = truth.find(f.free[j])->value;
    EXPECT_LT(f.ci95[j].first, t) << f.free[j];
    EXPECT_GT(f.ci95[j].second, t) << f.free[j];
  }
  auto [lo, hi] = prediction_interval95(pts[0], f.params, f.free, f.covariance, f.blocks);
  EXPECT_LT(lo, f.predicted[0]);
  EXPECT_GT(hi, f.predicted[0]);
}

TEST(Fit, EveryMeasurementSetCarriesTheSameWeight) {
  // Ten points of one set measure the SD step 10% faster than the truth, one point of another set 10%
  // slower: the sets count alike, so the fit lands halfway (in log) instead of next to the ten.
  ParamSet truth = with_free(world().priors, {"ampere-ga10x.tensor_efficiency"});
  PreparedPoint base;
  for (auto& p : synthetic(truth))
    if (p.gpu->spec.id == "rtx-3090" && p.workload.graph.model_id == "sd15") base = p;
  ASSERT_NE(base.gpu, nullptr);
  std::vector<PreparedPoint> pts;
  for (int i = 0; i < 11; ++i) {
    PreparedPoint p = base;
    p.set_id = i < 10 ? "many" : "one";
    p.measured = base.measured * (i < 10 ? 1.1 : 0.9);
    pts.push_back(std::move(p));
  }
  FitResult f = fit_parameters(pts, truth, {}, 0);
  ASSERT_EQ(f.free.size(), 1u);
  const double r_many = std::log(f.predicted[0] / pts[0].measured),
               r_one = std::log(f.predicted[10] / pts[10].measured);
  EXPECT_NEAR(r_many, -r_one, 1e-4);
  EXPECT_NEAR(r_many, std::log(std::sqrt(0.9 * 1.1) / 1.1), 1e-4);
}

TEST(Fit, NoPointsIsAnError) {
  FitResult f = fit_parameters({}, world().priors);
  EXPECT_FALSE(f.error.empty());
}

TEST(Fit, ParameterDrawsAreReproducibleCentredAndInsideTheBounds) {
  ParamSet p = world().priors;
  std::vector<std::string> free = {"dram_efficiency", "ampere-ga10x.tensor_efficiency"};
  Eigen::MatrixXd cov(2, 2);
  cov << 0.0004, 0.0001, 0.0001, 0.0009;
  p.set_value("dram_efficiency", 0.8);
  p.set_value("ampere-ga10x.tensor_efficiency", 0.5);
  auto a = sample_parameters(p, free, cov, 2000, 7);
  auto b = sample_parameters(p, free, cov, 2000, 7);
  ASSERT_EQ(a.size(), 2000u);
  double mean = 0, var = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    double v = a[i].find("dram_efficiency")->value;
    EXPECT_EQ(v, b[i].find("dram_efficiency")->value);
    EXPECT_GE(v, 0.5);
    EXPECT_LE(v, 1.0);
    mean += v / 2000;
  }
  for (const auto& s : a) var += std::pow(s.find("dram_efficiency")->value - mean, 2) / 1999;
  EXPECT_NEAR(mean, 0.8, 0.003);
  EXPECT_NEAR(std::sqrt(var), 0.02, 0.002);
  EXPECT_EQ(a[0].find("textgen-gptq-2023.host_us_per_kernel")->value,
            p.find("textgen-gptq-2023.host_us_per_kernel")->value);  // not drawn
}

namespace {
// SD 512 under cuda-graph: Ampere cards move only ampere-ga10x.tensor_efficiency, Ada cards only
// ada-ad10x.tensor_efficiency (the stack's latency is its own, held): two independent problems.
std::vector<PreparedPoint> two_architectures(const ParamSet& truth, double ada_scatter) {
  const World& w = world();
  std::vector<PreparedPoint> pts;
  SdScenario sd;
  const ModelSpec* m = io::find_model(w.models, "sd15");
  int k = 0;
  for (const char* id :
       {"rtx-3060-12gb", "rtx-3070", "rtx-3080-10gb", "rtx-3090", "rtx-4070-ti", "rtx-4080", "rtx-4090", "rtx-4060"}) {
    PreparedPoint p;
    p.gpu = w.catalog.find_gpu(id);
    p.stack = w.stack("cuda-graph");
    p.workload = make_workload(*m, sd, 0, *p.stack);
    const bool ada = p.gpu->arch.id == "ada-ad10x";
    // Ada's points scatter by +-ada_scatter around the truth; Ampere's are exact.
    p.measured = std::exp(log_prediction(p, truth) + (ada ? ((k++ % 2) ? ada_scatter : -ada_scatter) : 0.0));
    pts.push_back(std::move(p));
  }
  return pts;
}
}  // namespace

TEST(Fit, IndependentPartsAreFittedApartWithTheirOwnScatter) {
  const std::vector<std::string> free = {"ampere-ga10x.tensor_efficiency", "ada-ad10x.tensor_efficiency"};
  ParamSet truth = with_free(world().priors, free);
  truth.set_value("ampere-ga10x.tensor_efficiency", 0.5);
  truth.set_value("ada-ad10x.tensor_efficiency", 0.4);
  auto pts = two_architectures(truth, 0.05);
  FitResult f = fit_parameters(pts, with_free(world().priors, free), {}, 1);
  ASSERT_TRUE(f.error.empty()) << f.error;
  ASSERT_EQ(f.blocks.size(), 2u);
  ASSERT_EQ(f.free.size(), 2u);
  EXPECT_EQ(f.covariance.rows(), 2);
  EXPECT_DOUBLE_EQ(f.covariance(0, 1), 0.0);  // block-diagonal
  const FitBlock* ampere = nullptr;
  const FitBlock* ada = nullptr;
  for (const auto& b : f.blocks) {
    ASSERT_EQ(b.names.size(), 1u);
    (b.names[0] == "ampere-ga10x.tensor_efficiency" ? ampere : ada) = &b;
  }
  ASSERT_TRUE(ampere && ada);
  EXPECT_LT(ampere->residual_sd_log, 1e-4);  // exact data
  EXPECT_GT(ada->residual_sd_log, 0.03);     // its own scatter, not pooled with Ampere's
  EXPECT_EQ(ampere->dof + ada->dof, f.dof);
  EXPECT_NEAR(f.params.find("ampere-ga10x.tensor_efficiency")->value, 0.5, 1e-3);
  // The same as fitting the Ada points alone.
  std::vector<bool> ada_only(pts.size());
  for (std::size_t i = 0; i < pts.size(); ++i) ada_only[i] = pts[i].gpu->arch.id == "ada-ad10x";
  FitResult alone = fit_parameters(pts, with_free(world().priors, free), ada_only, 1);
  EXPECT_NEAR(f.params.find("ada-ad10x.tensor_efficiency")->value,
              alone.params.find("ada-ad10x.tensor_efficiency")->value, 1e-6);
  // An Ampere point's interval uses Ampere's (tiny) scatter, an Ada point's Ada's.
  auto [alo, ahi] = prediction_interval95(pts[0], f.params, f.free, f.covariance, f.blocks);
  auto [dlo, dhi] = prediction_interval95(pts[5], f.params, f.free, f.covariance, f.blocks);
  EXPECT_LT(std::log(ahi / alo), 0.2 * std::log(dhi / dlo));
}

TEST(Fit, PointsThatNoFreeParameterMovesFormNoBlock) {
  // Only Ampere's efficiency is free: the Ada points depend on nothing the fit may move. They are still
  // predicted, but no block without parameters is written (a calibration file refuses one).
  const std::vector<std::string> free = {"ampere-ga10x.tensor_efficiency"};
  ParamSet truth = with_free(world().priors, free);
  auto pts = two_architectures(truth, 0.05);
  FitResult f = fit_parameters(pts, with_free(world().priors, free), {}, 0);
  ASSERT_TRUE(f.error.empty()) << f.error;
  ASSERT_EQ(f.blocks.size(), 1u);
  EXPECT_EQ(f.blocks[0].names, free);
  for (std::size_t i = 0; i < pts.size(); ++i) EXPECT_TRUE(std::isfinite(f.predicted[i])) << i;
}

TEST(Fit, ACardAloneOnItsArchitectureHasNoLeaveOneOutPrediction) {
  const std::vector<std::string> free = {"ampere-ga10x.tensor_efficiency", "ada-ad10x.tensor_efficiency"};
  ParamSet truth = with_free(world().priors, free);
  auto pts = two_architectures(truth, 0.0);
  pts.erase(pts.begin() + 5, pts.end());  // Ampere x4 and one Ada card (rtx-4070-ti)
  FitResult f = fit_parameters(pts, with_free(world().priors, free), {}, 0);
  ASSERT_TRUE(f.error.empty()) << f.error;
  auto loo = leave_one_card_out(pts, f);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_NEAR(loo[i] / pts[i].measured, 1.0, 1e-3) << i;
  EXPECT_TRUE(std::isnan(loo[4]));
}
