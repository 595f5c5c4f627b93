#!/usr/bin/env bash
# Prepare, on a CPU build machine, what scripts/gpu-check.sh needs on a GPU machine that has
# no Rust toolchain and no network: the ttfs binary built with --features cuda (for any
# x86-64-v3 CPU, not only this one), the MNIST files and the PyTorch peer, in gpu-bundle/
# (ignored by git; about 25 MiB).
#
#   scripts/gpu-bundle.sh [MNIST_DIR] [PEER_SCRIPT]
#
# MNIST_DIR holds the four *-ubyte.gz files (default: data/mnist); PEER_SCRIPT is the PyTorch
# peer ttfs_torch.py (optional: without it the check skips the PyTorch ratio).
set -euo pipefail
cd "$(dirname "$0")/.."
mnist=${1:-data/mnist}
peer=${2:-}
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
if [ -n "$peer" ]; then cp "$peer" "$out/ttfs_torch.py"; fi
du -sh "$out"
echo "bundle ready: on the GPU machine run scripts/gpu-check.sh from the repository root"
