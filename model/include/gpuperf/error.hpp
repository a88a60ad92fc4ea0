// error: the one exception type that carries bad input from the loaders to tools/, which maps it to exit 2.
#pragma once

#include <stdexcept>
#include <string>

namespace gpuperf {

// Where in which input a problem was found. line/col are 1-based; 0 means unknown.
struct InputLocation {
  std::string file;
  int line = 0;
  int col = 0;
};

// A problem with user input. what() is the single line users see:
// `file:line:col: field 'name': message`.
class InputError : public std::runtime_error {
 public:
  InputError(InputLocation where, std::string field, std::string message);
  // An error about a whole file or an option with no field (e.g. "empty file").
  InputError(InputLocation where, std::string message);

  const InputLocation& where() const { return where_; }
  const std::string& field() const { return field_; }
  const std::string& message() const { return message_; }

 private:
  InputLocation where_;
  std::string field_;
  std::string message_;
};

std::string format_location(const InputLocation& where);

}  // namespace gpuperf
