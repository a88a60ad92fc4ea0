#include "gpuperf/statistics.hpp"

#include <algorithm>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <limits>
#include <numeric>

namespace gpuperf::stats {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}

double mean(std::span<const double> xs) {
  if (xs.empty()) return kNaN;
  return std::accumulate(xs.begin(), xs.end(), 0.0) / static_cast<double>(xs.size());
}

double median(std::vector<double> xs) { return quantile(std::move(xs), 0.5); }

double quantile(std::vector<double> xs, double q) {
  if (xs.empty() || !(q >= 0 && q <= 1)) return kNaN;
  std::sort(xs.begin(), xs.end());
  double pos = q * static_cast<double>(xs.size() - 1);
  auto lo = static_cast<std::size_t>(std::floor(pos));
  auto hi = static_cast<std::size_t>(std::ceil(pos));
  double frac = pos - static_cast<double>(lo);
  return xs[lo] + (xs[hi] - xs[lo]) * frac;
}

double sample_stddev(std::span<const double> xs) {
  if (xs.size() < 2) return kNaN;
  double m = mean(xs);
  double ss = 0;
  for (double x : xs) ss += (x - m) * (x - m);
  return std::sqrt(ss / static_cast<double>(xs.size() - 1));
}

double mape_pct(std::span<const double> predicted, std::span<const double> measured) {
  if (predicted.empty() || predicted.size() != measured.size()) return kNaN;
  double sum = 0;
  for (std::size_t i = 0; i < predicted.size(); ++i) sum += std::abs(predicted[i] / measured[i] - 1.0);
  return 100.0 * sum / static_cast<double>(predicted.size());
}

double student_t_critical(double confidence, double dof) {
  if (!(confidence > 0 && confidence < 1) || !(dof > 0)) return kNaN;
  boost::math::students_t dist(dof);
  return boost::math::quantile(dist, 0.5 + confidence / 2.0);
}

}  // namespace gpuperf::stats
