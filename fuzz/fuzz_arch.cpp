// Fuzz target: one architecture spec (specs/arches/*.yaml) through io::load_arch_file.
#include "fuzz_support.hpp"
#include "gpuperf/io/catalog.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = gpuperf::fuzz::write_input(data, size, "arches");
  gpuperf::fuzz::expect_ok_or_input_error([&] { (void)gpuperf::io::load_arch_file(path); });
  return 0;
}
