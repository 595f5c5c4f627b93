#!/usr/bin/env bash
# Everything one run on a GPU machine needs to check ttfs's CUDA backend, in one call, under
# 8 minutes (each step has its own time limit). The machine needs the NVIDIA driver, the CUDA 13 libraries (libnvrtc, libcublas:
# from the CUDA toolkit or the nvidia-* Python wheels) and, for the ratio, PyTorch; it needs
# no Rust toolchain and no network. Run from the repository root after scripts/gpu-bundle.sh
# filled gpu-bundle/ on a CPU machine:
#
#   scripts/gpu-check.sh            # writes its log and table to $OUT (if set) or /tmp/gpu-check
#
# Steps: the selftest (every kernel against the CPU backend, training steps, determinism);
# `ttfs bench --device cuda` beside the PyTorch peer on the same GPU, eager and torch.compile;
# one epoch of configs/mnist.toml on the GPU (time, accuracy); samples/s of configs/cifar10.toml
# on synthetic CIFAR-shaped files. Ends with one summary table.
set -uo pipefail
cd "$(dirname "$0")/.."
bundle=${BUNDLE:-gpu-bundle}
bin=$bundle/ttfs
out=${OUT:-/tmp/gpu-check}
mkdir -p "$out"
log=$out/gpu-check.log
: >"$log"
say() { echo "$@" | tee -a "$log"; }
rows=()
row() { rows+=("$(printf '%-34s %-8s %s' "$1" "$2" "$3")"); }

if [ ! -x "$bin" ]; then
  echo "error: $bin not found: run scripts/gpu-bundle.sh on the build machine first" >&2
  exit 1
fi
# cudarc opens libcuda, libnvrtc and libcublas by name: put every folder that may hold them on
# the library path (CUDA toolkit, the Python wheels of the image's PyTorch).
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/nvidia/lib64 \
  $(python3 -c 'import nvidia, os; print(" ".join(os.path.join(p, "cu13", "lib") for p in nvidia.__path__))' 2>/dev/null) \
  $(python3 -c 'import nvidia, os, glob; print(" ".join(glob.glob(os.path.join(list(nvidia.__path__)[0], "*", "lib"))))' 2>/dev/null); do
  [ -d "$d" ] && LD_LIBRARY_PATH="$d:${LD_LIBRARY_PATH:-}"
done
export LD_LIBRARY_PATH
say "== machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | tee -a "$log"
say "ttfs: $("$bin" --version 2>&1)"

say "== 1. selftest"
start=$(date +%s)
timeout 120 "$bin" selftest --device cuda >"$out/selftest.txt" 2>&1
rc=$?
grep -v '^ok ' "$out/selftest.txt" | tee -a "$log"
secs=$(( $(date +%s) - start ))
summary=$(grep -E '^[0-9]+ checks' "$out/selftest.txt" || echo "did not finish (rc $rc)")
row "selftest (all kernels, training)" "$([ $rc = 0 ] && echo pass || echo FAIL)" "$summary, $secs s"

say "== 2. bench: training step, T = 8, batch 64, against the PyTorch peer on the same GPU"
peer=""
for p in bench/ttfs_torch.py "$bundle/ttfs_torch.py"; do [ -f "$p" ] && peer=$p && break; done
# ttfs bench runs the peer eager and under torch.compile (COMPILE=0 / 1) in the same run.
if [ -n "$peer" ]; then
  DEVICE=cuda timeout 240 "$bin" bench --device cuda --peer "$peer" --steps 20 >"$out/bench.txt" 2>&1
else
  timeout 100 "$bin" bench --device cuda --peer /nonexistent --steps 20 >"$out/bench.txt" 2>&1
