#include "gnuplot.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "commands.hpp"
#include "gpuperf/error.hpp"

extern char** environ;

namespace gpuperf::cli {

namespace fs = std::filesystem;

namespace {

// Removes a path when it goes out of scope, unless released.
struct Remover {
  std::string path;
  ~Remover() {
    if (!path.empty()) ::unlink(path.c_str());
  }
};

// A fresh empty file named after `target` in `dir` (mkstemp); throws InputError naming `target`.
std::string temp_beside(const fs::path& target, const std::string& suffix) {
  fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  std::string tmpl = (dir / ("." + target.filename().string() + suffix + ".XXXXXX")).string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  int fd = ::mkstemp(buf.data());
  if (fd < 0) {
    int err = errno;
    throw InputError({target.string(), 0, 0}, std::string("cannot create a file in its folder: ") + std::strerror(err));
  }
  ::close(fd);
  return std::string(buf.data());
}

std::string terminal_for(ChartFormat f, ChartSize size) {
  const std::string font = "font \"DejaVu Sans,12\"";
  switch (f) {
    case ChartFormat::svg:
      return "set terminal svg size " + std::to_string(size.width_px) + "," + std::to_string(size.height_px) +
             " dynamic noenhanced " + font + " background \"#ffffff\"\n";
    case ChartFormat::png:
      return "set terminal pngcairo size " + std::to_string(size.width_px) + "," + std::to_string(size.height_px) +
             " noenhanced " + font + " background \"#ffffff\"\n";
    case ChartFormat::pdf:
      // 100 px to the inch keeps the layout of the PNG.
      return "set terminal pdfcairo size " + std::to_string(size.width_px / 100.0) + "in," +
             std::to_string(size.height_px / 100.0) + "in noenhanced font \"DejaVu Sans,9\"\n";
  }
  return "";
}

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

ChartFormat chart_format_of(const fs::path& out) {
  std::string ext = out.extension().string();
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == ".svg") return ChartFormat::svg;
  if (ext == ".png") return ChartFormat::png;
  if (ext == ".pdf") return ChartFormat::pdf;
  throw UsageError("--out '" + out.string() + "': the chart format comes from the extension: .svg, .png or .pdf");
}

std::optional<fs::path> find_gnuplot() {
  if (const char* env = std::getenv("GPUPERF_GNUPLOT"); env && *env) {
    fs::path p(env);
    if (::access(p.c_str(), X_OK) == 0) return p;
    return std::nullopt;
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    fs::path cand =
        fs::path(dirs.substr(start, end - start).empty() ? "." : dirs.substr(start, end - start)) / "gnuplot";
    if (::access(cand.c_str(), X_OK) == 0) return cand;
    start = end + 1;
  }
  return std::nullopt;
}

std::string gp_quote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

const std::vector<std::string>& okabe_ito() {
  static const std::vector<std::string> colours = {"#0072B2", "#E69F00", "#009E73", "#CC79A7",
                                                   "#56B4E9", "#D55E00", "#F0E442", "#999999"};
  return colours;
}

void render_chart(const std::string& body, const fs::path& out, ChartSize size, std::ostream* warnings) {
  const ChartFormat format = chart_format_of(out);
  const auto gnuplot = find_gnuplot();
  if (!gnuplot)
    throw UsageError("gnuplot not found: install it (Debian: apt-get install gnuplot-nox) or set GPUPERF_GNUPLOT");
  if (out.filename().empty()) throw UsageError("--out '" + out.string() + "' names no file");
  std::error_code ec;
  if (fs::is_directory(out, ec)) throw UsageError("--out '" + out.string() + "' is a folder");
  const fs::path dir = out.parent_path().empty() ? fs::path(".") : out.parent_path();
  if (!fs::is_directory(dir, ec))
    throw InputError({out.string(), 0, 0}, "output folder '" + dir.string() + "' does not exist");

  Remover image{temp_beside(out, ".tmp")};
  Remover script{temp_beside(out, ".gp")};
  Remover errors{temp_beside(out, ".err")};
  {
    std::ofstream s(script.path);
    s << terminal_for(format, size) << "set output " << gp_quote(image.path) << "\n"
      << "set encoding utf8\n"
      << body << "\nunset output\n";
    s.close();
    if (!s) throw InputError({out.string(), 0, 0}, "cannot write the chart's gnuplot script beside it");
  }

  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("cannot start gnuplot: ") + std::strerror(errno));
  if (pid == 0) {
    int devnull = ::open("/dev/null", O_RDONLY);
    int err = ::open(errors.path.c_str(), O_WRONLY | O_TRUNC);
    if (devnull >= 0) ::dup2(devnull, 0);
    if (err >= 0) {
      ::dup2(err, 1);
      ::dup2(err, 2);
    }
    const std::string exe = gnuplot->string();
    std::vector<char*> argv = {const_cast<char*>(exe.c_str()), const_cast<char*>(script.path.c_str()), nullptr};
    ::execve(exe.c_str(), argv.data(), environ);
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw std::runtime_error(std::string("waiting for gnuplot: ") + std::strerror(errno));
  }
  const std::string messages = read_all(errors.path);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string first = messages;
    // gnuplot echoes the failing line, then a caret line, then the message: keep the message.
    std::istringstream lines(messages);
    for (std::string line; std::getline(lines, line);)
      if (line.find("error") != std::string::npos || line.find("line ") != std::string::npos) first = line;
    while (!first.empty() && (first.back() == '\n' || first.back() == '\r')) first.pop_back();
    throw std::runtime_error("gnuplot failed on the chart script" + (first.empty() ? std::string() : ": " + first));
  }
  if (warnings && !messages.empty()) {
    std::istringstream lines(messages);
    for (std::string line; std::getline(lines, line);)
      if (!line.empty()) *warnings << "gpuperf plot: gnuplot: " << line << "\n";
  }
  if (fs::file_size(image.path, ec) == 0 || ec) throw std::runtime_error("gnuplot wrote an empty chart");
  ::chmod(image.path.c_str(), 0644);
  if (::rename(image.path.c_str(), out.c_str()) != 0) {
    int err = errno;
    throw InputError({out.string(), 0, 0},
                     std::string("cannot rename the temporary file into place: ") + std::strerror(err));
  }
  image.path.clear();
}

}  // namespace gpuperf::cli
