#!/usr/bin/env bash
# Test accuracy against injected noise scale σ (Gaussian and Cauchy) for DSGD, DCSGD (rand-k)
# and DSignSGD on a real model and data set — [A]'s noise-resilience claim on real data.
# Usage: scripts/noise_sweep.sh [OUT_DIR] [PROBLEM]   (default results/noise_sweep, digits-mlp)
# Writes OUT_DIR/noise_sweep.csv and noise_sweep.{png,svg} (gnuplot).
set -euo pipefail
out=${1:-results/noise_sweep}
problem=${2:-digits-mlp}
bin=${DSIGNSGD:-build/apps/dsignsgd/dsignsgd}
mkdir -p "$out"
csv="$out/noise_sweep.csv"
echo "noise,sigma,method,test_accuracy_mean,test_accuracy_stderr,diverged_runs,runs" > "$csv.tmp"
common=(--problem "$problem" --workers 4 --batch 16 --steps 1500 --runs 4 --weight-decay 0.0001)
for kind in gaussian cauchy; do
  for sigma in 0.01 0.03 0.1 0.3 1 3 10; do
    for method in dsgd dcsgd dsignsgd; do
      case $method in
        dsgd) args=(--method dsgd --lr 0.05) ;;
        dcsgd) args=(--method dcsgd --compressor randk:0.1 --lr 0.05) ;;
        dsignsgd) args=(--method dsignsgd --lr 0.002) ;;
      esac
      acc=$("$bin" train "${common[@]}" "${args[@]}" --noise "$kind:$sigma" --json |
        /usr/bin/python3 -c 'import json,sys; s=json.load(sys.stdin); d=s["final_metrics"].get("test_accuracy", {}); nan=lambda v: "nan" if v is None else v; print(nan(d.get("mean")), nan(d.get("stderr")), s["diverged_runs"], s["runs"], sep=",")')
      echo "$kind,$sigma,$method,$acc" >> "$csv.tmp"
      echo "$kind σ=$sigma $method: $acc"
    done
  done
done
mv "$csv.tmp" "$csv"
# One data file per curve so that gnuplot joins its points (a NaN ends a curve: all runs diverged).
for kind in gaussian cauchy; do
  for method in dsgd dcsgd dsignsgd; do
    awk -F, -v k="$kind" -v m="$method" 'NR > 1 && $1 == k && $3 == m { print $2, $4, $5 }' \
      "$csv" > "$out/.curve_${kind}_${method}.dat"
  done
done
for format in png svg; do
  if [ "$format" = png ]; then terminal="pngcairo size 1100,450"; else terminal="svg size 1100,450"; fi
  gnuplot <<GNUPLOT
set terminal $terminal font ",11"
set output "$out/noise_sweep.$format.tmp"
set multiplot layout 1,2 title "$problem, N = 4 agents, 1500 steps: test accuracy against injected noise σ\n(mean ± s.e. of 4 runs; a curve ends where every run diverged)"
set logscale x
set xlabel "noise scale σ"
set ylabel "test accuracy"
set yrange [0:1]
set key bottom left
set grid
do for [kind in "gaussian cauchy"] {
  set title kind." noise"
  plot "$out/.curve_".kind."_dsgd.dat" using 1:2:3 with yerrorlines lw 2 title "DSGD", \
       "$out/.curve_".kind."_dcsgd.dat" using 1:2:3 with yerrorlines lw 2 title "DCSGD rand-k 0.1 (ω = 9)", \
       "$out/.curve_".kind."_dsignsgd.dat" using 1:2:3 with yerrorlines lw 2 title "DSignSGD"
}
unset multiplot
GNUPLOT
  mv "$out/noise_sweep.$format.tmp" "$out/noise_sweep.$format"
done
rm -f "$out"/.curve_*.dat
echo "wrote $csv and $out/noise_sweep.{png,svg}"
