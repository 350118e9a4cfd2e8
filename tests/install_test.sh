#!/usr/bin/env bash
# Issue 29: `cmake --install` into a temporary prefix, then use only what it installed — the CLI,
# the CMake package (examples/consumer/, built and run), the pkg-config file (the same program
# compiled with its flags), the man page and the Python package — with nothing from the build tree
# on any path. Usage: install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(cd "$1" && pwd) source=$(cd "$2" && pwd)
scratch=$(mktemp -d /tmp/dsignsgd-install.XXXXXX)
trap 'rm -rf "$scratch"' EXIT INT TERM
prefix=$scratch/prefix
source "$(dirname "$0")/install_support.sh"

cmake --install "$build" --prefix "$prefix" > "$scratch/install.log"
echo "installed into $prefix: $(find "$prefix" -type f | wc -l) files"

# What must be there, and what must not (headers of parts that are not installed).
for f in bin/dsignsgd lib/libdsignsgd.so lib/cmake/dsignsgd/dsignsgdConfig.cmake \
         lib/cmake/dsignsgd/dsignsgdConfigVersion.cmake lib/cmake/dsignsgd/dsignsgdTargets.cmake \
         lib/pkgconfig/dsignsgd.pc include/dsignsgd/version.hpp include/dsignsgd/git_commit.hpp \
         include/dsignsgd/optim/trainer.hpp share/man/man1/dsignsgd.1 share/doc/dsignsgd/README.md \
         share/doc/dsignsgd/INSTALL.md lib/python3/dist-packages/dsignsgd/__init__.py; do
  [ -e "$prefix/$f" ] || fail "$f not installed"
done
for f in include/dsignsgd/torch include/dsignsgd/plot include/dsignsgd/comm/mpi.hpp; do
  [ ! -e "$prefix/$f" ] || fail "$f installed (its library is not)"
done
soname=$(objdump -p "$prefix/lib/libdsignsgd.so" | awk '/SONAME/ {print $2}')
[ "$soname" = "libdsignsgd.so.0.1" ] || fail "SONAME '$soname', expected libdsignsgd.so.0.1"
grep -q "^\.SS train" "$prefix/share/man/man1/dsignsgd.1" || fail "man page has no train section"

# Every installed binary and module resolves the library from the prefix, not from the build tree.
uses_prefix() { loads_libdsignsgd_from "$1" "$prefix"; }
uses_prefix "$prefix/bin/dsignsgd"
"$prefix/bin/dsignsgd" --version | grep -q "^0\.1\." || fail "installed CLI --version"
"$prefix/bin/dsignsgd" predict --method dsgd --dim 4 > /dev/null || fail "installed CLI predict"

# The CMake package: configure, build and run examples/consumer against the prefix only.
cmake -S "$source/examples/consumer" -B "$scratch/consumer" -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_BUILD_TYPE=Release > "$scratch/consumer.log" || { cat "$scratch/consumer.log"; fail "configure"; }
if grep -q "$build" "$scratch/consumer/CMakeCache.txt"; then fail "the consumer's cache names the build tree"; fi
cmake --build "$scratch/consumer" > "$scratch/consumer-build.log" 2>&1 ||
  { cat "$scratch/consumer-build.log"; fail "consumer build"; }
uses_prefix "$scratch/consumer/consumer"
"$scratch/consumer/consumer" || fail "consumer: floor and prediction disagree"

# The pkg-config file: the same program compiled with its flags alone.
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
g++ -O1 "$source/examples/consumer/main.cpp" -o "$scratch/consumer-pc" \
    $(pkg-config --cflags --libs dsignsgd) -Wl,-rpath,"$prefix/lib" || fail "pkg-config build"
uses_prefix "$scratch/consumer-pc"
"$scratch/consumer-pc" > /dev/null || fail "pkg-config consumer"

# The Python package from the prefix (another directory, no PYTHONPATH but the prefix's).
if [ -e "$prefix/lib/python3/dist-packages/dsignsgd/__init__.py" ]; then
  module=$(ls "$prefix"/lib/python3/dist-packages/dsignsgd/_core*.so)
  uses_prefix "$module"
  (cd "$scratch" && PYTHONPATH=$prefix/lib/python3/dist-packages /usr/bin/python3 -c "
import dsignsgd
assert dsignsgd.__file__.startswith('$prefix'), dsignsgd.__file__
floor = dsignsgd.predict(method='dsgd', dim=4)['stationary_loss']
print('python: dsignsgd', dsignsgd.__version__, 'predict', floor)") || fail "python package"
fi
echo "install test passed"
