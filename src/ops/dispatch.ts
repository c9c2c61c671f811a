/**
 * The one place an op chooses between its CPU twin and its WebGPU kernel.
 *
 * @module
 */
import type { WebGpuBackend } from "../../gpu/backend.ts";
import type { CpuBackend } from "../cpu/backend.ts";
import type { Tensor } from "../tensor.ts";

/**
 * Runs `cpu` or `gpu` depending on where `tensors` live (they must share one backend).
 *
 * @param op op name, for errors
 * @param tensors the op's tensor arguments (nulls skipped)
 * @param cpu CPU twin
 * @param gpu WebGPU path
 * @returns what the chosen path returns
 */
export function onBackend<R>(
  op: string,
  tensors: readonly (Tensor | null | undefined)[],
  cpu: (b: CpuBackend) => R,
  gpu: (b: WebGpuBackend) => R,
): R {
  const first = tensors.find((t) => t) as Tensor;
  for (const t of tensors) {
    if (t && t.backend !== first.backend) {
      throw new Error(
        `${op}: tensors on different backends (${first.backend.name}, ${t.backend.name})`,
      );
    }
    if (t?.disposed) throw new Error(`${op}: tensor [${t.shape}] was disposed`);
  }
  const b = first.backend;
  return b.kind === "cpu" ? cpu(b as CpuBackend) : gpu(b as WebGpuBackend);
}

/** Throws a shape error that names the op and what it expected. */
export function shapeError(op: string, msg: string): never {
  throw new Error(`${op}: ${msg}`);
}
