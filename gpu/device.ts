/**
 * Acquires the WebGPU adapter and device once per process.
 *
 * @module
 */
import { envDefault, hostOs } from "../src/core/env.ts";

/** The adapter limits we ask for: as much as the adapter allows of what our kernels bind. */
const WANTED_LIMITS = [
  "maxStorageBuffersPerShaderStage",
  "maxBufferSize",
  "maxStorageBufferBindingSize",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxStorageTexturesPerShaderStage",
] as const;

/** A WebGPU device together with the adapter description it came from. */
export interface GpuDevice {
  /** The device every kernel runs on. */
  device: GPUDevice;
  /** Human-readable adapter name, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)". */
  description: string;
}

let pending: Promise<GpuDevice | null> | undefined;

/**
 * Returns the process-wide WebGPU device, or `null` where no adapter exists.
 *
 * @returns the device and its adapter description, or null without an adapter
 * @example
 * ```ts
 * import { getGpuDevice } from "./device.ts";
 * const gpu = await getGpuDevice();
 * console.log(gpu?.description ?? "no WebGPU adapter");
 * ```
 */
export function getGpuDevice(): Promise<GpuDevice | null> {
  pending ??= acquire();
  return pending;
}

/**
 * Environment defaults read when wgpu creates its instance (on the first adapter request).
 *
 * On Linux wgpu would also probe OpenGL through glvnd's libEGL, whose thread-exit destructor
 * races the process exit of `deno test` (a "double free" abort after the summary, ~1 run in 10
 * here); Vulkan is the only backend our kernels target there, so we ask for it alone. Mesa's
 * Vulkan loader complains on stderr when XDG_RUNTIME_DIR is unset; point it at the temp dir.
 */
function ensureEnvironment(): void {
  if (hostOs() === "linux") envDefault("DENO_WEBGPU_BACKEND", "vulkan");
  envDefault("XDG_RUNTIME_DIR", "/tmp");
}

async function acquire(): Promise<GpuDevice | null> {
  if (typeof navigator === "undefined" || !("gpu" in navigator)) return null;
  ensureEnvironment();
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await navigator.gpu.requestAdapter({ powerPreference: "high-performance" });
  } catch {
    return null;
  }
  if (!adapter) return null;
  const requiredLimits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) requiredLimits[name] = adapter.limits[name];
  const device = await adapter.requestDevice({ requiredLimits });
  const info = adapter.info;
  return { device, description: info.description || `${info.vendor} ${info.device}`.trim() };
}
