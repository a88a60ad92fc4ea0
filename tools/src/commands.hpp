// commands: the subcommands of gpuperf and the option parsing they share.
#pragma once

#include <boost/program_options.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cli.hpp"
#include "format.hpp"
#include "gpuperf/io/catalog.hpp"

namespace gpuperf::cli {

namespace po = boost::program_options;

// Thrown for bad usage (unknown option, missing argument); mapped to exit 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct CommandSpec {
  std::string name;     // "list gpus"
  std::string usage;    // "gpuperf list gpus [options]"
  std::string summary;  // one line
  std::function<int(const std::vector<std::string>&, Context&)> run;
};

// A command whose run calls `fn` with its own spec (for --help and the usage line).
using CommandFn = int (*)(const std::vector<std::string>&, Context&, const CommandSpec&);
CommandSpec make_command(std::string name, std::string usage, std::string summary, CommandFn fn);

const std::vector<CommandSpec>& all_commands();

// Parses a command's arguments with its own options plus the shared ones (--specs, --help, and
// --format when `with_format`). Returns nullopt when --help was asked (help text already in ctx.out).
struct ParsedArgs {
  po::variables_map vm;
  Format format = Format::table;
};
std::optional<ParsedArgs> parse_command_args(const std::vector<std::string>& args, const CommandSpec& cmd,
                                             po::options_description own, const po::positional_options_description& pos,
                                             Context& ctx, bool with_format = true);

// The card `id` of the catalog, or a UsageError listing the known ids.
const Gpu& require_gpu(const io::Catalog& cat, const std::string& id);

// Command groups, each in its own file.
std::vector<CommandSpec> catalog_commands();
std::vector<CommandSpec> engine_commands();
std::vector<CommandSpec> whatif_commands();
std::vector<CommandSpec> model_commands();
std::vector<CommandSpec> plot_commands();

}  // namespace gpuperf::cli
