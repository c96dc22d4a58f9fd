#!/usr/bin/env bash
# One prepared call on the lent GPU machine (issue 14), within 8 minutes: unpack `.dc/` (made by
# tools/device-pack.sh), print the adapter, time the read-back floor, run the kernel tests with
# WebGPU required (every kernel's comparison with the reference), tune the GEMM and convolution
# tiles (tools/tune-tiles.ts), then the benchmark, profiled per kernel, with PyTorch CUDA in FP32
# and in TF32/bfloat16 in the same run, and W1/W3 once more with `--precision f16` beside f32 and
# PyTorch's autocast. Each
# stage has its own time limit, so a slow one cannot eat the next one's share. Everything goes
# to $OUT (the device tool brings it back); commit bench.md under bench/results/ with the date.
#
#   run: bash tools/device-bench.sh        carry: [".dc"]
#
# Off the GPU machine `DEVICE_BENCH_LOCAL=1 bash tools/device-bench.sh` uses this machine's deno
# and adapter (Mesa's software one in CI) with short limits: a rehearsal of the script itself.
set -uo pipefail
cd "$(dirname "$0")/.."
# The suite's files that compare kernels across backends (WebGPU among them when it is there).
kernel_tests=$(grep -l "comparedBackends\|gpuOrNull\|allBackends\|webgpuBackend" tests/*_test.ts)
if [ "${1:-}" = --list-tests ]; then
  echo $kernel_tests
  exit 0
fi
out=${OUT:-results/device}
mkdir -p "$out"
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
local_run=${DEVICE_BENCH_LOCAL:-0}

if [ "$local_run" != 1 ]; then
  for f in .dc/*.deb; do dpkg -x "$f" /; done
  ldconfig
  python3 -c "import lzma,shutil;shutil.copyfileobj(lzma.open('.dc/deno.xz'),open('/tmp/deno','wb'))"
  chmod +x /tmp/deno
  export PATH=/tmp:$PATH
  icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  [ -f "$icd" ] && export VK_DRIVER_FILES=$icd
  python3 -c "import tarfile;tarfile.open('.dc/deno-dir.tar.xz').extractall('/tmp/deno-dir')"
  export DENO_DIR=/tmp/deno-dir
  cfg=(--config .dc/deno.json --no-lock --cached-only)
  # seconds per stage: about 8 minutes in all with the unpacking
  tests_s=100 tune_s=55 kernels_s=145 f16_s=40 trunk_batch=32
  trunk_s=(resnet18:40 resnext101_32x8d:60 efficientnet_b3:50)
else
  cfg=()
  tests_s=60 tune_s=60 kernels_s=60 f16_s=60 trunk_batch=2
  trunk_s=(resnet18:60)
fi

stage() { echo "== $(date -u +%H:%M:%S) $*" | tee -a "$out/stages.txt"; }

stage "adapter"
deno eval '
const a = await navigator.gpu?.requestAdapter({ powerPreference: "high-performance" });
if (!a) { console.log("no WebGPU adapter"); Deno.exit(1); }
const limits = Object.fromEntries(
  ["maxBufferSize", "maxStorageBufferBindingSize", "maxComputeWorkgroupStorageSize",
   "maxComputeInvocationsPerWorkgroup"].map((k) => [k, String(a.limits[k])]),
);
console.log(JSON.stringify({ info: a.info, features: [...a.features], limits }, null, 1));
' 2>&1 | tee "$out/adapter.txt"
command -v nvidia-smi > /dev/null && nvidia-smi -L | tee -a "$out/adapter.txt"

stage "read-back floor"
deno run "${cfg[@]}" -A bench/readback_probe.ts 2>&1 | tee "$out/readback.txt"

stage "kernel tests (REQUIRE_WEBGPU=1, ${tests_s} s at most)"
REQUIRE_WEBGPU=1 timeout "$tests_s" deno test "${cfg[@]}" -P --parallel $kernel_tests \
  > "$out/tests.txt" 2>&1
echo "tests rc $?" | tee -a "$out/stages.txt"
grep -E "^(ok|FAILED) \|" "$out/tests.txt" | tail -1 | tee -a "$out/stages.txt"

stage "tile tuning (${tune_s} s at most)"
# The bench stages then run with the measured tiles; the file comes back to be committed.
export SDU_TILES_FILE="$out/webgpu-tiles.json"
timeout "$tune_s" deno run "${cfg[@]}" -A tools/tune-tiles.ts $([ "$local_run" = 1 ] && echo --quick) \
  --out "$SDU_TILES_FILE" > "$out/tune.md" 2>&1
echo "tune rc $?" | tee -a "$out/stages.txt"

stage "bench W1-W4 (${kernels_s} s at most)"
timeout "$kernels_s" deno run "${cfg[@]}" -A bench/main.ts --quick --only W1,W2,W3,W4 --repeat 20 \
  --budget 30 --profile --backends webgpu --peers torch-cuda,torch-cuda-amp \
  --out "$out/bench-kernels.md" > "$out/bench-kernels.log" 2>&1
echo "bench rc $?" | tee -a "$out/stages.txt"
stage "bench W1, W3 at --precision f16 (${f16_s} s at most)"
timeout "$f16_s" deno run "${cfg[@]}" -A bench/main.ts --quick --only W1,W3 --repeat 20 \
  --budget 15 --backends webgpu,webgpu-f16 --peers torch-cuda-amp \
  --out "$out/bench-f16.md" > "$out/bench-f16.log" 2>&1
echo "bench f16 rc $?" | tee -a "$out/stages.txt"
# One run per trunk, each under its own limit: a run killed at its limit writes no table.
for entry in "${trunk_s[@]}"; do
  model=${entry%%:*} limit=${entry##*:}
  stage "trunk $model, batch $trunk_batch ($limit s at most)"
  timeout "$limit" deno run "${cfg[@]}" -A bench/main.ts --model "$model" --image-size 256 \
    --batch "$trunk_batch" --budget 30 --profile --backends webgpu --peers torch-cuda,torch-cuda-amp \
    --out "$out/bench-trunk-$model.md" > "$out/bench-trunk-$model.log" 2>&1
  echo "trunk $model rc $?" | tee -a "$out/stages.txt"
done
stage "done"
