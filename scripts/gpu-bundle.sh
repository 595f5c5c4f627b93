#!/usr/bin/env bash
# Prepare, on a CPU build machine, what scripts/gpu-check.sh needs on a GPU machine that has
# no Rust toolchain and no network: the ttfs binary built with --features cuda (for any
# x86-64-v3 CPU, not only this one) and the MNIST files, in gpu-bundle/ (ignored by git; about
# 17 MiB). The PyTorch peer, bench/ttfs_torch.py, travels with the repository.
#
#   scripts/gpu-bundle.sh [MNIST_DIR]
#
# MNIST_DIR holds the four *-ubyte.gz files (default: data/mnist).
set -euo pipefail
cd "$(dirname "$0")/.."
mnist=${1:-data/mnist}
out=gpu-bundle
mkdir -p "$out/mnist"
# target-cpu=native (.cargo/config.toml) would tie the binary to this CPU's instruction set.
RUSTFLAGS="-C target-cpu=x86-64-v3" cargo build --release --features cuda --target-dir target/gpu-bundle
cp target/gpu-bundle/release/ttfs "$out/ttfs"
strip "$out/ttfs" 2>/dev/null || true
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
  if [ ! -f "$mnist/$f" ]; then
    echo "error: $mnist/$f not found (give the MNIST folder as the first argument)" >&2
    exit 1
  fi
  cp "$mnist/$f" "$out/mnist/"
done
du -sh "$out"
echo "bundle ready: on the GPU machine run scripts/gpu-check.sh from the repository root"
