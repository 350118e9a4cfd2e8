#!/bin/sh
# The reproduction report as a reader opens it: `reproduce all --quick`, then report.html in
# headless Chromium at a desktop and a phone width. In the browser, a script added to a copy of
# the report checks that every image loads, every link and figure reference resolves, no id is
# repeated, the page never scrolls sideways, every figure is drawn at a readable size, and every
# verdict of the summary is its section's verdict (and every section is in the summary).
# Usage: report_browser_test.sh DSIGNSGD_CLI DATA_DIR
set -u
cli=$1 data_dir=$2
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "chromium is not installed: make test installs it (scripts/install_deps.sh chromium)"
  exit 1
fi
scratch=$(mktemp -d "${TMPDIR:-/tmp}/dsignsgd_report_browser.XXXXXX")
trap 'rm -rf "$scratch"' EXIT INT TERM
report="$scratch/report"
if ! "$cli" reproduce all --quick --seed 1 --data-dir "$data_dir" --out "$report" \
    > "$scratch/reproduce.log" 2>&1; then
  echo "reproduce failed:"; cat "$scratch/reproduce.log"; exit 1
fi
cat "$scratch/reproduce.log"

# The check runs after the page (and its figures) loaded, and writes its findings into the DOM.
check='<script>
window.addEventListener("load", () => {
  const problems = [];
  for (const img of document.images) {
    if (!img.complete || img.naturalWidth === 0) problems.push("missing image " + img.getAttribute("src"));
  }
  for (const a of document.querySelectorAll("a[href]")) {
    const href = a.getAttribute("href");
    if (!href.startsWith("#")) problems.push("link out of the report: " + href);
    else if (!document.getElementById(decodeURIComponent(href.slice(1)))) problems.push("broken link " + href);
  }
  for (const use of document.querySelectorAll("use")) {
    const href = use.getAttribute("xlink:href") || use.getAttribute("href") || "";
    if (href.startsWith("#") && !document.getElementById(href.slice(1))) problems.push("broken figure reference " + href);
  }
  const ids = new Set();
  for (const e of document.querySelectorAll("[id]")) {
    if (ids.has(e.id)) problems.push("repeated id " + e.id);
    ids.add(e.id);
  }
  const rows = document.querySelectorAll("table.summary tr[data-section]");
  if (rows.length === 0) problems.push("no summary");
  for (const row of rows) {
    const name = row.dataset.section;
    const summary = row.querySelector("td.verdict").textContent.trim();
    const section = document.getElementById(name);
    const verdict = section ? section.querySelector("p.verdict strong") : null;
    if (!verdict) problems.push("section " + name + " has no verdict");
    else if (verdict.textContent.trim() !== summary)
      problems.push(name + ": the summary says " + summary + ", the section " + verdict.textContent.trim());
  }
  for (const section of document.querySelectorAll("section[id]")) {
    if (!document.querySelector("tr[data-section=\"" + section.id + "\"]")) problems.push(section.id + " is not in the summary");
  }
  const width = document.documentElement.scrollWidth;
  if (width > window.innerWidth) problems.push("the page scrolls sideways: " + width + " > " + window.innerWidth + " px");
  const figures = document.querySelectorAll("figure svg, figure img");
  for (const f of figures) {
    const box = f.getBoundingClientRect();
    if (box.width < 0.5 * Math.min(window.innerWidth, 700) || box.height < 100)
      problems.push("figure drawn at " + Math.round(box.width) + "x" + Math.round(box.height) + ": " + (f.getAttribute("aria-label") || f.getAttribute("src")));
  }
  const out = document.createElement("pre");
  out.id = "browser-check";
  out.textContent = problems.length ? "CHECK FAILED\n" + problems.join("\n")
      : "CHECK OK: " + rows.length + " claims, " + figures.length + " figures at " + window.innerWidth + " px";
  document.body.appendChild(out);
});
</script>'
{ sed 's#</html>##' "$report/report.html"; printf '%s\n</html>\n' "$check"; } > "$report/check.html"

status=0
for size in 1280,900 420,800; do
  dom="$scratch/dom_${size%%,*}.html"
  timeout 180 "$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --no-first-run --window-size="$size" --virtual-time-budget=20000 \
    --dump-dom "file://$report/check.html" > "$dom" 2> "$scratch/browser.log"
  result=$(sed -n '/<pre id="browser-check">/,/<\/pre>/p' "$dom" | sed 's/<[^>]*>//g')
  if [ -z "$result" ]; then
    echo "window $size: the check did not run"; tail -20 "$scratch/browser.log"; status=1
  else
    echo "window $size: $result"
    case "$result" in "CHECK OK"*) ;; *) status=1 ;; esac
  fi
done
exit "$status"
