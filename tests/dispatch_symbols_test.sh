#!/usr/bin/env bash
# The per-level copies of the MLP's matrix products (src/nn/matmul_<level>.cpp, compiled with
# -mavx2 / -mavx512f) must define nothing the linker could merge with another level's code: only
# their own matmul and Eigen under the level's own namespace name. A shared inline function
# compiled for AVX2 could otherwise be picked for every caller and crash a baseline machine.
# Usage: dispatch_symbols_test.sh LIBDSIGNSGD.a, or the library's object files (a shared build:
# the objects are what the linker merges).
set -euo pipefail
status=0
defined_symbols() {  # level → "address type name" lines of its object's defined symbols
  if [ $# -eq 1 ] && [[ "$1" == *.a ]]; then
    nm --defined-only "$1" 2>/dev/null |
      awk -v member="matmul_${level}.cpp.o" '/^$/ {next} /:$/ {inside = ($0 == member ":"); next}
           inside {print}'
  else
    for object in "$@"; do
      [[ "$object" == */matmul_${level}.cpp.o ]] && nm --defined-only "$object"
    done
  fi
}
for level in baseline avx2 avx512; do
  if [ $# -eq 1 ] && [[ "$1" == *.a ]]; then
    found=$(ar t "$1" | grep -c -E "^matmul_${level}\.cpp\.o$" || true)
  else
    found=$(printf '%s\n' "$@" | grep -c -E "/matmul_${level}\.cpp\.o$" || true)
  fi
  if [ "$found" = 0 ]; then
    echo "missing matmul_${level}.cpp.o in $*"
    status=1
    continue
  fi
  # Defined symbols other than local ones (t, d, b, r): T, W, V, u, … (mangled names)
  stray=$(defined_symbols "$@" |
    awk '$2 !~ /^[tdbr]$/ {sub(/^[0-9a-f]+ . /, ""); print}' |
    grep -v -E "dsignsgd_eigen_${level}|9nn_detail[0-9]+${level}6matmul|^DW\.ref\.__gxx_personality_v0$" || true)
  if [ -n "$stray" ]; then
    echo "matmul_${level}.cpp.o defines symbols outside its own namespaces:"
    echo "$stray" | head -20
    status=1
  else
    echo "ok   matmul_${level}.cpp.o"
  fi
done
exit $status
