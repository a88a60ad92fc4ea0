#include "format.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace gpuperf::cli {

std::optional<Format> parse_format(const std::string& name) {
  if (name == "table") return Format::table;
  if (name == "csv") return Format::csv;
  if (name == "json") return Format::json;
  if (name == "md") return Format::md;
  return std::nullopt;
}

std::string format_number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, res.ptr);
}

std::string format_sig(double v, int digits) {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

std::string json_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size() + 2);
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

Json& Json::set(std::string key, Json value) {
  auto* obj = std::get_if<Object>(&v_);
  if (!obj) throw std::logic_error("Json::set on a non-object");
  obj->emplace_back(std::move(key), std::move(value));
  return obj->back().second;
}

Json& Json::push(Json value) {
  auto* arr = std::get_if<Array>(&v_);
  if (!arr) throw std::logic_error("Json::push on a non-array");
  arr->push_back(std::move(value));
  return arr->back();
}

std::string Json::dump(int indent) const {
  std::string out;
  write(out, indent, 0);
  out += '\n';
  return out;
}

void Json::write(std::string& out, int indent, int depth) const {
  auto newline = [&](int d) {
    if (indent <= 0) return;
    out += '\n';
    out.append(static_cast<std::size_t>(indent * d), ' ');
  };
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::nullptr_t>) {
          out += "null";
        } else if constexpr (std::is_same_v<T, bool>) {
          out += x ? "true" : "false";
        } else if constexpr (std::is_same_v<T, double>) {
          out += format_number(x);
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          out += std::to_string(x);
        } else if constexpr (std::is_same_v<T, std::string>) {
          out += '"' + json_escape(x) + '"';
        } else if constexpr (std::is_same_v<T, Array>) {
          if (x.empty()) {
            out += "[]";
            return;
          }
          out += '[';
          for (std::size_t i = 0; i < x.size(); ++i) {
            if (i) out += ',';
            newline(depth + 1);
            x[i].write(out, indent, depth + 1);
          }
          newline(depth);
          out += ']';
        } else {
          if (x.empty()) {
            out += "{}";
            return;
          }
          out += '{';
          for (std::size_t i = 0; i < x.size(); ++i) {
            if (i) out += ',';
            newline(depth + 1);
            out += '"' + json_escape(x[i].first) + "\":";
            if (indent > 0) out += ' ';
            x[i].second.write(out, indent, depth + 1);
          }
          newline(depth);
          out += '}';
        }
      },
      v_);
}

std::string Cell::text() const {
  if (std::holds_alternative<std::string>(value)) return std::get<std::string>(value);
  if (std::holds_alternative<std::int64_t>(value)) return std::to_string(std::get<std::int64_t>(value));
  if (std::holds_alternative<double>(value)) {
    double d = std::get<double>(value);
    if (!std::isfinite(d)) return "-";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, d);
    return buf;
  }
  return "-";
}

bool Cell::numeric() const {
  return std::holds_alternative<double>(value) || std::holds_alternative<std::int64_t>(value);
}

Json Cell::json() const {
  if (std::holds_alternative<std::string>(value)) return Json(std::get<std::string>(value));
  if (std::holds_alternative<std::int64_t>(value)) return Json(std::get<std::int64_t>(value));
  if (std::holds_alternative<double>(value)) return Json(std::get<double>(value));
  return Json();
}

namespace {
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += (c == '"') ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string csv_cell(const Cell& c) {
  if (std::holds_alternative<double>(c.value))
    return format_number(std::get<double>(c.value)) == "null" ? "" : format_number(std::get<double>(c.value));
  if (std::holds_alternative<std::monostate>(c.value)) return "";
  return csv_field(c.text());
}

std::string md_escape(const std::string& s) {
  std::string out;
  for (char c : s) out += (c == '|') ? std::string("\\|") : std::string(1, c);
  return out;
}
}  // namespace

Json Table::to_json() const {
  Json arr = Json::array();
  for (const auto& row : rows) {
    Json obj = Json::object();
    for (std::size_t i = 0; i < columns.size(); ++i) obj.set(columns[i].key, i < row.size() ? row[i].json() : Json());
    arr.push(std::move(obj));
  }
  return arr;
}

std::string Table::render(Format format) const {
  std::string out;
  switch (format) {
    case Format::json:
      return to_json().dump();
    case Format::csv: {
      for (std::size_t i = 0; i < columns.size(); ++i) out += (i ? "," : "") + csv_field(columns[i].key);
      out += '\n';
      for (const auto& row : rows) {
        for (std::size_t i = 0; i < columns.size(); ++i)
          out += (i ? "," : "") + (i < row.size() ? csv_cell(row[i]) : "");
        out += '\n';
      }
      return out;
    }
    case Format::md: {
      out += '|';
      for (const auto& c : columns) out += ' ' + md_escape(c.title) + " |";
      out += "\n|";
      for (std::size_t i = 0; i < columns.size(); ++i) {
        bool num = !rows.empty() && i < rows[0].size() && rows[0][i].numeric();
        out += num ? " ---: |" : " --- |";
      }
      out += '\n';
      for (const auto& row : rows) {
        out += '|';
        for (std::size_t i = 0; i < columns.size(); ++i)
          out += ' ' + md_escape(i < row.size() ? row[i].text() : "") + " |";
        out += '\n';
      }
      if (!footnotes.empty()) {
        out += '\n';
        for (const auto& f : footnotes) out += f + "\n";
      }
      return out;
    }
    case Format::table: {
      std::vector<std::size_t> width(columns.size());
      for (std::size_t i = 0; i < columns.size(); ++i) width[i] = columns[i].title.size();
      for (const auto& row : rows)
        for (std::size_t i = 0; i < columns.size() && i < row.size(); ++i)
          width[i] = std::max(width[i], row[i].text().size());
      auto pad = [](const std::string& s, std::size_t w, bool right) {
        std::string fill(w > s.size() ? w - s.size() : 0, ' ');
        return right ? fill + s : s + fill;
      };
      for (std::size_t i = 0; i < columns.size(); ++i) {
        bool num = !rows.empty() && i < rows[0].size() && rows[0][i].numeric();
        out += (i ? "  " : "") + pad(columns[i].title, width[i], num);
      }
      while (!out.empty() && out.back() == ' ') out.pop_back();
      out += '\n';
      for (const auto& row : rows) {
        std::string line;
        for (std::size_t i = 0; i < columns.size(); ++i) {
          const Cell& c = i < row.size() ? row[i] : Cell();
          line += (i ? "  " : "") + pad(c.text(), width[i], c.numeric());
        }
        while (!line.empty() && line.back() == ' ') line.pop_back();
        out += line + '\n';
      }
      for (const auto& f : footnotes) out += f + "\n";
      return out;
    }
  }
  return out;
}

}  // namespace gpuperf::cli
