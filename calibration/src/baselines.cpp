#include "gpuperf/baselines.hpp"

#include <Eigen/Dense>
#include <cmath>
#include <limits>

namespace gpuperf::calibration {
namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Least squares of the relative residual over the rows in `use`; nullopt when rank-deficient.
bool solve(const Eigen::MatrixXd& x, const Eigen::VectorXd& rate, const std::vector<bool>& use, Eigen::VectorXd& c) {
  Eigen::Index rows = 0;
  for (bool u : use) rows += u ? 1 : 0;
  Eigen::MatrixXd a(rows, x.cols());
  Eigen::VectorXd b = Eigen::VectorXd::Ones(rows);
  for (Eigen::Index i = 0, r = 0; i < x.rows(); ++i)
    if (use[static_cast<std::size_t>(i)]) a.row(r++) = x.row(i) * rate(i);
  Eigen::ColPivHouseholderQR<Eigen::MatrixXd> qr(a);
  if (rows < x.cols() || qr.rank() < x.cols()) return false;
  c = qr.solve(b);
  return c.allFinite();
}

double rate_of(const Eigen::RowVectorXd& row, const Eigen::VectorXd& c) {
  double t = row.dot(c);
  return t > 0 ? 1.0 / t : kNaN;
}

double mape_with_nan(const std::vector<double>& pred, const std::vector<double>& meas, double& worst) {
  double sum = 0;
  worst = 0;
  for (std::size_t i = 0; i < pred.size(); ++i) {
    // A non-positive time is a 100% miss at best: count it as such rather than dropping the point.
    double e = std::isfinite(pred[i]) ? 100.0 * std::abs(pred[i] / meas[i] - 1) : 100.0;
    sum += e;
    worst = std::max(worst, e);
  }
  return pred.empty() ? kNaN : sum / static_cast<double>(pred.size());
}
}  // namespace

RegressionResult fit_linear_time_model(const std::vector<double>& rates,
                                       const std::vector<std::vector<double>>& features) {
  RegressionResult out;
  const std::size_t n = rates.size();
  const std::size_t k = features.empty() ? 0 : features.front().size();
  if (n != features.size() || k == 0) {
    out.error = "need one non-empty feature row per point";
    return out;
  }
  if (n <= k + 1) {
    out.error = "need more than " + std::to_string(k + 1) + " points for " + std::to_string(k) + " features";
    return out;
  }
  Eigen::MatrixXd x(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(k));
  Eigen::VectorXd r(static_cast<Eigen::Index>(n));
  for (std::size_t i = 0; i < n; ++i) {
    if (features[i].size() != k) {
      out.error = "feature rows differ in length";
      return out;
    }
    if (!(rates[i] > 0) || !std::isfinite(rates[i])) {
      out.error = "rates must be positive";
      return out;
    }
    r(static_cast<Eigen::Index>(i)) = rates[i];
    for (std::size_t j = 0; j < k; ++j) {
      if (!std::isfinite(features[i][j])) {
        out.error = "features must be finite";
        return out;
      }
      x(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = features[i][j];
    }
  }
  // Columns scaled to unit size so that the rank test does not depend on units.
  Eigen::VectorXd scale = x.colwise().norm().transpose();
  for (Eigen::Index j = 0; j < x.cols(); ++j)
    if (scale(j) == 0) {
      out.error = "feature " + std::to_string(j) + " is zero for every point";
      return out;
    }
  Eigen::MatrixXd xs = x * scale.cwiseInverse().asDiagonal();
  std::vector<bool> use(n, true);
  Eigen::VectorXd c;
  if (!solve(xs, r, use, c)) {
    out.error = "the features are linearly dependent";
    return out;
  }
  for (std::size_t j = 0; j < k; ++j)
    out.coefficients.push_back(c(static_cast<Eigen::Index>(j)) / scale(static_cast<Eigen::Index>(j)));
  for (std::size_t i = 0; i < n; ++i) out.fitted.push_back(rate_of(xs.row(static_cast<Eigen::Index>(i)), c));
  for (std::size_t i = 0; i < n; ++i) {
    use.assign(n, true);
    use[i] = false;
    Eigen::VectorXd ci;
    out.loo.push_back(solve(xs, r, use, ci) ? rate_of(xs.row(static_cast<Eigen::Index>(i)), ci) : kNaN);
  }
  double worst_fit = 0;
  out.fit_mape_pct = mape_with_nan(out.fitted, rates, worst_fit);
  out.loo_mape_pct = mape_with_nan(out.loo, rates, out.max_loo_error_pct);
  return out;
}

}  // namespace gpuperf::calibration
