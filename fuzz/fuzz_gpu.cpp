// Fuzz target: one card spec (specs/gpus/*.yaml) through io::load_gpu_file against the real arches;
// a card that loads is also turned into a Gpu (derived ceilings) as load_catalog does.
#include "fuzz_support.hpp"
#include "gpuperf/io/catalog.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const gpuperf::io::Catalog catalog = gpuperf::io::load_catalog(gpuperf::fuzz::specs_dir());
  const auto path = gpuperf::fuzz::write_input(data, size, "gpus");
  gpuperf::fuzz::expect_ok_or_input_error([&] { (void)gpuperf::io::load_gpu_file(path, catalog.arches); });
  return 0;
}
