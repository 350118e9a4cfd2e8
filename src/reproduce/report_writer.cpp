// report.md and report.html from the experiments' sections (reproduce/printers.hpp).
#include <sstream>

#include "dsignsgd/core/atomic_file.hpp"
#include "dsignsgd/reproduce/experiments.hpp"
#include "dsignsgd/reproduce/printers.hpp"

namespace dsignsgd {

void write_report(const std::vector<ExperimentReport>& reports, const ReproduceOptions& options) {
  std::ostringstream md, html;
  md << "# dsignsgd: reproduction report\n\nProfile: " << (options.quick ? "quick" : "full")
     << ", seed " << options.seed << ".\n\n";
  html << "<!doctype html>\n<meta charset='utf-8'>\n<title>dsignsgd reproduction report</title>\n"
          "<style>body{font-family:sans-serif;max-width:900px;margin:auto;padding:0 1em;"
          "overflow-wrap:break-word}table{border-collapse:collapse;margin:1em 0}"
          "th,td{border:1px solid #bbb;padding:.2em .5em;text-align:left;vertical-align:top}"
          "th{background:#eee}code{font-size:90%}img{max-width:100%}</style>\n"
          "<h1>dsignsgd: reproduction report</h1>\n<p>Profile: "
       << (options.quick ? "quick" : "full") << ", seed " << options.seed << ".</p>\n";
  for (const ExperimentReport& r : reports) {
    const Section& s = r.section;
    md << "## " << s.name << "\n\nClaim: " << s.claim << "\n\n";
    html << "<h2 id='" << s.name << "'>" << s.name << "</h2>\n<p>Claim: " << inline_html(s.claim)
         << "</p>\n";
    for (const Figure& figure : s.figures) {
      md << "![" << s.name << "](" << figure.stem << ".png)\n\n";
      html << "<img src='" << figure.stem << ".svg' alt='" << s.name << ": " << figure.stem
           << "'>\n";
    }
    md << r.markdown << "\n";
    html << html_body(s, options.command_line);
  }
  write_file_atomic(options.out / "report.md", md.str());
  write_file_atomic(options.out / "report.html", html.str());
}

}  // namespace dsignsgd
