// Fuzz target: one parameter file (specs/calibrations/*.yaml: priors or a calibration) through
// io::load_param_file; a file that loads is then laid over the real priors and stacks by io::load_params
// and used as the engine uses a calibration: its dof summary as an int, its covariance for Monte Carlo
// draws of the parameters (whatif) — these may only fail for bad input by an InputError at load time.
#include <Eigen/Dense>

#include "fuzz_support.hpp"
#include "gpuperf/fit.hpp"
#include "gpuperf/io/params_loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = gpuperf::fuzz::write_input(data, size, "calibrations");
  gpuperf::fuzz::expect_ok_or_input_error([&] {
    const gpuperf::io::ParamFile f = gpuperf::io::load_param_file(path);
    const gpuperf::ParamSet params = gpuperf::io::load_params(gpuperf::fuzz::specs_dir(), path);
    if (auto it = f.summary.find("dof"); it != f.summary.end()) (void)static_cast<int>(it->second);
    const auto n = static_cast<Eigen::Index>(f.covariance_names.size());
    Eigen::MatrixXd cov(n, n);
    for (Eigen::Index i = 0; i < n; ++i)
      for (Eigen::Index j = 0; j < n; ++j)
        cov(i, j) = f.covariance[static_cast<std::size_t>(i)][static_cast<std::size_t>(j)];
    (void)gpuperf::sample_parameters(params, f.covariance_names, cov, 2, 1u);
  });
  return 0;
}
