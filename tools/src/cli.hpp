// cli: the gpuperf command line — git-style subcommands parsed with Boost.Program_options. Everything
// a command prints is built in memory and written only when the command succeeds.
#pragma once

#include <filesystem>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace gpuperf::cli {

struct Context {
  std::filesystem::path specs_dir;  // after --specs is applied
  std::string out;                  // what goes to stdout on success
  std::ostream* err = nullptr;      // progress and warnings
};

// Runs one command line (argv[0] excluded). Returns the exit code: 0 ok, 2 bad input or usage,
// 1 internal error. `default_specs` is used when --specs is absent.
int run(const std::vector<std::string>& args, const std::filesystem::path& default_specs, std::ostream& out,
        std::ostream& err);

// The specs/ folder the binary at `exe` should read by default: the source tree's when it runs from
// the build tree, else the installed share/gpuperf/specs beside it.
std::filesystem::path default_specs_dir(const std::filesystem::path& exe);

}  // namespace gpuperf::cli
