// yaml_reader: the edge where YAML becomes plain values. Strict: every problem becomes an InputError
// naming file, line, column and the dotted field path; unknown and duplicate keys are errors.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "gpuperf/error.hpp"

namespace gpuperf::io {

// Largest input file accepted; a spec larger than this is a mistake, not data.
inline constexpr std::uintmax_t kMaxInputBytes = 8u * 1024u * 1024u;

// Reads and parses one YAML file. Rejects missing, unreadable, non-regular, oversized, empty and
// non-YAML files with a one-line InputError.
YAML::Node load_yaml_file(const std::filesystem::path& path);
// Parses YAML text (for tests and command-line fragments); `name` is used in messages.
YAML::Node load_yaml_text(const std::string& text, const std::string& name);

InputLocation location_of(const YAML::Node& node, const std::string& file);

// Reads one mapping node. Every key read is remembered; finish() rejects the rest.
class MapReader {
 public:
  MapReader(YAML::Node node, std::string file, std::string path);

  bool has(std::string_view key) const;
  // The raw node of a present key (marks it used); throws if missing.
  YAML::Node node(std::string_view key);

  std::string string(std::string_view key);
  std::optional<std::string> optional_string(std::string_view key);
  // A finite number > 0.
  double positive(std::string_view key);
  std::optional<double> optional_positive(std::string_view key);
  // A finite number in [lo, hi].
  double number_in(std::string_view key, double lo, double hi);
  // An integer > 0 (no fraction, no overflow).
  std::int64_t positive_int(std::string_view key);
  std::int64_t int_in(std::string_view key, std::int64_t lo, std::int64_t hi);
  bool boolean(std::string_view key);
  // One of `choices`.
  std::string choice(std::string_view key, const std::vector<std::string>& choices);
  // A YYYY-MM-DD date.
  std::string date(std::string_view key);
  MapReader map(std::string_view key);
  // A non-empty sequence.
  YAML::Node sequence(std::string_view key);
  std::vector<std::string> string_list(std::string_view key);

  // Checks the `version:` key equals `expected`.
  void expect_version(int expected);

  [[noreturn]] void fail(std::string_view key, const std::string& message) const;
  [[noreturn]] void fail_node(const YAML::Node& node, const std::string& field, const std::string& message) const;
  InputLocation location(std::string_view key) const;
  InputLocation location() const { return location_of(node_, file_); }
  std::string field_path(std::string_view key) const;
  const std::string& file() const { return file_; }
  const YAML::Node& yaml() const { return node_; }

  // Rejects keys never read and keys given twice.
  void finish() const;

 private:
  YAML::Node node_;
  std::string file_;
  std::string path_;
  std::set<std::string, std::less<>> used_;
};

// Lowercase letters, digits and single dashes, not starting or ending with a dash.
bool valid_id(const std::string& id);
// Reads `version:` (must equal `version`) and `id:` (lowercase-dashed, equal to the file's stem).
std::string read_spec_header(MapReader& r, const std::filesystem::path& path, int version);

// Scalar conversions of a node that is not in a map (sequence items); field names the item.
// Any finite number.
double scalar_number(const YAML::Node& node, const std::string& file, const std::string& field);
double scalar_positive(const YAML::Node& node, const std::string& file, const std::string& field);
std::string scalar_string(const YAML::Node& node, const std::string& file, const std::string& field);

}  // namespace gpuperf::io
