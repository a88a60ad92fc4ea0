// Fuzz target: one software stack (specs/stacks/*.yaml) through io::load_stack_file.
#include "fuzz_support.hpp"
#include "gpuperf/io/params_loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = gpuperf::fuzz::write_input(data, size, "stacks");
  gpuperf::fuzz::expect_ok_or_input_error([&] { (void)gpuperf::io::load_stack_file(path); });
  return 0;
}
