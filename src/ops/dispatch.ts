/**
 * The one place an op chooses its implementation: one function per backend kind, keyed by
 * `Backend.kind`, so a new engine adds its entry to each op without touching the callers.
 *
 * @module
 */
import type { WebGpuBackend } from "../../gpu/backend.ts";
import type { BackendKind } from "../core/backend.ts";
import type { CpuBackend } from "../cpu/backend.ts";
import type { Tensor } from "../core/tensor.ts";

/** The backend class of each kind: an op's implementation for a kind receives this class. */
export interface BackendOf {
  /** The CPU twin. */
  cpu: CpuBackend;
  /** The WebGPU engine. */
  webgpu: WebGpuBackend;
}

/** An op's implementations, one per backend kind it runs on. */
export type Implementations<R> = { readonly [K in BackendKind]?: (b: BackendOf[K]) => R };

/**
 * Runs the implementation for the backend `tensors` live on (they must share one backend).
 *
 * @param op op name, for errors
 * @param tensors the op's tensor arguments (nulls skipped)
 * @param impls one function per backend kind the op supports
 * @returns what the chosen implementation returns
 * @example
 * ```ts
 * import { onBackend } from "./dispatch.ts";
 * import { cpuBackend } from "../core/select_backend.ts";
 * const x = cpuBackend().fromArray([1, 2], [2]);
 * const where = onBackend("where", [x], { cpu: () => "cpu", webgpu: () => "webgpu" });
 * ```
 */
export function onBackend<R>(
  op: string,
  tensors: readonly (Tensor | null | undefined)[],
  impls: Implementations<R>,
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
  return onKind(op, first.backend, impls);
}

/**
 * Runs the implementation for `backend`'s kind (for ops that make tensors from no input).
 *
 * @param op op name, for errors
 * @param backend where the result lives
 * @param impls one function per backend kind the op supports
 * @returns what the chosen implementation returns
 */
export function onKind<R>(
  op: string,
  backend: { readonly kind: BackendKind; readonly name: string },
  impls: Implementations<R>,
): R {
  const run = impls[backend.kind] as ((b: unknown) => R) | undefined;
  if (!run) {
    throw new Error(
      `${op}: no implementation for the ${backend.kind} backend (${backend.name}); ` +
        `it runs on ${Object.keys(impls).join(", ")}: move the tensors there first`,
    );
  }
  return run(backend);
}

/** Throws a shape error that names the op and what it expected. */
export function shapeError(op: string, msg: string): never {
  throw new Error(`${op}: ${msg}`);
}
