#!/usr/bin/env bash
# The per-level copies of the MLP's matrix products (src/nn/matmul_<level>.cpp, compiled with
# -mavx2 / -mavx512f) must define nothing the linker could merge with another level's code: only
# their own matmul and Eigen under the level's own namespace name. A shared inline function
# compiled for AVX2 could otherwise be picked for every caller and crash a baseline machine.
# Usage: dispatch_symbols_test.sh OBJECT… (the core library's object files: what the linker
# merges, whether it builds the shared library or the archive)
set -euo pipefail
status=0
for level in baseline avx2 avx512; do
  object=$(printf '%s\n' "$@" | grep -E "/matmul_${level}\.cpp\.o$" || true)
  if [ -z "$object" ]; then
    echo "missing matmul_${level}.cpp.o among the objects given"
    status=1
    continue
  fi
  # Defined symbols other than local ones (t, d, b, r): T, W, V, u, … (mangled names)
  stray=$(nm --defined-only "$object" |
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