fi
tee -a "$log" <"$out/bench.txt"
for m in mlp cnn; do
  line=$(grep "ttfs  $m" "$out/bench.txt")
  ms=$(echo "$line" | sed -n 's/.*median *\([0-9.]*\) ms.*/\1/p')
  for mode in eager compiled; do
    line=$(grep -E "^peer +$m +$mode " "$out/bench.txt")
    ratio=$(echo "$line" | sed -n 's/.*ttfs is \([0-9.]*\)x.*/\1/p')
    peer_ms=$(echo "$line" | sed -n 's/^peer *[a-z]* *[a-z]* *\([0-9.]*\) ms\/step.*/\1/p')
    row "bench $m, PyTorch $mode" "${ratio:-?}x" "ttfs ${ms:-?} ms/step, PyTorch ${peer_ms:-n/a} ms/step"
  done
done

say "== 3. one epoch of configs/mnist.toml on the GPU"
rm -rf /tmp/ttfs-gpu-mnist
timeout 150 "$bin" train --config configs/mnist.toml --data-dir "$bundle/mnist" --device cuda \
  --epochs 1 --out /tmp/ttfs-gpu-mnist >"$out/mnist.txt" 2>&1
rc=$?
grep -E 'epoch|final|error' "$out/mnist.txt" | tee -a "$log"
if [ -f /tmp/ttfs-gpu-mnist/metrics.jsonl ]; then
  read -r secs sps acc < <(python3 -c 'import json,sys; m=json.loads(open(sys.argv[1]).readline()); print(round(m["seconds"], 1), m["train_samples_per_s"], m["eval"]["accuracy"])' /tmp/ttfs-gpu-mnist/metrics.jsonl)
  train_s=$(python3 -c "print(f'{55000 / $sps:.2f}')")
  test=$(sed -n 's/final test accuracy \([0-9.]*%\).*/\1/p' "$out/mnist.txt")
  row "MNIST conv epoch (configs/mnist)" "${train_s} s" "training ${sps%.*} samples/s; epoch with validation ${secs} s; validation $(python3 -c "print(f'{100*$acc:.2f}%')"), test $test"
else
  row "MNIST conv epoch (configs/mnist)" "FAIL" "rc $rc, see mnist.txt"
fi

say "== 4. configs/cifar10.toml (VGG) on synthetic CIFAR-10 files"
python3 - <<'PY'
# Random records in the real binary format (1 label byte, 3072 pixel bytes), without numpy.
import os, random
d = "/tmp/ttfs-synthetic-cifar10"; os.makedirs(d, exist_ok=True)
rng = random.Random(0)
for name, n in [(f"data_batch_{i}.bin", 2000) for i in range(1, 6)] + [("test_batch.bin", 1000)]:
    with open(os.path.join(d, name), "wb") as f:
        for _ in range(n):
            f.write(bytes([rng.randrange(10)]) + rng.randbytes(3072))
PY
rm -rf /tmp/ttfs-gpu-cifar
timeout 100 "$bin" train --config configs/cifar10.toml --data-dir /tmp/ttfs-synthetic-cifar10 \
  --device cuda --epochs 1 --set data.validation=1000 --out /tmp/ttfs-gpu-cifar >"$out/cifar.txt" 2>&1
rc=$?
grep -E 'epoch|final|error' "$out/cifar.txt" | tee -a "$log"
if [ -f /tmp/ttfs-gpu-cifar/metrics.jsonl ]; then
  sps=$(python3 -c 'import json,sys; print(int(json.loads(open(sys.argv[1]).readline())["train_samples_per_s"]))' /tmp/ttfs-gpu-cifar/metrics.jsonl)
  row "CIFAR-10 VGG training (synthetic)" "$sps/s" "samples/s, batch 64, T = 8, 9000 images"
else
  row "CIFAR-10 VGG training (synthetic)" "FAIL" "rc $rc, see cifar.txt"
fi

say ""
say "== summary"
printf '%-34s %-8s %s\n' "check" "result" "details" | tee -a "$log"
for r in "${rows[@]}"; do say "$r"; done
