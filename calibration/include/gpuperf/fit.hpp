// fit: calibrates the free physical parameters θ on measured points by bounded non-linear least
// squares on log(predicted / measured) (Levenberg–Marquardt in a logistic re-parametrisation that keeps
// every parameter inside its physical bounds), with Jacobian-based 95% intervals (Student t) and
// leave-one-card-out cross-validation.
#pragma once

#include <Eigen/Dense>
#include <optional>
#include <string>
#include <vector>

#include "gpuperf/hardware.hpp"
#include "gpuperf/measurements.hpp"
#include "gpuperf/params.hpp"
#include "gpuperf/stack.hpp"
#include "gpuperf/workload_predict.hpp"

namespace gpuperf {

// A measured point with its graph built once (graphs do not depend on θ).
struct PreparedPoint {
  std::string set_id;
  const Gpu* gpu = nullptr;
  const StackSpec* stack = nullptr;
  Workload workload;
  double measured = 0;
  std::optional<double> price_usd;
  std::string label;  // what a table shows for the point: the card, or the micro-benchmark's id
};

// log(predicted) of a point under `params`; NaN when the model cannot predict it.
double log_prediction(const PreparedPoint& point, const ParamSet& params);

struct FitResult {
  std::string error;                            // non-empty: the fit could not be made
  ParamSet params;                              // every parameter, the free ones at their fitted values
  std::vector<std::string> free;                // names of the fitted parameters
  Eigen::MatrixXd covariance;                   // of the free parameters (θ space)
  std::vector<std::pair<double, double>> ci95;  // per free parameter, clipped to its bounds
  double residual_sd_log = 0;                   // sqrt(SSR / dof) of log(pred / meas)
  int dof = 0;                                  // points used − free parameters
  int iterations = 0;
  bool converged = false;
  std::vector<double> predicted;  // per point of the problem (used or not), in measured units
  // The independent parts the problem fell into (points linked by a shared parameter), each with its
  // parameters and scatter; `residual_sd_log` and `dof` above pool them.
  std::vector<FitBlock> blocks;
};

// Fits the parameters with `fit: true` that influence the used points (`use[i]`, all when empty):
// one descent from `start`, then `restarts` more from seeded points spread over the bounds; the
// lowest cost wins. Points that share no parameter (a survey and an H100's micro-benchmarks, whose
// parameters are scoped to different architectures) are separate problems, fitted apart: one
// combined descent would only let the restarts of one part disturb the other.
FitResult fit_parameters(const std::vector<PreparedPoint>& points, const ParamSet& start,
                         const std::vector<bool>& use = {}, int restarts = 12);

// Refits without each card in turn (all its points) and predicts those points. Returns the predictions
// per point, in the problem's order; NaN for the points of a card that alone constrains a parameter.
std::vector<double> leave_one_card_out(const std::vector<PreparedPoint>& points, const FitResult& full);

// `count` parameter sets drawn from N(params, covariance) over the free parameters (the rest held),
// each value clipped to its bounds; a fixed seed gives the same draws every run.
std::vector<ParamSet> sample_parameters(const ParamSet& params, const std::vector<std::string>& free,
                                        const Eigen::MatrixXd& covariance, int count, unsigned seed);

// 95% prediction interval of a log-prediction from the parameter covariance and the residual scatter:
// exp(log p ± t(dof) · sqrt(g Σ gᵀ + s² + Σ_k g_k² (hi_k − lo_k)² / 12)), with g the gradient of log p
// over the free parameters and k the fittable parameters the calibration did not constrain. s and dof
// are those of the block whose parameters move the prediction most (the first block when none does).
std::pair<double, double> prediction_interval95(const PreparedPoint& point, const ParamSet& params,
                                                const std::vector<std::string>& free, const Eigen::MatrixXd& covariance,
                                                const std::vector<FitBlock>& blocks);

}  // namespace gpuperf
