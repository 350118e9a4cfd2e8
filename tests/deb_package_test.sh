#!/usr/bin/env bash
# Issue 29: `cpack -G DEB` writes dsignsgd_<version>_amd64.deb whose Depends come from the
# binaries' shared libraries; unpacked (dpkg-deb -x) into a temporary root, its CLI runs
# --version and a short train from there. Usage: deb_package_test.sh BUILD_DIR VERSION
set -euo pipefail
build=$(cd "$1" && pwd) version=$2
scratch=$(mktemp -d /tmp/dsignsgd-deb.XXXXXX)
trap 'rm -rf "$scratch"' EXIT INT TERM
source "$(dirname "$0")/install_support.sh"

(cd "$scratch" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$scratch" > cpack.log 2>&1) ||
  { cat "$scratch/cpack.log"; fail "cpack"; }
deb=$scratch/dsignsgd_${version}_amd64.deb
[ -f "$deb" ] || fail "no $(basename "$deb"): $(ls "$scratch")"
depends=$(dpkg-deb -f "$deb" Depends)
echo "$(basename "$deb"): $(du -k "$deb" | cut -f1) kB; Depends: $depends"
for package in libc6 libstdc++6 zlib1g; do
  grep -q "$package" <<< "$depends" || fail "Depends lacks $package"
done
grep -q "libdsignsgd" <<< "$depends" && fail "Depends names the package's own library"

root=$scratch/root
dpkg-deb -x "$deb" "$root"
cli=$root/usr/bin/dsignsgd
loads_libdsignsgd_from "$cli" "$root"
"$cli" --version | grep -q "^$version " || fail "--version: $("$cli" --version)"
"$cli" train --method dsignsgd --dim 100 --workers 4 --steps 200 --runs 2 --lr 0.01 \
       --out "$scratch/run" > /dev/null || fail "train"
[ -s "$scratch/run/summary.json" ] || fail "train wrote no summary.json"
[ -e "$root/usr/share/man/man1/dsignsgd.1" ] || fail "no man page"
[ -e "$root/usr/lib/python3/dist-packages/dsignsgd/__init__.py" ] || fail "no Python package"
echo "deb package test passed"
