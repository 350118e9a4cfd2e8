#pragma once
/// @file
/// A table an experiment fills once and prints per format: markdown for the report, CSV for the
/// data files beside it. Each column says its header in each format (empty: not in that format)
/// and how many significant digits the markdown shows (0: as the CSV, i.e. the stream default).
#include <cstdint>
#include <cstdio>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

namespace dsignsgd {

class Table {
 public:
  struct Column {
    std::string markdown;  ///< header in the report; empty: CSV only
    std::string csv;       ///< header in the data file; empty: markdown only
    int digits = 0;        ///< markdown: significant digits (%.*g); 0: stream default
  };
  using Cell = std::variant<std::string, double, std::int64_t>;

  explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

  /// Appends a row: one cell per column, in column order.
  void add(std::vector<Cell> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }

  /// The report's view: headers of the markdown columns.
  std::vector<std::string> report_header() const {
    std::vector<std::string> header;
    for (const Column& c : columns_) {
      if (!c.markdown.empty()) header.push_back(c.markdown);
    }
    return header;
  }

  /// The report's view: each row's markdown cells, formatted with the column's digits.
  std::vector<std::vector<std::string>> report_rows() const {
    std::vector<std::vector<std::string>> rows;
    for (const auto& row : rows_) {
      std::vector<std::string>& cells = rows.emplace_back();
      for (std::size_t i = 0; i < columns_.size(); ++i) {
        if (!columns_[i].markdown.empty()) cells.push_back(text(row[i], columns_[i].digits));
      }
    }
    return rows;
  }

  std::string markdown() const {
    std::ostringstream out;
    std::string rule;
    out << '|';
    for (const std::string& header : report_header()) {
      out << ' ' << header << " |";
      rule += "---|";
    }
    out << "\n|" << rule << '\n';
    for (const auto& row : report_rows()) {
      out << '|';
      for (const std::string& cell : row) out << ' ' << cell << " |";
      out << '\n';
    }
    return out.str();
  }

  std::string csv() const {
    std::ostringstream out;
    bool first = true;
    for (const Column& c : columns_) {
      if (c.csv.empty()) continue;
      out << (first ? "" : ",") << c.csv;
      first = false;
    }
    out << '\n';
    for (const auto& row : rows_) {
      first = true;
      for (std::size_t i = 0; i < columns_.size(); ++i) {
        if (columns_[i].csv.empty()) continue;
        out << (first ? "" : ",") << text(row[i], 0);
        first = false;
      }
      out << '\n';
    }
    return out.str();
  }

 private:
  static std::string text(const Cell& cell, int digits) {
    if (const auto* s = std::get_if<std::string>(&cell)) return *s;
    std::ostringstream out;
    if (const auto* i = std::get_if<std::int64_t>(&cell)) {
      out << *i;
      return out.str();
    }
    const double value = std::get<double>(cell);
    if (digits > 0) {
      char buffer[64];
      std::snprintf(buffer, sizeof buffer, "%.*g", digits, value);
      return buffer;
    }
    out << value;
    return out.str();
  }

  std::vector<Column> columns_;
  std::vector<std::vector<Cell>> rows_;
};

}  // namespace dsignsgd
