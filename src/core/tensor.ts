/**
 * The f32 tensor: a contiguous (row-major) array with a shape, living on one backend. Ops
 * (src/ops/) compute on it; reshape is an op too (src/ops/reshape.ts), so the tensor
 * knows nothing of the autograd tape.
 *
 * @module
 */
import type { Backend, Storage } from "./backend.ts";
import { track } from "./scope.ts";

let nextId = 1;

/**
 * A contiguous row-major tensor. Free it with `dispose()`, a `using` declaration, or by
 * creating it inside `tidy()`.
 *
 * @example
 * ```ts
 * import { cpuBackend } from "./select_backend.ts";
 * using t = cpuBackend().fromArray([1, 2, 3, 4], [2, 2]);
 * console.log(t.shape, await t.toArray());
 * ```
 */
export class Tensor implements Disposable {
  /** Unique id, used by the autograd tape. */
  readonly id: number = nextId++;
  /** Dimensions, outermost first. */
  readonly shape: readonly number[];
  /** Number of elements. */
  readonly size: number;
  /** The backend that owns the storage. */
  readonly backend: Backend;
  #storage: Storage | null;

  /** Wraps storage made by `backend`; use the backend's factories instead. */
  constructor(backend: Backend, shape: readonly number[], storage: Storage) {
    this.backend = backend;
    this.shape = Object.freeze([...shape]);
    this.size = shapeSize(shape);
    this.#storage = storage;
    track(this);
  }

  /** The backend storage; throws if the tensor was disposed. */
  get storage(): Storage {
    if (this.#storage === null) {
      throw new Error(`tensor #${this.id} [${this.shape}] used after dispose`);
    }
    return this.#storage;
  }

  /** True once the storage has been returned to the backend. */
  get disposed(): boolean {
    return this.#storage === null;
  }

  /** Returns the storage to its backend (idempotent). */
  dispose(): void {
    if (this.#storage === null) return;
    this.backend.free(this.#storage);
    this.#storage = null;
  }

  /** Same as `dispose()`, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** Copies the values to the CPU (one GPU round-trip on WebGPU). */
  toArray(): Promise<Float32Array | Float64Array> {
    return this.backend.read(this);
  }
}

/** Product of the dimensions. */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`bad shape [${shape}]`);
    n *= d;
  }
  return n;
}
