// statistics: the small summaries that calibration and validation report (median, spread, errors,
// Student-t quantiles). Empty inputs are the caller's bug and yield NaN, never a crash.
#pragma once

#include <span>
#include <vector>

namespace gpuperf::stats {

double mean(std::span<const double> xs);
// Median; for an even count the mean of the two middle values.
double median(std::vector<double> xs);
// Linear-interpolated quantile, q in [0, 1].
double quantile(std::vector<double> xs, double q);
double sample_stddev(std::span<const double> xs);
// Mean absolute percentage error of predicted against measured, in percent.
double mape_pct(std::span<const double> predicted, std::span<const double> measured);
// Two-sided Student-t critical value: P(|T| <= t) = confidence with `dof` degrees of freedom.
double student_t_critical(double confidence, double dof);

}  // namespace gpuperf::stats
