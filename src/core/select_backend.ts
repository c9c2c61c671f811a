/**
 * Choosing a backend: `--backend cpu|webgpu`, else the `ADPS_BACKEND` env var, else WebGPU
 * where an adapter exists, else the CPU twin with a one-line warning.
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

/**
 * The backend asked for (`name`, else env `ADPS_BACKEND`), checked before anything is
 * computed; undefined: WebGPU where available.
 *
 * @param name "cpu", "webgpu" or undefined
 * @returns the checked name
 * @example
 * ```ts
 * import { backendName } from "./select_backend.ts";
 * backendName("cpu"); // "cpu"; backendName("cuda") throws a UsageError
 * ```
 */
export function backendName(name?: string): BackendName | undefined {
  const wanted = name ?? envGet("ADPS_BACKEND");
  if (wanted !== undefined && wanted !== "cpu" && wanted !== "webgpu") {
    throw new UsageError(`unknown backend "${wanted}": use --backend cpu or --backend webgpu`);
  }
  return wanted;
}

/**
 * Picks the backend: `name` if given, else env `ADPS_BACKEND`, else WebGPU if available.
 *
 * @param name "cpu" or "webgpu" to force one
 * @returns the backend
 * @example
 * ```ts
 * import { selectBackend } from "./select_backend.ts";
 * const backend = await selectBackend(); // WebGPU where an adapter exists
 * console.log(backend.name);
 * ```
 */
export async function selectBackend(name?: string): Promise<Backend> {
  const wanted = backendName(name);
  if (wanted === "cpu") return cpuBackend();
  const gpu = await webgpuBackend();
  if (gpu) return gpu;
  if (wanted === "webgpu") {
    throw new UsageError(
      "no WebGPU adapter: install a driver (on Debian: apt-get install mesa-vulkan-drivers) " +
        "and run Deno with --unstable-webgpu, or use --backend cpu" + glHint(),
    );
  }
  console.warn("warning: no WebGPU adapter found, using the CPU backend (slow)" + glHint());
  return cpuBackend();
}
