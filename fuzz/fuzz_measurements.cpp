// Fuzz target: one measurement set (specs/measurements/*.yaml, or a gpuperf-validate result file)
// through io::load_measurement_set against the real cards, models and stacks.
#include "fuzz_support.hpp"
#include "gpuperf/io/measurements_loader.hpp"
#include "gpuperf/io/model_loader.hpp"
#include "gpuperf/io/params_loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto catalog = gpuperf::io::load_catalog(gpuperf::fuzz::specs_dir());
  static const auto models = gpuperf::io::load_models(gpuperf::fuzz::specs_dir());
  static const auto stacks = gpuperf::io::load_stacks(gpuperf::fuzz::specs_dir());
  const auto path = gpuperf::fuzz::write_input(data, size, "measurements");
  gpuperf::fuzz::expect_ok_or_input_error(
      [&] { (void)gpuperf::io::load_measurement_set(path, catalog, models, stacks); });
  return 0;
}
