// Free linear regressions (calibration/baselines): exact recovery, leave-one-out, and refusals.
#include "gpuperf/baselines.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using gpuperf::calibration::fit_linear_time_model;

namespace {
// Rates from time = a / peak + b / bandwidth + c for a spread of cards.
void synthetic(double a, double b, double c, std::vector<double>& rates, std::vector<std::vector<double>>& x,
               double noise = 0, unsigned seed = 1) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> n(0.0, 1.0);
  const double peaks[] = {25, 36, 51, 65, 82, 120, 165, 200, 330, 400};
  const double bws[] = {224, 360, 448, 608, 760, 912, 1008, 717, 504, 1792};
  for (int i = 0; i < 10; ++i) {
    x.push_back({1 / peaks[i], 1 / bws[i], 1.0});
    rates.push_back(1.0 / (a / peaks[i] + b / bws[i] + c) * std::exp(noise * n(rng)));
  }
}
}  // namespace

TEST(Baselines, RecoversAnExactLinearTimeModel) {
  std::vector<double> r;
  std::vector<std::vector<double>> x;
  synthetic(2.0, 5.0, 0.01, r, x);
  auto fit = fit_linear_time_model(r, x);
  ASSERT_TRUE(fit.error.empty()) << fit.error;
  ASSERT_EQ(fit.coefficients.size(), 3u);
  EXPECT_NEAR(fit.coefficients[0], 2.0, 1e-9);
  EXPECT_NEAR(fit.coefficients[1], 5.0, 1e-9);
  EXPECT_NEAR(fit.coefficients[2], 0.01, 1e-12);
  EXPECT_LT(fit.fit_mape_pct, 1e-8);
  EXPECT_LT(fit.loo_mape_pct, 1e-8);
  for (std::size_t i = 0; i < r.size(); ++i) EXPECT_NEAR(fit.loo[i] / r[i], 1.0, 1e-9);
}

TEST(Baselines, ScatterShowsUpAndLeaveOneOutIsWorseThanTheFit) {
  std::vector<double> r;
  std::vector<std::vector<double>> x;
  synthetic(2.0, 5.0, 0.01, r, x, 0.05, 7);
  auto fit = fit_linear_time_model(r, x);
  ASSERT_TRUE(fit.error.empty()) << fit.error;
  EXPECT_GT(fit.fit_mape_pct, 0.5);
  EXPECT_GT(fit.loo_mape_pct, fit.fit_mape_pct);
  EXPECT_GE(fit.max_loo_error_pct, fit.loo_mape_pct);
  // Leave-one-out really refits without the point: its prediction differs from the full fit's.
  double differ = 0;
  for (std::size_t i = 0; i < r.size(); ++i) differ += std::abs(fit.loo[i] - fit.fitted[i]);
  EXPECT_GT(differ, 0.0);
}

TEST(Baselines, LeaveOneOutOfAFeatureOnlyOnePointHasIsRefusedForThatPoint) {
  // The second feature is non-zero on one card alone: without it the design is rank-deficient, so that
  // point's leave-one-out prediction is NaN and counts as a 100% miss.
  std::vector<double> r = {1.0, 2.0, 3.0, 4.0, 5.0};
  std::vector<std::vector<double>> x = {{1, 0, 1}, {0.5, 0, 1}, {0.33, 0, 1}, {0.25, 0, 1}, {0.2, 1, 1}};
  auto fit = fit_linear_time_model(r, x);
  ASSERT_TRUE(fit.error.empty()) << fit.error;
  EXPECT_TRUE(std::isnan(fit.loo[4]));
  EXPECT_DOUBLE_EQ(fit.max_loo_error_pct, 100.0);
}

TEST(Baselines, RefusesWhatCannotBeFitted) {
  EXPECT_FALSE(fit_linear_time_model({1, 2}, {{1, 1}, {2, 1}}).error.empty());                          // too few
  EXPECT_FALSE(fit_linear_time_model({1, 2, 3, 4}, {{1, 2}, {2, 4}, {3, 6}, {4, 8}}).error.empty());    // dependent
  EXPECT_FALSE(fit_linear_time_model({1, 2, 3, 4}, {{0, 1}, {0, 1}, {0, 1}, {0, 1}}).error.empty());    // zero column
  EXPECT_FALSE(fit_linear_time_model({1, -2, 3, 4}, {{1, 1}, {2, 1}, {3, 1}, {4, 1}}).error.empty());   // rate <= 0
  EXPECT_FALSE(fit_linear_time_model({1, 2, 3, 4}, {{1, 1}, {2}, {3, 1}, {4, 1}}).error.empty());       // ragged
  EXPECT_FALSE(fit_linear_time_model({1, 2, 3, 4}, {{1, 1}, {2, 1}, {3, NAN}, {4, 1}}).error.empty());  // NaN
  EXPECT_FALSE(fit_linear_time_model({1, 2, 3}, {{1}, {2}}).error.empty());                             // sizes
}
