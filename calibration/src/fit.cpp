#include "gpuperf/fit.hpp"

#include <boost/math/distributions/normal.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>

#include "gpuperf/statistics.hpp"

namespace gpuperf {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double sigmoid(double u) { return 1.0 / (1.0 + std::exp(-u)); }

struct FreeParam {
  std::string name;
  double lo, hi;
};

double to_theta(const FreeParam& f, double u) { return f.lo + (f.hi - f.lo) * sigmoid(u); }

double to_u(const FreeParam& f, double theta) {
  double x = (theta - f.lo) / (f.hi - f.lo);
  x = std::clamp(x, 1e-6, 1 - 1e-6);
  return std::log(x / (1 - x));
}

// Square roots of the used points' weights: every measurement set among them carries the same total
// weight whatever its number of points (a file of 54 single-kernel micro-benchmarks does not outvote the
// 11 workload steps replayed on the same card, nor a 13-card survey table a 9-card one); the weights
// average 1, so that the scatter and the intervals keep their meaning.
std::vector<double> set_weight_roots(const std::vector<PreparedPoint>& points, const std::vector<int>& used) {
  std::map<std::string, int> count;
  for (int i : used) ++count[points[static_cast<std::size_t>(i)].set_id];
  const double per_set = count.empty() ? 0.0 : static_cast<double>(used.size()) / static_cast<double>(count.size());
  std::vector<double> w;
  w.reserve(used.size());
  for (int i : used) w.push_back(std::sqrt(per_set / count[points[static_cast<std::size_t>(i)].set_id]));
  return w;
}

// Weighted residuals √w·log(pred/meas) of the used points (`w` from set_weight_roots; empty: unweighted);
// NaN predictions become a large penalty.
Eigen::VectorXd residuals(const std::vector<PreparedPoint>& points, const std::vector<int>& used,
                          const ParamSet& params, const std::vector<double>& w = {}) {
  Eigen::VectorXd r(static_cast<Eigen::Index>(used.size()));
  for (std::size_t i = 0; i < used.size(); ++i) {
    const auto& p = points[static_cast<std::size_t>(used[i])];
    double lp = log_prediction(p, params);
    r(static_cast<Eigen::Index>(i)) = (std::isfinite(lp) ? lp - std::log(p.measured) : 10.0) * (w.empty() ? 1.0 : w[i]);
  }
  return r;
}

void apply(ParamSet& params, const std::vector<FreeParam>& free, const Eigen::VectorXd& u) {
  for (std::size_t j = 0; j < free.size(); ++j)
    params.set_value(free[j].name, to_theta(free[j], u(static_cast<Eigen::Index>(j))));
}

// Jacobian of the residuals in θ space by forward differences stepping inward from the bounds.
Eigen::MatrixXd theta_jacobian(const std::vector<PreparedPoint>& points, const std::vector<int>& used, ParamSet params,
                               const std::vector<FreeParam>& free, const Eigen::VectorXd& r0,
                               const std::vector<double>& w = {}) {
  Eigen::MatrixXd J(r0.size(), static_cast<Eigen::Index>(free.size()));
  for (std::size_t j = 0; j < free.size(); ++j) {
    double theta = params.find(free[j].name)->value;
    double h = 1e-5 * (free[j].hi - free[j].lo);
    if (theta + h > free[j].hi) h = -h;
    params.set_value(free[j].name, theta + h);
    J.col(static_cast<Eigen::Index>(j)) = (residuals(points, used, params, w) - r0) / h;
    params.set_value(free[j].name, theta);
  }
  return J;
}

}  // namespace

double log_prediction(const PreparedPoint& point, const ParamSet& params) {
  WorkloadPrediction p = predict_workload(*point.gpu, point.workload, params, *point.stack);
  if (!p.error.empty() || !(p.value > 0)) return kNaN;
  return std::log(p.value);
}

