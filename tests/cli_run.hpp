// cli_run: drives the gpuperf command line in-process for tests and captures its exit code and output.
#pragma once

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "cli.hpp"

namespace gpuperf::testing {

struct CliResult {
  int code = 0;
  std::string out;
  std::string err;
  int err_lines() const { return static_cast<int>(std::count(err.begin(), err.end(), '\n')); }
};

inline CliResult run_cli(const std::vector<std::string>& args, const std::string& specs = GPUPERF_SPECS_DIR) {
  std::ostringstream out, err;
  int code = gpuperf::cli::run(args, specs, out, err);
  return {code, out.str(), err.str()};
}

inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace gpuperf::testing
