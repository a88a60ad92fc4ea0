// Fuzz target: one parameter file (specs/calibrations/*.yaml: priors or a calibration) through
// io::load_param_file; a file that loads is then laid over the real priors and stacks by io::load_params.
#include "fuzz_support.hpp"
#include "gpuperf/io/params_loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = gpuperf::fuzz::write_input(data, size, "calibrations");
  gpuperf::fuzz::expect_ok_or_input_error([&] {
    (void)gpuperf::io::load_param_file(path);
    (void)gpuperf::io::load_params(gpuperf::fuzz::specs_dir(), path);
  });
  return 0;
}
