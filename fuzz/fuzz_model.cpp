// Fuzz target: one model file (specs/models/*.yaml) through io::load_model_file.
#include "fuzz_support.hpp"
#include "gpuperf/io/model_loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = gpuperf::fuzz::write_input(data, size, "models");
  gpuperf::fuzz::expect_ok_or_input_error([&] { (void)gpuperf::io::load_model_file(path); });
  return 0;
}
