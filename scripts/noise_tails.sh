#!/usr/bin/env bash
# The tails of real networks' own minibatch gradient noise (issue 28, docs/DATA.md): runs
# `dsignsgd noise-probe` on each problem at steps 0, 200 and 1000 of plain SGD (its recipe) and
# plots P(|Z| > z) of the pooled, per-coordinate standardized noise at step 1000, log-log, beside
# a Gaussian and Student-t ν = 1, 2, 4 of the same robust scale. A slope of −α is a tail index α.
# Usage: scripts/noise_tails.sh [OUT_DIR] [PROBLEM …]
#   (default results/noise_tails, digits-mlp mnist-mlp fashion-cnn kjv-transformer; ~8 min)
# Writes OUT_DIR/PROBLEM/{noise_probe.json,noise_tails.csv} and OUT_DIR/noise_tails.{png,svg}.
set -euo pipefail
out=${1:-results/noise_tails}
shift || true
problems=("$@")
[ ${#problems[@]} -gt 0 ] || problems=(digits-mlp mnist-mlp fashion-cnn kjv-transformer)
bin=${DSIGNSGD:-build/apps/dsignsgd/dsignsgd}
mkdir -p "$out"
plots=()
for problem in "${problems[@]}"; do
  "$bin" noise-probe --problem "$problem" --at 0,200,1000 --draws 128 --out "$out/$problem" --force
  awk -F, 'NR > 1 && $1 == 1000 { print $3, $2 }' "$out/$problem/noise_tails.csv" \
    > "$out/.tail_$problem.dat"
  plots+=("'$out/.tail_$problem.dat' using 1:2 with linespoints pt 7 ps 0.5 title '$problem'")
done
# References with median |z| = 1: Gaussian σ = 1/0.6745; t_ν with its quartile at 1.
reference=$(/usr/bin/python3 - <<'PY'
import math
from statistics import NormalDist
def t_ccdf(z, nu):  # two-sided tail of t_nu scaled so that its quartile is 1, by integration
    import math
    q = {1: 1.0, 2: 0.8165, 4: 0.7407}[nu]
    x = z * q
    # P(|T| > x) = I_{nu/(nu+x^2)}(nu/2, 1/2): a short series-free numeric integral of the density
    c = math.gamma((nu + 1) / 2) / (math.sqrt(nu * math.pi) * math.gamma(nu / 2))
    steps, upper = 4000, x + 1e4
    h = (math.log(upper) - math.log(x)) / steps
    s = 0.0
    for i in range(steps):
        t = math.exp(math.log(x) + (i + 0.5) * h)
        s += c * (1 + t * t / nu) ** (-(nu + 1) / 2) * t * h
    return 2 * s
rows = []
for i in range(80):
    z = 10 ** (-0.3 + i * 0.05)
    g = 2 * (1 - NormalDist(0, 1 / 0.6745).cdf(z))
    rows.append(f"{z} {max(g, 1e-300)} {t_ccdf(z, 1)} {t_ccdf(z, 2)} {t_ccdf(z, 4)}")
print("\n".join(rows))
PY
)
echo "$reference" > "$out/.reference.dat"
for format in png svg; do
  if [ "$format" = png ]; then terminal="pngcairo size 900,600"; else terminal="svg size 900,600"; fi
  gnuplot <<GNUPLOT
set terminal $terminal font ",11"
set output "$out/noise_tails.$format"
set logscale xy
set xlabel "|Z| / median |Z| (per coordinate)"
set ylabel "P(|Z| > z), pooled over coordinates"
set title "Minibatch gradient noise at step 1000 of SGD (dsignsgd noise-probe)"
set yrange [1e-6:1]
set xrange [0.5:1e4]
set key bottom left font ",10"
plot $(IFS=,; echo "${plots[*]}"), \
  '$out/.reference.dat' using 1:2 with lines dt 2 lc 'black' title 'Gaussian', \
  '' using 1:3 with lines dt 3 lc 'gray40' title 'Student-t ν = 1 (Cauchy)', \
  '' using 1:4 with lines dt 4 lc 'gray40' title 'ν = 2', \
  '' using 1:5 with lines dt 5 lc 'gray40' title 'ν = 4'
GNUPLOT
done
rm -f "$out"/.tail_*.dat "$out/.reference.dat"
echo "wrote $out/noise_tails.{png,svg}"
