#include "commands.hpp"

#include <sstream>

namespace gpuperf::cli {

const std::vector<CommandSpec>& all_commands() {
  static const std::vector<CommandSpec> commands = [] {
    std::vector<CommandSpec> all;
    for (auto& c : catalog_commands()) all.push_back(std::move(c));
    for (auto& c : model_commands()) all.push_back(std::move(c));
    for (auto& c : engine_commands()) all.push_back(std::move(c));
    for (auto& c : whatif_commands()) all.push_back(std::move(c));
    for (auto& c : plot_commands()) all.push_back(std::move(c));
    return all;
  }();
  return commands;
}

std::optional<ParsedArgs> parse_command_args(const std::vector<std::string>& args, const CommandSpec& cmd,
                                             po::options_description own, const po::positional_options_description& pos,
                                             Context& ctx, bool with_format) {
  po::options_description common("Common options");
  common.add_options()("help,h", "show this help")("specs", po::value<std::string>(),
                                                   "spec tree to read (default: bundled specs/)");
  if (with_format)
    common.add_options()("format", po::value<std::string>()->default_value("table"), "table|csv|json|md");
  po::options_description all;
  all.add(own).add(common);
  ParsedArgs parsed;
  po::store(po::command_line_parser(args).options(all).positional(pos).run(), parsed.vm);
  if (parsed.vm.count("help")) {
    std::ostringstream help;
    help << "usage: " << cmd.usage << "\n\n" << cmd.summary << "\n\n" << all;
    ctx.out = help.str();
    return std::nullopt;
  }
  po::notify(parsed.vm);
  if (parsed.vm.count("specs")) ctx.specs_dir = parsed.vm["specs"].as<std::string>();
  if (with_format) {
    auto f = parse_format(parsed.vm["format"].as<std::string>());
    if (!f)
      throw UsageError("unknown --format '" + parsed.vm["format"].as<std::string>() +
                       "' (expected table, csv, json or md)");
    parsed.format = *f;
  }
  return parsed;
}

CommandSpec make_command(std::string name, std::string usage, std::string summary, CommandFn fn) {
  CommandSpec spec{std::move(name), std::move(usage), std::move(summary), nullptr};
  spec.run = [spec, fn](const std::vector<std::string>& a, Context& c) { return fn(a, c, spec); };
  return spec;
}

}  // namespace gpuperf::cli
