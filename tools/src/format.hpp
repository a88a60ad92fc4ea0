// format: how tools/ prints results — one typed table rendered as an aligned table, CSV, Markdown or
// JSON, and a small ordered JSON value for nested documents.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace gpuperf::cli {

enum class Format { table, csv, json, md };
// Parses "table|csv|json|md"; nullopt if unknown.
std::optional<Format> parse_format(const std::string& name);

// An ordered JSON value. Numbers are doubles or integers; non-finite doubles become null.
class Json {
 public:
  using Array = std::vector<Json>;
  using Object = std::vector<std::pair<std::string, Json>>;

  Json() : v_(nullptr) {}
  Json(std::nullptr_t) : v_(nullptr) {}
  Json(bool b) : v_(b) {}
  Json(double d) : v_(d) {}
  Json(int i) : v_(static_cast<std::int64_t>(i)) {}
  Json(std::int64_t i) : v_(i) {}
  Json(std::uint64_t i) : v_(static_cast<double>(i)) {}
  Json(const char* s) : v_(std::string(s)) {}
  Json(std::string s) : v_(std::move(s)) {}
  Json(Array a) : v_(std::move(a)) {}
  template <class T>
  Json(const std::optional<T>& o) : v_(nullptr) {
    if (o) *this = Json(*o);
  }

  static Json object() { return Json(Object{}); }
  static Json array() { return Json(Array{}); }

  // Appends a key to an object (keys keep insertion order).
  Json& set(std::string key, Json value);
  // Appends to an array.
  Json& push(Json value);

  std::string dump(int indent = 2) const;

 private:
  explicit Json(Object o) : v_(std::move(o)) {}
  void write(std::string& out, int indent, int depth) const;
  std::variant<std::nullptr_t, bool, double, std::int64_t, std::string, Array, Object> v_;
};

// Shortest text that reads back as the same double.
std::string format_number(double v);
// A number rounded to `digits` significant digits, for human tables.
std::string format_sig(double v, int digits);
std::string json_escape(const std::string& s);

// A cell: text, a number shown with a given number of decimals (exact in JSON/CSV), or empty.
struct Cell {
  std::variant<std::monostate, std::string, double, std::int64_t> value;
  int decimals = 2;

  Cell() = default;
  Cell(std::string s) : value(std::move(s)) {}
  Cell(const char* s) : value(std::string(s)) {}
  Cell(double d, int decimals_ = 2) : value(d), decimals(decimals_) {}
  Cell(int i) : value(static_cast<std::int64_t>(i)) {}
  Cell(std::int64_t i) : value(i) {}
  template <class T>
  Cell(const std::optional<T>& o, int decimals_ = 2) : decimals(decimals_) {
    if (o) value = *o;
  }
  std::string text() const;  // as shown in table/md
  bool numeric() const;
  Json json() const;
};

struct Column {
  std::string key;    // JSON/CSV name, snake_case with unit
  std::string title;  // table/Markdown header
};

struct Table {
  std::vector<Column> columns;
  std::vector<std::vector<Cell>> rows;
  std::vector<std::string> footnotes;  // printed under table/md; not in CSV/JSON

  void add(std::vector<Cell> row) { rows.push_back(std::move(row)); }
  std::string render(Format format) const;
  Json to_json() const;  // array of objects keyed by column key
};

}  // namespace gpuperf::cli
