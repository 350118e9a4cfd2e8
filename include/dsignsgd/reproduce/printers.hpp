#pragma once
/// @file
/// One printer per format for what experiments declare (reproduce/section.hpp): markdown (the
/// report for terminals and GitHub), HTML (the report for browsers), CSV (the data files) and
/// gnuplot scripts (the figures; rendered by the caller, plot/gnuplot.hpp). Every section goes
/// through the same printers, so every section has the same shape: claim, figures, text and
/// tables, checks, verdict, data files and the command that regenerates it.

#include <filesystem>
#include <string>

#include "dsignsgd/reproduce/section.hpp"

namespace dsignsgd {

/// The section's body in markdown, from its text to the regenerate line (the report adds the
/// heading, the claim and the figures).
std::string markdown_body(const Section& section, const std::string& command_line);

/// The same in HTML: paragraphs, real tables, a list of checks.
std::string html_body(const Section& section, const std::string& command_line);

/// "holds" or "does not hold".
std::string verdict_word(bool holds);

/// A data file's text: a table as CSV, text as given.
std::string csv_text(const DataFile& file);

/// The gnuplot script drawing `figure` into `directory`/STEM.png and STEM.svg from the data
/// files in `directory`.
std::string gnuplot_script(const Figure& figure, const std::filesystem::path& directory);

/// Inline markdown (**bold**, `code`) as escaped HTML.
std::string inline_html(const std::string& markdown);

}  // namespace dsignsgd
