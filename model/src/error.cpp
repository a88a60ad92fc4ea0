#include "gpuperf/error.hpp"

#include <utility>

namespace gpuperf {

std::string format_location(const InputLocation& where) {
  std::string out = where.file.empty() ? std::string("<input>") : where.file;
  if (where.line > 0) {
    out.push_back(':');
    out.append(std::to_string(where.line));
    if (where.col > 0) {
      out.push_back(':');
      out.append(std::to_string(where.col));
    }
  }
  return out;
}

namespace {
std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}
}  // namespace

InputError::InputError(InputLocation where, std::string field, std::string message)
    : std::runtime_error(one_line(format_location(where) + ": field '" + field + "': " + message)),
      where_(std::move(where)),
      field_(std::move(field)),
      message_(std::move(message)) {}

InputError::InputError(InputLocation where, std::string message)
    : std::runtime_error(one_line(format_location(where) + ": " + message)),
      where_(std::move(where)),
      message_(std::move(message)) {}

}  // namespace gpuperf
