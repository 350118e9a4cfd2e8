// The printers of reproduce/printers.hpp: markdown, HTML, CSV and gnuplot for every section.
#include "dsignsgd/reproduce/printers.hpp"

#include <sstream>

namespace dsignsgd {
namespace {

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;  // clang 14 has no aggregate deduction yet

std::string html_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '\'': out += "&#39;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

/// A gnuplot single-quoted string ('' stands for a quote inside it).
std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

/// Okabe and Ito's colour-blind-safe palette without its yellow (too light on white), as the
/// line types gnuplot cycles through, and one colour per method for Series::color.
constexpr const char* kPalette =
    "set linetype 1 lc rgb '#0072B2' lw 1.5 pt 7\n"
    "set linetype 2 lc rgb '#D55E00' lw 1.5 pt 5\n"
    "set linetype 3 lc rgb '#009E73' lw 1.5 pt 9\n"
    "set linetype 4 lc rgb '#CC79A7' lw 1.5 pt 11\n"
    "set linetype 5 lc rgb '#E69F00' lw 1.5 pt 13\n"
    "set linetype 6 lc rgb '#56B4E9' lw 1.5 pt 4\n"
    "set linetype 7 lc rgb '#000000' lw 1.5 pt 6\n"
    "set linetype 8 lc rgb '#777777' lw 1.5 pt 8\n"
    "set linetype cycle 8\n"
    "method_color(m) = m eq 'dsgd' ? '#0072B2' : m eq 'dcsgd' ? '#D55E00' : "
    "m eq 'dsignsgd' ? '#009E73' : m eq 'majority' ? '#CC79A7' : "
    "m eq 'normalized-dcsgd' ? '#E69F00' : m eq 'ef-signsgd' ? '#56B4E9' : '#000000'\n";

std::string check_line(const Check& check) {
  return check.criterion + ": " + (check.holds ? "**holds**" : "**does not hold**");
}

/// "Data: `a.csv`, `b.csv`; figures `x.png` … Regenerate with `…`."
std::string files_line(const Section& section, const std::string& command_line) {
  std::string data, figures;
  for (const DataFile& file : section.data) data += (data.empty() ? "`" : ", `") + file.name + "`";
  for (const Figure& figure : section.figures) {
    figures += (figures.empty() ? "`" : ", `") + figure.stem + ".png`";
  }
  std::string line = "Data: " + (data.empty() ? std::string("none") : data);
  if (!figures.empty()) {
    line += std::string("; figure") + (section.figures.size() > 1 ? "s " : " ") + figures +
            " (also as SVG, gnuplot scripts `.gp`)";
  }
  return line + ". Regenerate with `" + command_line + "`.";
}

}  // namespace

std::string verdict_word(bool holds) { return holds ? "holds" : "does not hold"; }

std::string markdown_body(const Section& section, const std::string& command_line) {
  std::ostringstream md;
  for (const Block& block : section.body) {
    std::visit(Overloaded{[&](const Paragraph& p) { md << p.text << "\n\n"; },
                          [&](const Table& t) { md << t.markdown() << '\n'; },
                          [&](const BulletList& l) {
                            for (const std::string& item : l.items) md << "- " << item << '\n';
                            md << '\n';
                          }},
               block);
  }
  md << "Checks (the verdict holds when every one does):\n\n";
  for (const Check& check : section.checks) md << "- " << check_line(check) << '\n';
  md << "\nVerdict: " << verdict_word(section.holds()) << ".\n\n"
     << files_line(section, command_line) << '\n';
  return md.str();
}

std::string inline_html(const std::string& markdown) {
  std::string out;
  bool bold = false, code = false;
  for (std::size_t i = 0; i < markdown.size(); ++i) {
    if (!code && markdown.compare(i, 2, "**") == 0) {
      out += bold ? "</strong>" : "<strong>";
      bold = !bold;
      ++i;
    } else if (markdown[i] == '`') {
      out += code ? "</code>" : "<code>";
      code = !code;
    } else {
      out += html_escape(std::string(1, markdown[i]));
    }
  }
  if (code) out += "</code>";
  if (bold) out += "</strong>";
  return out;
}

std::string html_body(const Section& section, const std::string& command_line) {
  std::ostringstream html;
  for (const Block& block : section.body) {
    std::visit(Overloaded{[&](const Paragraph& p) { html << "<p>" << inline_html(p.text) << "</p>\n"; },
                          [&](const Table& t) {
                            html << "<table>\n<tr>";
                            for (const std::string& h : t.report_header()) {
                              html << "<th>" << inline_html(h) << "</th>";
                            }
                            html << "</tr>\n";
                            for (const auto& row : t.report_rows()) {
                              html << "<tr>";
                              for (const std::string& cell : row) {
                                html << "<td>" << inline_html(cell) << "</td>";
                              }
                              html << "</tr>\n";
                            }
                            html << "</table>\n";
                          },
                          [&](const BulletList& l) {
                            html << "<ul>\n";
                            for (const std::string& item : l.items) {
                              html << "<li>" << inline_html(item) << "</li>\n";
                            }
                            html << "</ul>\n";
                          }},
               block);
  }
  html << "<p>Checks (the verdict holds when every one does):</p>\n<ul>\n";
  for (const Check& check : section.checks) {
    html << "<li>" << inline_html(check_line(check)) << "</li>\n";
  }
  html << "</ul>\n<p class='verdict'>Verdict: <strong>" << verdict_word(section.holds())
       << "</strong>.</p>\n<p>" << inline_html(files_line(section, command_line)) << "</p>\n";
  return html.str();
}

std::string csv_text(const DataFile& file) {
  return std::visit(Overloaded{[](const Table& t) { return t.csv(); },
                               [](const std::string& text) { return text; }},
                    file.content);
}

std::string gnuplot_script(const Figure& figure, const std::filesystem::path& directory) {
  std::ostringstream gp;
  const int width = figure.panels.size() > 1 ? 1100 : 800;
  for (const char* format : {"png", "svg"}) {
    const bool png = std::string(format) == "png";
    gp << "set terminal " << (png ? "pngcairo" : "svg") << " size " << width
       << ",560 font ',11'\nset output " << quoted((directory / (figure.stem + "." + format)).string())
       << "\nset datafile separator ','\nset grid\n"
       << kPalette;
    if (figure.panels.size() > 1) gp << "set multiplot layout 1," << figure.panels.size() << '\n';
    for (std::size_t p = 0; p < figure.panels.size(); ++p) {
      const Panel& panel = figure.panels[p];
      gp << "unset logscale\nunset label\nunset arrow\nset autoscale\n";
      if (panel.log_x || panel.log_y) {
        gp << "set logscale " << (panel.log_x ? "x" : "") << (panel.log_y ? "y" : "") << '\n';
      }
      gp << "set key " << panel.key << "\nset xlabel " << quoted(panel.xlabel) << "\nset ylabel "
         << quoted(panel.ylabel) << "\nset title " << quoted(panel.title)
         << (figure.panels.size() > 1 ? " font ',10'" : "") << '\n';
      for (const std::string& setting : panel.settings) gp << setting << '\n';
      gp << "plot ";
      for (std::size_t s = 0; s < panel.series.size(); ++s) {
        const Series& series = panel.series[s];
        if (s) gp << ", \\\n     ";
        if (!series.for_each.empty()) gp << "for [" << series.for_each << "] ";
        if (series.data.empty()) {
          gp << series.function;
        } else {
          gp << quoted((directory / series.data).string()) << " using " << series.columns;
          if (!series.smooth.empty()) gp << " smooth " << series.smooth;
        }
        gp << " with " << series.style;
        if (!series.color.empty()) gp << " lc rgb " << series.color;
        if (!series.title.empty()) gp << " title " << series.title;
      }
      gp << '\n';
    }
    if (figure.panels.size() > 1) gp << "unset multiplot\n";
  }
  return gp.str();
}

}  // namespace dsignsgd
