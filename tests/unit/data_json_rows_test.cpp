// read_json_rows: JSONL and JSON-array files into object rows; every error names file:line.
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "trl/sdk/data/dataset.h"
#include "trl/sdk/error.h"

namespace {

using ::testing::HasSubstr;

// A file in the test's temp dir; the pid keeps parallel ctest processes apart.
std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "trl_json_rows_" + std::to_string(::getpid()) + "_" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::string data_error_of(const std::string& path) {
  try {
    trl::read_json_rows(path);
  } catch (const trl::DataError& e) {
    return e.what();
  }
  return "no DataError";
}

TEST(JsonRows, ReadsJsonlSkippingBlankLines) {
  const std::string path = write_file("a.jsonl", "{\"a\": 1}\n\n  \t\n{\"a\": 2}\r\n{\"a\": 3}");
  const std::vector<trl::JsonRow> rows = trl::read_json_rows(path);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].value["a"], 1);
  EXPECT_EQ(rows[0].line, 1);
  EXPECT_EQ(rows[1].value["a"], 2);
  EXPECT_EQ(rows[1].line, 4);
  EXPECT_EQ(rows[2].line, 5);
}

TEST(JsonRows, AcceptsByteOrderMarkAndUppercaseExtension) {
  const std::string path = write_file("bom.JSONL", "\xEF\xBB\xBF{\"a\": \"x\"}\n");
  const std::vector<trl::JsonRow> rows = trl::read_json_rows(path);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].value["a"], "x");
}

TEST(JsonRows, JsonlBadJsonNamesLineAndColumn) {
  const std::string path = write_file("bad.jsonl", "{\"a\": 1}\n{\"a\": x}\n");
  EXPECT_THAT(data_error_of(path),
              HasSubstr(path + ":2: invalid JSON at column 7: syntax error while parsing value - invalid literal"));
}

TEST(JsonRows, JsonlNonObjectRowNamesItsType) {
  const std::string array = write_file("arr.jsonl", "{\"a\": 1}\n[1, 2]\n");
  EXPECT_EQ(data_error_of(array), array + ":2: expected a JSON object per row, got array");
  const std::string path = write_file("str.jsonl", "\"text\"\n");
  EXPECT_EQ(data_error_of(path), path + ":1: expected a JSON object per row, got string");
}

TEST(JsonRows, JsonArrayRowsCarryTheLineWhereTheyStart) {
  const std::string path = write_file("arr.json",
                                      "[\n"
                                      "  {\"a\": 1},\n"
                                      "  {\"a\": 2,\n"
                                      "   \"b\": [1, {\"c\": \"] \\\" ,\"}]},\n"
                                      "\n"
                                      "  {\"a\": 3}\n"
                                      "]\n");
  const std::vector<trl::JsonRow> rows = trl::read_json_rows(path);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].line, 2);
  EXPECT_EQ(rows[1].line, 3);
  EXPECT_EQ(rows[1].value["b"][1]["c"], "] \" ,");
  EXPECT_EQ(rows[2].line, 6);
}

TEST(JsonRows, JsonObjectWithTrainArray) {
  const std::string path = write_file("train.json",
                                      "{\"meta\": [[1], {\"train\": 0}],\n"
                                      " \"train\": [\n"
                                      "   {\"a\": 1},\n"
                                      "   {\"a\": 2}]}\n");
  const std::vector<trl::JsonRow> rows = trl::read_json_rows(path);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].value["a"], 1);
  EXPECT_EQ(rows[0].line, 3);
  EXPECT_EQ(rows[1].line, 4);
}

TEST(JsonRows, JsonArrayNonObjectElementNamesItsLine) {
  const std::string path = write_file("elem.json", "[\n {\"a\": 1},\n 42\n]");
  EXPECT_EQ(data_error_of(path), path + ":3: expected a JSON object per row, got number");
}

TEST(JsonRows, JsonSyntaxErrorNamesLineAndColumn) {
  const std::string path = write_file("syntax.json", "[\n {\"a\": 1},\n {\"a\" 2}\n]");
  EXPECT_THAT(data_error_of(path), HasSubstr(path + ":3: invalid JSON at column 7: syntax error"));
}

TEST(JsonRows, JsonLinesInAJsonFileGetAHint) {
  const std::string path = write_file("lines.json", "{\"a\": 1}\n{\"a\": 2}\n");
  EXPECT_THAT(data_error_of(path), HasSubstr("(one object per line is JSON Lines: name the file .jsonl)"));
}

TEST(JsonRows, RefusesOtherJsonShapes) {
  const std::string object = write_file("obj.json", "{\"rows\": []}");
  EXPECT_EQ(data_error_of(object),
            object + ": expected a JSON array of rows or an object with a \"train\" array, got an object without a "
                     "\"train\" key");
  const std::string train_string = write_file("trainstr.json", "{\"train\": \"x\"}");
  EXPECT_EQ(data_error_of(train_string),
            train_string + ": expected a JSON array of rows or an object with a \"train\" array, got an object whose "
                           "\"train\" is not an array");
  const std::string scalar = write_file("scalar.json", "3");
  EXPECT_EQ(data_error_of(scalar), scalar + ": expected a JSON array of rows, got number");
}

TEST(JsonRows, MissingFileIsADataError) {
  const std::string path = ::testing::TempDir() + "trl_json_rows_no_such_file.jsonl";
  EXPECT_EQ(data_error_of(path), path + ": no such file");
}

TEST(JsonRows, DirectoryIsADataError) {
  const std::string path = ::testing::TempDir() + "trl_json_rows_dir_" + std::to_string(::getpid()) + ".jsonl";
  ::mkdir(path.c_str(), 0700);
  EXPECT_EQ(data_error_of(path), path + ": not a regular file");
  ::rmdir(path.c_str());
}

TEST(JsonRows, RefusesOtherExtensions) {
  const std::string csv = write_file("data.csv", "a,b\n");
  EXPECT_EQ(data_error_of(csv), csv + ": unsupported file extension '.csv' (expected .jsonl or .json)");
  const std::string none = write_file("data", "{}\n");
  EXPECT_EQ(data_error_of(none), none + ": unsupported file extension (none) (expected .jsonl or .json)");
}

TEST(JsonRows, EmptyDatasetIsADataError) {
  const std::string jsonl = write_file("empty.jsonl", "\n \n");
  EXPECT_EQ(data_error_of(jsonl), jsonl + ": the dataset is empty (no rows)");
  const std::string json = write_file("empty.json", "[ ]");
  EXPECT_EQ(data_error_of(json), json + ": the dataset is empty (no rows)");
  const std::string train = write_file("emptytrain.json", "{\"train\": []}");
  EXPECT_EQ(data_error_of(train), train + ": the dataset is empty (no rows)");
}

}  // namespace
