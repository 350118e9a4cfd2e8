#pragma once
/// @file
/// What an experiment of `dsignsgd reproduce` declares, as data: its claim, the text and tables
/// of its section, the checks its verdict is made of, its data files and its figures. The
/// experiment computes and declares; the runner writes the files and the printers
/// (reproduce/printers.hpp) render every section the same way — markdown, HTML, CSV and gnuplot
/// scripts. The verdict is not the experiment's to state: it holds when every declared check does.

#include <string>
#include <variant>
#include <vector>

#include "dsignsgd/reproduce/table.hpp"

namespace dsignsgd {

/// One curve of a panel, or a family of them (`for_each`): gnuplot's
/// `[for [...]] 'DATA' using COLUMNS [smooth ...] with STYLE title TITLE`.
struct Series {
  std::string data{};      ///< one of the experiment's data files (by name); empty: `function`
  std::string function{};  ///< gnuplot expression in x, drawn when `data` is empty
  std::string for_each{};  ///< e.g. "m in 'dsgd dcsgd'": one curve per word; empty: one curve
  std::string columns{};   ///< the `using` expression (data series only)
  std::string smooth{};    ///< e.g. "unique"; empty: none
  std::string style{};     ///< the `with` clause, e.g. "yerrorbars pt 7"
  std::string title{};     ///< a gnuplot string expression: "'measured'" or "m.' measured'"
  /// A gnuplot colour (string) expression, e.g. "method_color(m)" inside a `for_each` over
  /// methods or "method_color('dcsgd')": every figure draws a method in the same colour (the
  /// printers' palette, reproduce/printers.hpp). Empty: the palette's next colour.
  std::string color{};
};

/// One plot: axes, labels and the curves on it.
struct Panel {
  std::string title{};
  std::string xlabel{};
  std::string ylabel{};
  bool log_x = false;
  bool log_y = false;
  std::string key = "top left";         ///< where the legend goes (gnuplot `set key`)
  std::vector<std::string> settings{};  ///< further `set` lines: ranges, tics, labels, arrows
  std::vector<Series> series{};
};

/// A figure: its file stem (stem.png, stem.svg; script stem.gp) and its panels, side by side.
struct Figure {
  std::string stem{};
  std::vector<Panel> panels{};
};

/// A data file beside the report: a table printed as CSV, or text another layer printed (the
/// SDE validation's curves).
struct DataFile {
  std::string name{};
  std::variant<Table, std::string> content;
};

/// Prose of a section. Inline markdown only: **bold**, `code`.
struct Paragraph {
  std::string text{};
};

/// A bulleted list of inline-markdown items.
struct BulletList {
  std::vector<std::string> items{};
};

using Block = std::variant<Paragraph, Table, BulletList>;

/// One criterion of the verdict and whether the measurement meets it.
struct Check {
  std::string criterion{};
  bool holds = false;
};

/// An experiment's declaration.
struct Section {
  std::string name{};   ///< as on the command line: `dsignsgd reproduce NAME`
  std::string claim{};  ///< the papers' claim, in one or two sentences, with its source
  std::string paper{};  ///< where the claim comes from: "[A]", "[B]", "[A], [B]" or "this project"
  /// The key measured number(s), with standard errors where they are random, for the report's
  /// summary table (inline markdown, one line).
  std::string headline{};
  std::vector<Block> body{};
  std::vector<Check> checks{};  ///< the verdict holds iff every one holds (and there is one)
  std::vector<DataFile> data{};
  std::vector<Figure> figures{};

  bool holds() const {
    if (checks.empty()) return false;
    for (const Check& check : checks) {
      if (!check.holds) return false;
    }
    return true;
  }
};

}  // namespace dsignsgd