namespace {

// One Levenberg-Marquardt descent from `start`'s values.
FitResult fit_from(const std::vector<PreparedPoint>& points, const ParamSet& start, const std::vector<bool>& use) {
  FitResult out;
  out.params = start;
  std::vector<int> used;
  for (std::size_t i = 0; i < points.size(); ++i)
    if (use.empty() || use[i]) used.push_back(static_cast<int>(i));
  if (used.empty()) {
    out.error = "no measured points to fit";
    return out;
  }
  // Candidates: fittable parameters with room to move; keep those that change some used prediction.
  std::vector<FreeParam> candidates;
  for (const auto& d : start.all())
    if (d.fit && d.hi > d.lo) candidates.push_back({d.name, d.lo, d.hi});
  const std::vector<double> w = set_weight_roots(points, used);
  Eigen::VectorXd r0 = residuals(points, used, out.params, w);
  Eigen::MatrixXd J0 = theta_jacobian(points, used, out.params, candidates, r0, w);
  std::vector<FreeParam> free;
  for (std::size_t j = 0; j < candidates.size(); ++j) {
    double scale = candidates[j].hi - candidates[j].lo;
    if (J0.col(static_cast<Eigen::Index>(j)).cwiseAbs().maxCoeff() * scale > 1e-9) free.push_back(candidates[j]);
  }
  for (const auto& f : free) out.free.push_back(f.name);
  const auto n = static_cast<Eigen::Index>(free.size());
  Eigen::VectorXd u(n);
  for (Eigen::Index j = 0; j < n; ++j)
    u(j) = to_u(free[static_cast<std::size_t>(j)], start.find(free[static_cast<std::size_t>(j)].name)->value);
  apply(out.params, free, u);

  // Levenberg–Marquardt in u space.
  Eigen::VectorXd r = residuals(points, used, out.params, w);
  double ssr = r.squaredNorm();
  double lambda = 1e-2;
  for (out.iterations = 0; out.iterations < 300 && n > 0; ++out.iterations) {
    Eigen::MatrixXd J(r.size(), n);
    for (Eigen::Index j = 0; j < n; ++j) {
      Eigen::VectorXd u2 = u;
      double h = 1e-6 * std::max(1.0, std::abs(u(j)));
      u2(j) += h;
      ParamSet trial = out.params;
      apply(trial, free, u2);
      J.col(j) = (residuals(points, used, trial, w) - r) / h;
    }
    Eigen::MatrixXd A = J.transpose() * J;
    Eigen::VectorXd g = J.transpose() * r;
    bool improved = false;
    for (int tries = 0; tries < 12; ++tries) {
      Eigen::MatrixXd Ad = A;
      for (Eigen::Index j = 0; j < n; ++j) Ad(j, j) += lambda * std::max(A(j, j), 1e-12);
      Eigen::VectorXd step = Ad.ldlt().solve(-g);
      if (!step.allFinite()) {
        lambda *= 10;
        continue;
      }
      Eigen::VectorXd u_new = u + step;
      ParamSet trial = out.params;
      apply(trial, free, u_new);
      Eigen::VectorXd r_new = residuals(points, used, trial, w);
      double ssr_new = r_new.squaredNorm();
      if (ssr_new < ssr) {
        double gain = ssr - ssr_new;
        u = u_new;
        r = r_new;
        out.params = trial;
        lambda = std::max(lambda / 3, 1e-9);
        improved = true;
        if (gain < 1e-12 * std::max(ssr, 1e-30) || step.norm() < 1e-9) out.converged = true;
        ssr = ssr_new;
        break;
      }
      lambda *= 4;
    }
    if (!improved) {
      out.converged = true;  // no direction lowers the cost: a (local) minimum
      break;
    }
    if (out.converged) break;
  }
  if (n == 0) out.converged = true;

  // Uncertainty in θ space.
  out.dof = static_cast<int>(used.size()) - static_cast<int>(n);
  out.residual_sd_log = out.dof > 0 ? std::sqrt(ssr / out.dof) : kNaN;
  // Work in range-normalised coordinates (θ / (hi − lo)), where each parameter's bounds alone say it is
  // uniform on an interval of length 1 (variance 1/12). Adding that prior information keeps directions
  // the data cannot see (a clock ratio traded against an efficiency) at their bounded spread instead of
  // an infinite one: Σ = (JᵀJ / s² + 12·I)⁻¹.
  Eigen::MatrixXd Jt = theta_jacobian(points, used, out.params, free, r, w);
  Eigen::VectorXd range(n);
  for (Eigen::Index j = 0; j < n; ++j)
    range(j) = free[static_cast<std::size_t>(j)].hi - free[static_cast<std::size_t>(j)].lo;
  Eigen::MatrixXd Js = Jt * range.asDiagonal();
  const double s2 = out.dof > 0 ? out.residual_sd_log * out.residual_sd_log : kNaN;
  Eigen::MatrixXd info = Js.transpose() * Js / s2 + 12.0 * Eigen::MatrixXd::Identity(n, n);
  Eigen::MatrixXd cov_scaled = info.ldlt().solve(Eigen::MatrixXd::Identity(n, n));
  out.covariance = range.asDiagonal() * cov_scaled * range.asDiagonal();
  double t = out.dof > 0 ? stats::student_t_critical(0.95, out.dof) : kNaN;
  for (Eigen::Index j = 0; j < n; ++j) {
    const FreeParam& f = free[static_cast<std::size_t>(j)];
    double v = out.params.find(f.name)->value;
    double half = t * std::sqrt(std::max(0.0, out.covariance(j, j)));
    out.ci95.emplace_back(std::max(f.lo, v - half), std::min(f.hi, v + half));
  }
  out.predicted.resize(points.size());
  for (std::size_t i = 0; i < points.size(); ++i) out.predicted[i] = std::exp(log_prediction(points[i], out.params));
  // Points no free parameter moves (all their terms are fixed) form no block: no parameter to bound.
  if (!out.free.empty()) out.blocks = {FitBlock{out.free, out.residual_sd_log, out.dof}};
  return out;
}

// Descent and restarts on one connected problem.
FitResult fit_connected(const std::vector<PreparedPoint>& points, const ParamSet& start, const std::vector<bool>& use,
                        int restarts) {
  FitResult best = fit_from(points, start, use);
  if (!best.error.empty() || best.free.empty()) return best;
  // The timeline's max() makes the cost piecewise smooth with several basins: restart from spread-out
  // points of the bounded box (fixed seed, so every run gives the same answer) and keep the lowest cost.
  std::mt19937 rng(20230126u);
  std::uniform_real_distribution<double> unit(0.05, 0.95);
  std::vector<int> used;
  for (std::size_t i = 0; i < points.size(); ++i)
    if (use.empty() || use[i]) used.push_back(static_cast<int>(i));
  const std::vector<double> w = set_weight_roots(points, used);
  auto ssr_of = [&](const FitResult& f) {
    double s = 0;
    for (std::size_t i = 0; i < used.size(); ++i) {
      const auto k = static_cast<std::size_t>(used[i]);
      s += std::pow(std::log(f.predicted[k] / points[k].measured) * w[i], 2);
    }
    return std::isfinite(s) ? s : std::numeric_limits<double>::infinity();
  };
  double best_ssr = ssr_of(best);
  for (int k = 0; k < restarts; ++k) {
    ParamSet trial = start;
    for (const auto& name : best.free) {
      const ParamDef* d = trial.find(name);
      trial.set_value(name, d->lo + (d->hi - d->lo) * unit(rng));
    }
    FitResult f = fit_from(points, trial, use);
    double ssr = f.error.empty() ? ssr_of(f) : std::numeric_limits<double>::infinity();
    if (ssr < best_ssr) {
      best_ssr = ssr;
      best = std::move(f);
    }
  }
  return best;
}

// Groups the used points into parts that share no fittable parameter: point i and point k are in one
// part when some parameter moves both. Dependence is read from the Jacobian at `start` and at two
// spread points of the box (a max() in the timeline can hide a dependence at one point). Points no
// parameter moves form a part of their own. Returns, per point, its part (-1 for unused points).
std::vector<int> independent_parts(const std::vector<PreparedPoint>& points, const ParamSet& start,
                                   const std::vector<bool>& use, int& parts) {
  std::vector<int> used;
  for (std::size_t i = 0; i < points.size(); ++i)
    if (use.empty() || use[i]) used.push_back(static_cast<int>(i));
  std::vector<FreeParam> candidates;
  for (const auto& d : start.all())
    if (d.fit && d.hi > d.lo) candidates.push_back({d.name, d.lo, d.hi});
  std::vector<int> parent(used.size());
  for (std::size_t i = 0; i < parent.size(); ++i) parent[i] = static_cast<int>(i);
  auto find = [&](int x) {
    while (parent[static_cast<std::size_t>(x)] != x)
      x = parent[static_cast<std::size_t>(x)] = parent[static_cast<std::size_t>(parent[static_cast<std::size_t>(x)])];
    return x;
  };
  std::vector<bool> moved(used.size(), false);
  for (double spread : {-1.0, 0.25, 0.75}) {
    ParamSet at = start;
    if (spread >= 0)
      for (const auto& c : candidates) at.set_value(c.name, c.lo + spread * (c.hi - c.lo));
    Eigen::VectorXd r0 = residuals(points, used, at);
    Eigen::MatrixXd J = theta_jacobian(points, used, at, candidates, r0);
    for (std::size_t j = 0; j < candidates.size(); ++j) {
      const double scale = candidates[j].hi - candidates[j].lo;
      int first = -1;
      for (std::size_t i = 0; i < used.size(); ++i) {
        if (!(std::abs(J(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j))) * scale > 1e-9)) continue;
        moved[i] = true;
        if (first < 0) {
          first = static_cast<int>(i);
        } else {
          parent[static_cast<std::size_t>(find(static_cast<int>(i)))] = find(first);
        }
      }
    }
  }
  std::vector<int> part(points.size(), -1);
  std::map<int, int> ids;
  int unmoved = -1;
  parts = 0;
  for (std::size_t i = 0; i < used.size(); ++i) {
    int id;
    if (!moved[i]) {
      if (unmoved < 0) unmoved = parts++;
      id = unmoved;
    } else {
      auto [it, fresh] = ids.try_emplace(find(static_cast<int>(i)), parts);
      if (fresh) ++parts;
      id = it->second;
    }
    part[static_cast<std::size_t>(used[i])] = id;
  }
  return part;
}

}  // namespace

