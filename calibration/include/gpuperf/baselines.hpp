// baselines: free regressions that the physical model must beat. Each fits the seconds per unit of a
// measured rate (1 / it/s, 1 / tokens/s) as a linear combination of per-card features (1 / tensor peak,
// 1 / DRAM bandwidth, 1, ...), minimising relative error, with no physical constraint on the
// coefficients; leave-one-out refits without each point. What such a curve fit reaches on a table is the
// scatter that card specifications alone do not explain.
#pragma once

#include <string>
#include <vector>

namespace gpuperf::calibration {

struct RegressionResult {
  std::vector<double> coefficients;  // one per feature; empty when the fit is underdetermined
  std::vector<double> fitted;        // predicted rate per point (NaN where the fit gives a non-positive time)
  std::vector<double> loo;           // leave-one-out predicted rate per point (NaN as above)
  double fit_mape_pct = 0;
  double loo_mape_pct = 0;
  double max_loo_error_pct = 0;
  std::string error;  // non-empty when the fit cannot be made (too few points, rank-deficient features)
};

// Fits 1 / rate[i] ~ features[i] · c by least squares on the relative residual (X_i·c · rate_i - 1) and
// refits without each point for its leave-one-out prediction. Every row of `features` must have the
// same length; rates must be positive. Needs more points than features (and a full-rank design after
// removing any one point) for leave-one-out.
RegressionResult fit_linear_time_model(const std::vector<double>& rates,
                                       const std::vector<std::vector<double>>& features);

}  // namespace gpuperf::calibration
