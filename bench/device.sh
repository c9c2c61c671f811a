#!/usr/bin/env bash
# Run on the device machine (the device tool, carry [".device"], after bench/device-prepare.sh
# here): unpacks the loaders, Deno and its npm cache, then runs the test suite on the GPU's
# WebGPU adapter and `deno task bench` with the PyTorch peer on the same GPU (CUDA), and
# writes test.log, bench.log and BENCHMARKS-gpu.md to $OUT. PEER_DEVICE=cpu and SKIP_GL=1 try
# it on a machine without the GPU (lavapipe), where unpacking the loaders into / is not wanted.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/adps-device-out}
mkdir -p "$out" /tmp/adps-bin /tmp/adps-deno-dir
if [ "${SKIP_GL:-0}" != 1 ]; then
  for f in .device/gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
  icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  [ -f "$icd" ] && export VK_DRIVER_FILES=$icd \
    __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi
xz -dc .device/deno.xz >/tmp/adps-bin/deno && chmod +x /tmp/adps-bin/deno
tar -C /tmp/adps-deno-dir -xJf .device/deno-dir.tar.xz
export PATH=/tmp/adps-bin:$PATH DENO_DIR=/tmp/adps-deno-dir XDG_RUNTIME_DIR=/tmp NO_COLOR=1
export DENO_WEBGPU_BACKEND=${DENO_WEBGPU_BACKEND:-vulkan} # as gpu/device.ts and .ci/run
export ADPS_PYTHON=${ADPS_PYTHON:-python3}
deno --version | head -1
deno eval --cached-only 'const a = await navigator.gpu.requestAdapter();
  console.log("adapter:", a?.info.description || a?.info.device || "none", a?.info.vendor ?? "")'
start=$(date +%s)
ADPS_REQUIRE_GPU=1 timeout "${TEST_TIMEOUT:-300}" deno test -A --cached-only --parallel tests/ \
  >"$out/test.log" 2>&1
echo "tests: exit $?, $(($(date +%s) - start)) s; $(grep -E '^(ok|FAILED) \|' "$out/test.log" | tail -1)"
grep -E 'FAILED|error:' "$out/test.log" | head -20
start=$(date +%s)
timeout "${BENCH_TIMEOUT:-300}" deno run -A --cached-only scripts/bench.ts --no-cpu \
  --peer-device "${PEER_DEVICE:-cuda}" --out "$out/BENCHMARKS-gpu.md" >"$out/bench.log" 2>&1
echo "bench: exit $?, $(($(date +%s) - start)) s"
tail -n 40 "$out/BENCHMARKS-gpu.md" 2>/dev/null || tail -n 20 "$out/bench.log"
