#include "gpuperf/io/yaml_reader.hpp"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

namespace gpuperf::io {

namespace fs = std::filesystem;

InputLocation location_of(const YAML::Node& node, const std::string& file) {
  InputLocation where{file, 0, 0};
  if (node.IsDefined()) {
    const YAML::Mark mark = node.Mark();
    if (mark.line >= 0) {
      where.line = mark.line + 1;
      where.col = mark.column + 1;
    }
  }
  return where;
}

namespace {

std::string describe(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "nothing";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  std::string s = node.Scalar();
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return "'" + s + "'";
}

YAML::Node parse(const std::string& text, const std::string& name) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    InputLocation where{name, e.mark.line >= 0 ? e.mark.line + 1 : 0, e.mark.column >= 0 ? e.mark.column + 1 : 0};
    throw InputError(where, "not valid YAML: " + e.msg);
  }
  if (!root.IsDefined() || root.IsNull()) throw InputError({name, 0, 0}, "empty file (expected a YAML mapping)");
  if (!root.IsMap())
    throw InputError(location_of(root, name), "expected a YAML mapping at the top, got " + describe(root));
  return root;
}

// Parses a scalar wholly as a number; YAML's .inf/.nan spellings become non-finite values so that the
// caller can say "must be finite" rather than "not a number".
std::optional<double> to_double(const YAML::Node& node) {
  if (!node.IsScalar()) return std::nullopt;
  std::string s = node.Scalar();
  if (s.empty()) return std::nullopt;
  std::string lower;
  for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == ".inf" || lower == "+.inf") return std::numeric_limits<double>::infinity();
  if (lower == "-.inf") return -std::numeric_limits<double>::infinity();
  if (lower == ".nan") return std::numeric_limits<double>::quiet_NaN();
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

YAML::Node load_yaml_text(const std::string& text, const std::string& name) { return parse(text, name); }

YAML::Node load_yaml_file(const fs::path& path) {
  const std::string name = path.string();
  std::error_code ec;
  auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) throw InputError({name, 0, 0}, "no such file");
  if (fs::is_directory(status)) throw InputError({name, 0, 0}, "is a directory, expected a YAML file");
  if (!fs::is_regular_file(status)) throw InputError({name, 0, 0}, "not a regular file");
  auto size = fs::file_size(path, ec);
  if (ec) throw InputError({name, 0, 0}, "cannot read file size: " + ec.message());
  if (size > kMaxInputBytes)
    throw InputError({name, 0, 0}, "file is " + std::to_string(size) + " bytes, more than the " +
                                       std::to_string(kMaxInputBytes) + "-byte limit for an input");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError({name, 0, 0}, "cannot open file for reading");
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) throw InputError({name, 0, 0}, "read error");
  return parse(buf.str(), name);
}

MapReader::MapReader(YAML::Node node, std::string file, std::string path)
    : node_(std::move(node)), file_(std::move(file)), path_(std::move(path)) {
  if (!node_.IsMap())
    throw InputError(location_of(node_, file_), path_.empty() ? "document" : path_,
                     "expected a mapping, got " + describe(node_));
}

std::string MapReader::field_path(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

bool MapReader::has(std::string_view key) const {
  for (const auto& kv : node_)
    if (kv.first.IsScalar() && kv.first.Scalar() == key) return true;
  return false;
}

InputLocation MapReader::location(std::string_view key) const {
  for (const auto& kv : node_)
    if (kv.first.IsScalar() && kv.first.Scalar() == key)
      return location_of(kv.second.IsNull() ? kv.first : kv.second, file_);
  return location();
}

void MapReader::fail(std::string_view key, const std::string& message) const {
  throw InputError(location(key), field_path(key), message);
}

void MapReader::fail_node(const YAML::Node& node, const std::string& field, const std::string& message) const {
  throw InputError(location_of(node, file_), field, message);
}

YAML::Node MapReader::node(std::string_view key) {
  used_.emplace(key);
  for (const auto& kv : node_)
    if (kv.first.IsScalar() && kv.first.Scalar() == key) return kv.second;
  throw InputError(location(), field_path(key), "missing (required)");
}

std::string MapReader::string(std::string_view key) {
  YAML::Node n = node(key);
  if (!n.IsScalar() || n.Scalar().empty()) fail(key, "expected a non-empty string, got " + describe(n));
  return n.Scalar();
}

std::optional<std::string> MapReader::optional_string(std::string_view key) {
  if (!has(key)) return std::nullopt;
  return string(key);
}

double MapReader::number_in(std::string_view key, double lo, double hi) {
  YAML::Node n = node(key);
  auto v = to_double(n);
  if (!v) fail(key, "expected a number, got " + describe(n));
  if (!std::isfinite(*v)) fail(key, "must be finite, got " + describe(n));
  if (*v < lo || *v > hi) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "must be in [%g, %g], got %s", lo, hi, n.Scalar().c_str());
    fail(key, buf);
  }
  return *v;
}

double MapReader::positive(std::string_view key) {
  YAML::Node n = node(key);
  auto v = to_double(n);
  if (!v) fail(key, "expected a number, got " + describe(n));
  if (!std::isfinite(*v)) fail(key, "must be finite, got " + describe(n));
  if (*v <= 0) fail(key, "must be > 0, got " + n.Scalar());
  return *v;
}

std::optional<double> MapReader::optional_positive(std::string_view key) {
  if (!has(key)) return std::nullopt;
  return positive(key);
}

