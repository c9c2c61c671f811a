/**
 * The CPU twin's storage: typed arrays in f32 (the reference for the WebGPU kernels) or
 * f64 (the oracle for finite-difference gradient checks).
 *
 * @module
 */
import type { Arr, Backend, CpuStorage, Storage } from "../core/backend.ts";
import { Tensor } from "../core/tensor.ts";

/** Element precision of a CPU backend. */
export type CpuDtype = "f32" | "f64";

/** The pure-TypeScript backend. */
export class CpuBackend implements Backend {
  /** Discriminant. */
  readonly kind = "cpu" as const;
  /** Element precision. */
  readonly dtype: CpuDtype;
  /** Fill new tensors with NaN. */
  poison = false;

  /**
   * Creates a CPU backend with the given element precision.
   *
   * @param dtype "f32" (default) or "f64"
   */
  constructor(dtype: CpuDtype = "f32") {
    this.dtype = dtype;
  }

  /** Description for logs. */
  get name(): string {
    return `cpu (${this.dtype})`;
  }

  /** A typed array of this backend's precision. */
  array(n: number): Arr {
    return this.dtype === "f64" ? new Float64Array(n) : new Float32Array(n);
  }

  /** Wraps an array of this precision as a tensor (no copy). */
  wrap(data: Arr, shape: readonly number[]): Tensor {
    return new Tensor(this, shape, { kind: "cpu", data, refs: 1 });
  }

  empty(shape: readonly number[]): Tensor {
    return this.full(shape, this.poison ? NaN : 0);
  }

  full(shape: readonly number[], value: number): Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = this.array(n);
    if (value !== 0) data.fill(value);
    return this.wrap(data, shape);
  }

  fromArray(data: ArrayLike<number>, shape: readonly number[]): Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    if (data.length !== n) {
      throw new Error(`fromArray: ${data.length} values do not fill shape [${shape}]`);
    }
    const a = this.array(n);
    a.set(data);
    return this.wrap(a, shape);
  }

  read(t: Tensor): Promise<Arr> {
    return Promise.resolve(cpuData(t).slice(0, t.size));
  }

  readMany(ts: readonly Tensor[]): Promise<Arr[]> {
    return Promise.all(ts.map((t) => this.read(t)));
  }

  copyInto(src: Tensor, dst: Tensor): void {
    cpuData(dst).set(cpuData(src).subarray(0, src.size));
  }

  view(t: Tensor, shape: readonly number[]): Tensor {
    const s = t.storage as CpuStorage;
    s.refs++;
    return new Tensor(this, shape, s);
  }

  free(s: Storage): void {
    s.refs--;
  }

  sync(): Promise<void> {
    return Promise.resolve();
  }
}

/** The typed array behind a CPU tensor. */
export function cpuData(t: Tensor): Arr {
  const s = t.storage;
  if (s.kind !== "cpu") throw new Error(`expected a CPU tensor, got ${s.kind}`);
  return s.data;
}
