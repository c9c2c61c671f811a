/**
 * Choosing a backend: `--backend cpu|webgpu|onnx|onnx-cuda`, else the `ADPS_BACKEND` env var,
 * else the fastest path present: WebGPU on a hardware adapter; ONNX Runtime's CPU provider
 * where the only adapter is a software rasterizer or there is none (when ONNX Runtime is
 * loaded: src/onnx/ort_backend.ts registers itself; the browser entry never loads it); else
 * WebGPU or the CPU twin as available. The default is announced in one line.
 *
 * @module
 */
import { getGpuDevice } from "../../gpu/device.ts";
import { WebGpuBackend } from "../../gpu/backend.ts";
import type { Backend, BackendName } from "./backend.ts";
import { envGet, hostOs } from "./env.ts";
import { UsageError } from "./usage_error.ts";
import { CpuBackend, type CpuDtype } from "../cpu/backend.ts";

const cpu = new Map<CpuDtype, CpuBackend>();
let webgpu: Promise<WebGpuBackend | null> | undefined;

/** Opens ONNX Runtime on a provider (registered by src/onnx/ort_backend.ts when loaded). */
export type OnnxRuntimeOpener = (provider: "cpu" | "cuda") => Backend;
let onnxRuntime: OnnxRuntimeOpener | undefined;
const onnx = new Map<"cpu" | "cuda", Backend>();

/** WebGPU adapters that rasterize in software: ONNX Runtime's CPU provider beats them. */
const SOFTWARE_ADAPTER = /lavapipe|llvmpipe|swiftshader/i;

/**
 * Makes ONNX Runtime selectable (`--backend onnx|onnx-cuda`, and the default on machines
 * without a hardware adapter); src/onnx/ort_backend.ts calls this when it loads, so code
 * that never imports onnxruntime-node (the browser entry) keeps WebGPU and the CPU twin.
 *
 * @param open opens the backend on a provider
 */
export function provideOnnxRuntime(open: OnnxRuntimeOpener): void {
  onnxRuntime = open;
}

function onnxBackend(provider: "cpu" | "cuda"): Backend {
  if (!onnxRuntime) {
    throw new UsageError(
      "ONNX Runtime is not loaded in this program: import src/onnx/ort_backend.ts (mod.ts does)",
    );
  }
  let b = onnx.get(provider);
  if (!b) onnx.set(provider, b = onnxRuntime(provider));
  return b;
}

/**
 * The process-wide CPU backend of a precision.
 *
 * @param dtype "f32" (the twin of the GPU kernels) or "f64" (gradient checks)
 * @returns the backend
 * @example
 * ```ts
 * import { cpuBackend } from "./select_backend.ts";
 * const t = cpuBackend().fromArray([1, 2], [2]);
 * ```
 */
export function cpuBackend(dtype: CpuDtype = "f32"): CpuBackend {
  let b = cpu.get(dtype);
  if (!b) cpu.set(dtype, b = new CpuBackend(dtype));
  return b;
}

/**
 * The process-wide WebGPU backend, or null where no adapter exists.
 *
 * @returns the backend or null
 */
export function webgpuBackend(): Promise<WebGpuBackend | null> {
  webgpu ??= getGpuDevice().then((g) => g && new WebGpuBackend(g.device, g.description));
  return webgpu;
}

/** On Linux gpu/device.ts asks wgpu for Vulkan alone; say how to try OpenGL instead. */
function glHint(): string {
  return hostOs() === "linux" && envGet("DENO_WEBGPU_BACKEND") === "vulkan"
    ? " (only Vulkan was tried: DENO_WEBGPU_BACKEND=gl tries OpenGL)"
    : "";
}

/** Every name `--backend` takes. */
const BACKENDS: readonly BackendName[] = ["cpu", "webgpu", "onnx", "onnx-cuda"];

/**
 * The backend asked for (`name`, else env `ADPS_BACKEND`), checked before anything is
 * computed; undefined: WebGPU where available.
 *
 * @param name "cpu", "webgpu", "onnx", "onnx-cuda" or undefined
 * @returns the checked name
 * @example
 * ```ts
 * import { backendName } from "./select_backend.ts";
 * backendName("cpu"); // "cpu"; backendName("cuda") throws a UsageError
 * ```
 */
export function backendName(name?: string): BackendName | undefined {
  const wanted = name ?? envGet("ADPS_BACKEND");
  if (wanted !== undefined && !BACKENDS.includes(wanted as BackendName)) {
    throw new UsageError(
      `unknown backend "${wanted}": use --backend cpu or webgpu (this package's engines), ` +
        `or onnx or onnx-cuda (ONNX Runtime)`,
    );
  }
  return wanted as BackendName | undefined;
}

/**
 * Picks the backend: `name` if given, else env `ADPS_BACKEND`, else WebGPU on a hardware
 * adapter, ONNX Runtime CPU (where loaded) on a software one or none, saying which in one line.
 *
 * @param name "cpu", "webgpu", "onnx" or "onnx-cuda" to force one
 * @returns the backend
 * @example
 * ```ts
 * import { selectBackend } from "./select_backend.ts";
 * const backend = await selectBackend(); // WebGPU on a hardware adapter
 * console.log(backend.name);
 * ```
 */
export async function selectBackend(name?: string): Promise<Backend> {
  const wanted = backendName(name);
  if (wanted === "cpu") return cpuBackend();
  if (wanted === "onnx" || wanted === "onnx-cuda") {
    return onnxBackend(wanted === "onnx" ? "cpu" : "cuda");
  }
  const gpu = await webgpuBackend();
  if (wanted === undefined && onnxRuntime && (!gpu || SOFTWARE_ADAPTER.test(gpu.name))) {
    const why = gpu
      ? `the only WebGPU adapter (${gpu.name}) rasterizes in software`
      : "no WebGPU adapter";
    console.warn(`backend: ONNX Runtime CPU (${why}; --backend webgpu|cpu to choose)`);
    return onnxBackend("cpu");
  }
  if (gpu) {
    if (wanted === undefined) console.warn(`backend: WebGPU (${gpu.name})`);
    return gpu;
  }
  if (wanted === "webgpu") {
    throw new UsageError(
      "no WebGPU adapter: install a driver (on Debian: apt-get install mesa-vulkan-drivers) " +
        "and run Deno with --unstable-webgpu, or use --backend cpu" + glHint(),
    );
  }
  console.warn("warning: no WebGPU adapter found, using the CPU backend (slow)" + glHint());
  return cpuBackend();
}