std::int64_t MapReader::int_in(std::string_view key, std::int64_t lo, std::int64_t hi) {
  YAML::Node n = node(key);
  if (!n.IsScalar()) fail(key, "expected an integer, got " + describe(n));
  const std::string& s = n.Scalar();
  errno = 0;
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || end != s.c_str() + s.size()) {
    auto d = to_double(n);
    if (d) fail(key, "must be an integer, got " + s);
    fail(key, "expected an integer, got " + describe(n));
  }
  if (errno == ERANGE) fail(key, "integer out of range: " + s);
  if (v < lo || v > hi) fail(key, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + s);
  return v;
}

std::int64_t MapReader::positive_int(std::string_view key) {
  return int_in(key, 1, std::numeric_limits<std::int32_t>::max());
}

bool MapReader::boolean(std::string_view key) {
  YAML::Node n = node(key);
  bool b = false;
  if (!n.IsScalar() || !YAML::convert<bool>::decode(n, b)) fail(key, "expected true or false, got " + describe(n));
  return b;
}

std::string MapReader::choice(std::string_view key, const std::vector<std::string>& choices) {
  std::string s = string(key);
  for (const auto& c : choices)
    if (c == s) return s;
  std::string list;
  for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
  fail(key, "unknown value '" + s + "' (expected one of: " + list + ")");
}

std::string MapReader::date(std::string_view key) {
  std::string s = string(key);
  auto digits = [&](std::size_t from, std::size_t n) {
    for (std::size_t i = from; i < from + n; ++i)
      if (s[i] < '0' || s[i] > '9') return false;
    return true;
  };
  bool ok = s.size() == 10 && s[4] == '-' && s[7] == '-' && digits(0, 4) && digits(5, 2) && digits(8, 2);
  if (ok) {
    int month = std::stoi(s.substr(5, 2)), day = std::stoi(s.substr(8, 2));
    ok = month >= 1 && month <= 12 && day >= 1 && day <= 31;
  }
  if (!ok) fail(key, "expected a date YYYY-MM-DD, got '" + s + "'");
  return s;
}

MapReader MapReader::map(std::string_view key) {
  YAML::Node n = node(key);
  if (!n.IsMap()) fail(key, "expected a mapping, got " + describe(n));
  return MapReader(n, file_, field_path(key));
}

YAML::Node MapReader::sequence(std::string_view key) {
  YAML::Node n = node(key);
  if (!n.IsSequence()) fail(key, "expected a list, got " + describe(n));
  if (n.size() == 0) fail(key, "must not be empty");
  return n;
}

std::vector<std::string> MapReader::string_list(std::string_view key) {
  YAML::Node n = sequence(key);
  std::vector<std::string> out;
  std::size_t i = 0;
  for (const auto& item : n)
    out.push_back(scalar_string(item, file_, field_path(key) + "[" + std::to_string(i++) + "]"));
  return out;
}

void MapReader::expect_version(int expected) {
  auto v = int_in("version", 0, std::numeric_limits<std::int32_t>::max());
  if (v != expected)
    fail("version", "unsupported schema version " + std::to_string(v) + " (this gpuperf reads version " +
                        std::to_string(expected) + ")");
}

void MapReader::finish() const {
  std::map<std::string, int> seen;
  for (const auto& kv : node_) {
    if (!kv.first.IsScalar()) fail_node(kv.first, path_.empty() ? "document" : path_, "keys must be plain strings");
    const std::string& k = kv.first.Scalar();
    if (++seen[k] > 1) throw InputError(location_of(kv.first, file_), field_path(k), "given more than once");
    if (!used_.count(k)) throw InputError(location_of(kv.first, file_), field_path(k), "unknown key");
  }
}

bool valid_id(const std::string& id) {
  if (id.empty() || id.front() == '-' || id.back() == '-') return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok || (c == '-' && i > 0 && id[i - 1] == '-')) return false;
  }
  return true;
}

std::string read_spec_header(MapReader& r, const fs::path& path, int version) {
  r.expect_version(version);
  std::string id = r.string("id");
  if (!valid_id(id)) r.fail("id", "'" + id + "' must be lowercase letters, digits and single dashes");
  if (id != path.stem().string()) r.fail("id", "'" + id + "' must equal the file name '" + path.stem().string() + "'");
  return id;
}

double scalar_number(const YAML::Node& node, const std::string& file, const std::string& field) {
  auto v = to_double(node);
  if (!v) throw InputError(location_of(node, file), field, "expected a number, got " + describe(node));
  if (!std::isfinite(*v)) throw InputError(location_of(node, file), field, "must be finite, got " + node.Scalar());
  return *v;
}

double scalar_positive(const YAML::Node& node, const std::string& file, const std::string& field) {
  auto v = to_double(node);
  if (!v) throw InputError(location_of(node, file), field, "expected a number, got " + describe(node));
  if (!std::isfinite(*v) || *v <= 0)
    throw InputError(location_of(node, file), field, "must be a finite number > 0, got " + node.Scalar());
  return *v;
}

std::string scalar_string(const YAML::Node& node, const std::string& file, const std::string& field) {
  if (!node.IsScalar() || node.Scalar().empty())
    throw InputError(location_of(node, file), field, "expected a non-empty string, got " + describe(node));
  return node.Scalar();
}

}  // namespace gpuperf::io
