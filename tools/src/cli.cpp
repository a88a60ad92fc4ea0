#include "cli.hpp"

#include <exception>
#include <system_error>

#include "commands.hpp"
#include "gpuperf/error.hpp"

namespace gpuperf::cli {

namespace fs = std::filesystem;

fs::path default_specs_dir(const fs::path& exe) {
  std::error_code ec;
  fs::path resolved = fs::weakly_canonical(exe, ec);
  if (ec) resolved = exe;
  const fs::path build_dir = fs::weakly_canonical(fs::path(GPUPERF_BUILD_DIR), ec);
  auto rel = resolved.lexically_relative(build_dir);
  if (!ec && !rel.empty() && *rel.begin() != "..") return fs::path(GPUPERF_SOURCE_SPECS_DIR);
  return resolved.parent_path().parent_path() / "share" / "gpuperf" / "specs";
}

namespace {

std::string overview() {
  std::string s =
      "gpuperf: predicts Stable Diffusion it/s and LLaMA tokens/s on NVIDIA GPUs, and explains why.\n\n"
      "usage: gpuperf [--specs DIR] COMMAND [options]\n\ncommands:\n";
  for (const auto& c : all_commands()) {
    std::string name = "  " + c.name;
    name.resize(std::max<std::size_t>(name.size() + 2, 22), ' ');
    s += name + c.summary + "\n";
  }
  s += "\nEvery command takes --help. --specs DIR reads another spec tree (default: the bundled specs/).\n";
  return s;
}

}  // namespace

int run(const std::vector<std::string>& args, const fs::path& default_specs, std::ostream& out, std::ostream& err) {
  Context ctx;
  ctx.specs_dir = default_specs;
  ctx.err = &err;
  // Command words are the leading arguments that are not options; --specs DIR may come before them
  // and is handed to the command like any of its options.
  std::vector<std::string> words;
  std::vector<std::string> rest;
  bool help = false;
  bool options_started = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--specs" && i + 1 < args.size()) {
      rest.push_back(a);
      rest.push_back(args[++i]);
      continue;
    }
    if (a.rfind("--specs=", 0) == 0) {
      rest.push_back(a);
      continue;
    }
    if (words.size() < 2 && !options_started && !a.empty() && a[0] != '-') {
      words.push_back(a);
      continue;
    }
    if (words.empty() && (a == "--help" || a == "-h")) help = true;
    if (words.empty() && a == "--version") {
      out << "gpuperf " << GPUPERF_VERSION << "\n";
      return 0;
    }
    options_started = true;
    rest.push_back(a);
  }
  if (words.empty()) {
    if (help) {
      out << overview();
      return 0;
    }
    // `gpuperf --specs DIR` alone, or nothing at all.
    err << "gpuperf: no command given (try 'gpuperf --help')\n";
    return 2;
  }
  const CommandSpec* cmd = nullptr;
  std::vector<std::string> cmd_args;
  for (const auto& c : all_commands()) {
    if (words.size() >= 2 && c.name == words[0] + " " + words[1]) {
      cmd = &c;
      cmd_args = rest;
      break;
    }
  }
  if (!cmd) {
    for (const auto& c : all_commands()) {
      if (c.name == words[0]) {
        cmd = &c;
        if (words.size() == 2) cmd_args.push_back(words[1]);
        cmd_args.insert(cmd_args.end(), rest.begin(), rest.end());
        break;
      }
    }
  }
  if (!cmd) {
    std::string known;
    for (const auto& c : all_commands()) {
      if (c.name.rfind(words[0] + " ", 0) == 0) known += (known.empty() ? "" : ", ") + c.name;
    }
    std::string what = words.size() >= 2 ? words[0] + " " + words[1] : words[0];
    err << "gpuperf: unknown command '" << what << "'"
        << (known.empty() ? std::string(" (try 'gpuperf --help')") : " (did you mean: " + known + "?)") << "\n";
    return 2;
  }
  try {
    int code = cmd->run(cmd_args, ctx);
    if (code == 0) out << ctx.out;
    return code;
  } catch (const UsageError& e) {
    err << "gpuperf " << cmd->name << ": " << e.what() << " (try 'gpuperf " << cmd->name << " --help')\n";
    return 2;
  } catch (const po::error& e) {
    err << "gpuperf " << cmd->name << ": " << e.what() << " (try 'gpuperf " << cmd->name << " --help')\n";
    return 2;
  } catch (const InputError& e) {
    err << e.what() << "\n";
    return 2;
  } catch (const std::bad_alloc&) {
    err << "gpuperf " << cmd->name << ": out of memory\n";
    return 1;
  } catch (const std::exception& e) {
    err << "gpuperf " << cmd->name << ": internal error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace gpuperf::cli
