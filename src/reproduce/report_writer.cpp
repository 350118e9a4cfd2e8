// report.md and report.html from the experiments' sections.
#include <sstream>

#include "dsignsgd/core/atomic_file.hpp"
#include "dsignsgd/reproduce/experiments.hpp"

namespace dsignsgd {

void write_report(const std::vector<ExperimentReport>& reports, const ReproduceOptions& options) {
  std::ostringstream md, html;
  md << "# dsignsgd: reproduction report\n\nProfile: " << (options.quick ? "quick" : "full")
     << ", seed " << options.seed << ".\n\n";
  html << "<!doctype html><meta charset='utf-8'><title>dsignsgd reproduction report</title>"
          "<body style='font-family:sans-serif;max-width:900px;margin:auto'>"
          "<h1>dsignsgd: reproduction report</h1>";
  for (const ExperimentReport& r : reports) {
    md << "## " << r.name << "\n\nClaim: " << r.claim << "\n\n";
    html << "<h2>" << r.name << "</h2><p>Claim: " << r.claim << "</p>";
    for (const std::string& figure : r.figures) {
      md << "![" << r.name << "](" << figure << ")\n\n";
      html << "<img src='" << figure << "' style='max-width:100%'>";
    }
    md << r.markdown << "\n";
    html << "<pre>" << r.markdown << "</pre>";
  }
  html << "</body>";
  write_file_atomic(options.out / "report.md", md.str());
  write_file_atomic(options.out / "report.html", html.str());
}

}  // namespace dsignsgd
