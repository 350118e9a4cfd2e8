// report.md and report.html from the experiments' sections (reproduce/printers.hpp): a summary
// table of the claims and their verdicts, then one section per experiment.
#include <fstream>
#include <sstream>

#include "dsignsgd/core/atomic_file.hpp"
#include "dsignsgd/reproduce/experiments.hpp"
#include "dsignsgd/reproduce/printers.hpp"

namespace dsignsgd {
namespace {

/// Text for one cell of a markdown table: no '|' (escaped) and no line break.
std::string markdown_cell(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|') {
      out += "\\|";
    } else {
      out += c == '\n' ? ' ' : c;
    }
  }
  return out;
}

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (std::size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size()) {
    text.replace(at, from.size(), to);
  }
}

/// The figure as an inline <svg> (gnuplot's file without its XML prolog, its ids prefixed with
/// the figure's stem so that several figures can share one page, its title the figure's), or an
/// <img> of the SVG file when it was not rendered.
std::string figure_html(const std::filesystem::path& directory, const std::string& stem,
                        const std::string& description) {
  std::ifstream in(directory / (stem + ".svg"), std::ios::binary);
  std::string svg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::size_t start = svg.find("<svg");
  if (start == std::string::npos) {
    return "<figure><img src='" + inline_html(stem) + ".svg' alt='" + inline_html(description) +
           "'></figure>\n";
  }
  svg.erase(0, start);
  for (const char quote : {'\'', '"'}) {
    const std::string q(1, quote);
    replace_all(svg, "id=" + q, "id=" + q + stem + "-");
    replace_all(svg, "href=" + q + "#", "href=" + q + "#" + stem + "-");
  }
  replace_all(svg, "url(#", "url(#" + stem + "-");
  replace_all(svg, "<title>Gnuplot</title>", "<title>" + inline_html(description) + "</title>");
  replace_all(svg, "<svg ", "<svg role='img' aria-label='" + inline_html(description) + "' ");
  return "<figure>" + svg + "</figure>\n";
}

constexpr const char* kStyle =
    "<style>\n"
    "body{font-family:system-ui,sans-serif;line-height:1.45;max-width:60rem;margin:auto;"
    "padding:0 1rem;color:#111;overflow-wrap:break-word}\n"
    "table{border-collapse:collapse;margin:1em 0;display:block;max-width:100%;overflow-x:auto}\n"
    "th,td{border:1px solid #bbb;padding:.25em .5em;text-align:left;vertical-align:top}\n"
    "th{background:#eee}\n"
    "code{font-size:90%;white-space:pre-wrap;overflow-wrap:anywhere}\n"
    "figure{margin:1em 0}figure svg,figure img{max-width:100%;height:auto}\n"
    ".holds{color:#006400;font-weight:bold}.fails{color:#b00000;font-weight:bold}\n"
    "</style>\n";

}  // namespace

void write_report(const std::vector<ExperimentReport>& reports, const ReproduceOptions& options) {
  std::ostringstream md, html;
  const std::string profile =
      std::string(options.quick ? "quick" : "full") + ", seed " + std::to_string(options.seed);
  md << "# dsignsgd: reproduction report\n\nProfile: " << profile << ".\n\n";
  html << "<!doctype html>\n<html lang='en'>\n<meta charset='utf-8'>\n"
          "<meta name='viewport' content='width=device-width, initial-scale=1'>\n"
          "<title>dsignsgd reproduction report</title>\n"
       << kStyle << "<h1>dsignsgd: reproduction report</h1>\n<p>Profile: " << profile << ".</p>\n";

  // The summary: every claim, its source, its verdict and its key numbers, linked to its section.
  std::size_t holding = 0;
  for (const ExperimentReport& r : reports) holding += r.holds ? 1 : 0;
  const std::string tally = std::to_string(holding) + " of " + std::to_string(reports.size()) +
                            " claims hold. Papers: [A] Compagnoni, Islamov, Proske, Lucchi, "
                            "AISTATS 2025; [B] Compagnoni, Islamov, Orvieto, Gorbunov, 2025 "
                            "(docs/THEORY.md).";
  md << "## Summary\n\n"
     << tally << "\n\n| experiment | claim | paper | verdict | key numbers |\n"
     << "|---|---|---|---|---|\n";
  html << "<h2 id='summary'>Summary</h2>\n<p>" << inline_html(tally) << "</p>\n"
       << "<table class='summary'>\n<tr><th>experiment</th><th>claim</th><th>paper</th>"
          "<th>verdict</th><th>key numbers</th></tr>\n";
  for (const ExperimentReport& r : reports) {
    const Section& s = r.section;
    const std::string verdict = verdict_word(r.holds);
    md << "| [" << s.name << "](#" << s.name << ") | " << markdown_cell(s.claim) << " | "
       << markdown_cell(s.paper) << " | **" << verdict << "** | " << markdown_cell(s.headline)
       << " |\n";
    html << "<tr data-section='" << inline_html(s.name) << "'><td><a href='#" << inline_html(s.name)
         << "'>" << inline_html(s.name) << "</a></td><td>" << inline_html(s.claim) << "</td><td>"
         << inline_html(s.paper) << "</td><td class='verdict " << (r.holds ? "holds" : "fails")
         << "'>" << verdict << "</td><td>" << inline_html(s.headline) << "</td></tr>\n";
  }
  md << "\n";
  html << "</table>\n";

  for (const ExperimentReport& r : reports) {
    const Section& s = r.section;
    md << "## " << s.name << "\n\nClaim: " << s.claim << "\n\n";
    html << "<section id='" << inline_html(s.name) << "'>\n<h2>" << inline_html(s.name)
         << "</h2>\n<p>Claim: " << inline_html(s.claim) << "</p>\n";
    for (const Figure& figure : s.figures) {
      md << "![" << s.name << "](" << figure.stem << ".png)\n\n";
      html << figure_html(options.out, figure.stem, s.name + ": " + figure.stem);
    }
    md << r.markdown << "\n";
    html << html_body(s, options.command_line) << "</section>\n";
  }
  html << "</html>\n";
  write_file_atomic(options.out / "report.md", md.str());
  write_file_atomic(options.out / "report.html", html.str());
}

}  // namespace dsignsgd
