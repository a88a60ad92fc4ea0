// gpuperf: the command-line entry point; everything else lives in the tools library.
#include <iostream>
#include <string>
#include <vector>

#include "cli.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::filesystem::path exe = "/proc/self/exe";
  std::error_code ec;
  auto resolved = std::filesystem::read_symlink(exe, ec);
  return gpuperf::cli::run(args, gpuperf::cli::default_specs_dir(ec ? std::filesystem::path(argv[0]) : resolved),
                           std::cout, std::cerr);
}
