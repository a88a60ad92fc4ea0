// gnuplot: charts are drawn by gnuplot (a runtime dependency, Debian `gnuplot-nox`), driven from C++.
// A chart is a gnuplot script body (data inline as here-documents, no terminal and no output set);
// render_chart picks the terminal from the output's extension (.svg, .png, .pdf), renders into a
// temporary file in the target folder and renames it into place, so a failed render leaves no file.
#pragma once

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace gpuperf::cli {

enum class ChartFormat { svg, png, pdf };

// The chart format of an output path, from its extension; UsageError for any other extension.
ChartFormat chart_format_of(const std::filesystem::path& out);

// The gnuplot executable: $GPUPERF_GNUPLOT when set, else `gnuplot` on PATH; nullopt if none.
std::optional<std::filesystem::path> find_gnuplot();

struct ChartSize {
  int width_px = 1000;
  int height_px = 650;
};

// Renders `body` to `out` atomically. Throws UsageError when gnuplot is missing or the extension is
// unknown, InputError (naming `out`) when the file cannot be written, std::runtime_error when gnuplot
// fails on the script. gnuplot's warnings, if any, go to `warnings` (one line each).
void render_chart(const std::string& body, const std::filesystem::path& out, ChartSize size, std::ostream* warnings);

// A gnuplot string literal (double quotes; backslashes, quotes and newlines escaped).
std::string gp_quote(const std::string& text);

// The Okabe–Ito colour-blind-safe palette (black left out), as gnuplot "#rrggbb" strings.
const std::vector<std::string>& okabe_ito();

}  // namespace gpuperf::cli