FitResult fit_parameters(const std::vector<PreparedPoint>& points, const ParamSet& start, const std::vector<bool>& use,
                         int restarts) {
  int parts = 0;
  const std::vector<int> part = independent_parts(points, start, use, parts);
  if (parts <= 1) return fit_connected(points, start, use, restarts);
  FitResult out;
  out.params = start;
  out.predicted.assign(points.size(), kNaN);
  out.converged = true;
  std::vector<Eigen::MatrixXd> covariances;
  double ssr = 0;
  for (int k = 0; k < parts; ++k) {
    std::vector<bool> in(points.size(), false);
    for (std::size_t i = 0; i < points.size(); ++i) in[i] = part[i] == k;
    FitResult f = fit_connected(points, start, in, restarts);
    if (!f.error.empty()) return f;
    for (const auto& name : f.free) out.params.set_value(name, f.params.find(name)->value);
    out.free.insert(out.free.end(), f.free.begin(), f.free.end());
    out.ci95.insert(out.ci95.end(), f.ci95.begin(), f.ci95.end());
    covariances.push_back(f.covariance);
    out.dof += f.dof;
    if (f.dof > 0) ssr += f.residual_sd_log * f.residual_sd_log * f.dof;
    out.iterations += f.iterations;
    out.converged = out.converged && f.converged;
    for (std::size_t i = 0; i < points.size(); ++i)
      if (in[i]) out.predicted[i] = f.predicted[i];
    out.blocks.insert(out.blocks.end(), f.blocks.begin(), f.blocks.end());
  }
  out.residual_sd_log = out.dof > 0 ? std::sqrt(ssr / out.dof) : kNaN;
  const auto n = static_cast<Eigen::Index>(out.free.size());
  out.covariance = Eigen::MatrixXd::Zero(n, n);
  Eigen::Index at = 0;
  for (const auto& c : covariances) {
    out.covariance.block(at, at, c.rows(), c.cols()) = c;
    at += c.rows();
  }
  // Points outside `use` are predicted with the merged parameters, as a single fit would.
  for (std::size_t i = 0; i < points.size(); ++i)
    if (part[i] < 0) out.predicted[i] = std::exp(log_prediction(points[i], out.params));
  return out;
}

