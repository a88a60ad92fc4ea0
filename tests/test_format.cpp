// Output formats: JSON is valid and stable, CSV quotes, Markdown escapes, tables align.
#include <gtest/gtest.h>

#include <cmath>

#include "format.hpp"

using namespace gpuperf::cli;

TEST(Json, EscapesStringsAndKeepsKeyOrder) {
  Json j = Json::object();
  j.set("b", "say \"hi\"\n");
  j.set("a", 1);
  EXPECT_EQ(j.dump(0), "{\"b\":\"say \\\"hi\\\"\\n\",\"a\":1}\n");
}

TEST(Json, NonFiniteNumbersBecomeNull) {
  Json j = Json::array();
  j.push(std::nan(""));
  j.push(0.1);
  EXPECT_EQ(j.dump(0), "[null,0.1]\n");
}

TEST(Json, ControlCharactersAreEscaped) { EXPECT_EQ(json_escape(std::string("\x01")), "\\u0001"); }

TEST(Json, EmptyOptionalIsNull) { EXPECT_EQ(Json(std::optional<double>()).dump(0), "null\n"); }

TEST(Table, CsvQuotesCommasAndQuotes) {
  Table t;
  t.columns = {{"name", "Name"}, {"v", "V"}};
  t.add({"a, \"b\"", Cell(1.5, 1)});
  EXPECT_EQ(t.render(Format::csv), "name,v\n\"a, \"\"b\"\"\",1.5\n");
}

TEST(Table, MarkdownEscapesPipesAndRightAlignsNumbers) {
  Table t;
  t.columns = {{"name", "Name"}, {"v", "V"}};
  t.add({"a|b", Cell(2.0, 0)});
  EXPECT_EQ(t.render(Format::md), "| Name | V |\n| --- | ---: |\n| a\\|b | 2 |\n");
}

TEST(Table, TextAlignsColumns) {
  Table t;
  t.columns = {{"name", "Name"}, {"v", "V"}};
  t.add({"long name", Cell(2.0, 1)});
  t.add({"x", Cell(10.0, 1)});
  EXPECT_EQ(t.render(Format::table), "Name          V\nlong name   2.0\nx          10.0\n");
}

TEST(Table, JsonKeepsNumbersExact) {
  Table t;
  t.columns = {{"v", "V"}};
  t.add({Cell(1.23456789, 1)});
  EXPECT_EQ(t.render(Format::json), "[\n  {\n    \"v\": 1.23456789\n  }\n]\n");
}

TEST(Format, ParsesTheFourNames) {
  EXPECT_EQ(parse_format("md"), Format::md);
  EXPECT_FALSE(parse_format("xml").has_value());
}