std::vector<double> leave_one_card_out(const std::vector<PreparedPoint>& points, const FitResult& full) {
  std::vector<double> loo(points.size(), kNaN);
  std::map<std::string, std::vector<std::size_t>> by_card;
  for (std::size_t i = 0; i < points.size(); ++i) by_card[points[i].gpu->spec.id].push_back(i);
  for (const auto& [card, idx] : by_card) {
    std::vector<bool> use(points.size(), true);
    for (auto i : idx) use[i] = false;
    FitResult f = fit_parameters(points, full.params, use, 0);
    if (!f.error.empty()) continue;
    // A card that alone constrains some parameter (the only card of its architecture) cannot be held
    // out: without it that parameter is unknown, so its points get no leave-one-out prediction.
    bool identified = std::all_of(full.free.begin(), full.free.end(), [&](const std::string& name) {
      return std::find(f.free.begin(), f.free.end(), name) != f.free.end();
    });
    if (!identified) continue;
    for (auto i : idx) loo[i] = std::exp(log_prediction(points[i], f.params));
  }
  return loo;
}

std::vector<ParamSet> sample_parameters(const ParamSet& params, const std::vector<std::string>& free,
                                        const Eigen::MatrixXd& covariance, int count, unsigned seed) {
  std::vector<ParamSet> out;
  const auto n = static_cast<Eigen::Index>(free.size());
  if (count <= 0 || covariance.rows() != n || covariance.cols() != n) return out;
  for (const auto& name : free)
    if (!params.find(name)) return out;
  // A small jitter keeps the factorisation defined when directions have (almost) no spread.
  Eigen::MatrixXd cov = covariance;
  for (Eigen::Index j = 0; j < n; ++j) cov(j, j) += 1e-12 * std::max(1.0, std::abs(cov(j, j)));
  Eigen::LLT<Eigen::MatrixXd> llt(cov);
  if (llt.info() != Eigen::Success) return out;
  const Eigen::MatrixXd L = llt.matrixL();
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> uniform(1e-12, 1.0 - 1e-12);
  const boost::math::normal_distribution<double> standard(0.0, 1.0);
  Eigen::VectorXd mean(n), z(n);
  for (Eigen::Index j = 0; j < n; ++j) mean(j) = params.find(free[static_cast<std::size_t>(j)])->value;
  for (int s = 0; s < count; ++s) {
    for (Eigen::Index j = 0; j < n; ++j) z(j) = boost::math::quantile(standard, uniform(rng));
    Eigen::VectorXd theta = mean + L * z;
    ParamSet p = params;
    for (Eigen::Index j = 0; j < n; ++j) p.set_value(free[static_cast<std::size_t>(j)], theta(j));  // clamps
    out.push_back(std::move(p));
  }
  return out;
}

std::pair<double, double> prediction_interval95(const PreparedPoint& point, const ParamSet& params,
                                                const std::vector<std::string>& free, const Eigen::MatrixXd& covariance,
                                                const std::vector<FitBlock>& blocks) {
  double lp = log_prediction(point, params);
  if (!std::isfinite(lp) || blocks.empty() || covariance.rows() != static_cast<Eigen::Index>(free.size()))
    return {kNaN, kNaN};
  auto gradient = [&](const std::string& name) {
    ParamSet p = params;
    const ParamDef* d = p.find(name);
    double theta = d->value;
    double h = 1e-5 * (d->hi - d->lo);
    if (theta + h > d->hi) h = -h;
    p.set_value(name, theta + h);
    return (log_prediction(point, p) - lp) / h;
  };
  Eigen::VectorXd g(static_cast<Eigen::Index>(free.size()));
  for (std::size_t j = 0; j < free.size(); ++j) {
    if (!params.find(free[j])) return {kNaN, kNaN};
    g(static_cast<Eigen::Index>(j)) = gradient(free[j]);
  }
  // The point's scatter is that of the block whose parameters move it most.
  const FitBlock* block = &blocks.front();
  double most = 0;
  for (const auto& b : blocks) {
    double moved = 0;
    for (const auto& name : b.names) {
      auto it = std::find(free.begin(), free.end(), name);
      if (it != free.end()) moved += std::abs(g(static_cast<Eigen::Index>(it - free.begin())));
    }
    if (moved > most) {
      most = moved;
      block = &b;
    }
  }
  if (block->dof <= 0) return {kNaN, kNaN};
  double var = g.dot(covariance * g) + block->residual_sd_log * block->residual_sd_log;
  // Parameters the calibration could not see (e.g. the tensor efficiency of an architecture no survey
  // card has) are known only through their bounds: uniform, variance (hi − lo)² / 12.
  for (const auto& d : params.all()) {
    if (!d.fit || d.hi <= d.lo || std::find(free.begin(), free.end(), d.name) != free.end()) continue;
    double gj = gradient(d.name);
    var += gj * gj * (d.hi - d.lo) * (d.hi - d.lo) / 12.0;
  }
  double half = stats::student_t_critical(0.95, block->dof) * std::sqrt(std::max(0.0, var));
  return {std::exp(lp - half), std::exp(lp + half)};
}

}  // namespace gpuperf
