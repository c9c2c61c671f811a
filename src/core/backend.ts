/**
 * Backends own tensor storage: the pure-TypeScript CPU twin (f32, or f64 for gradient
 * checks) and the WebGPU engine. `selectBackend` picks one from a flag, an env var, or
 * what the machine has.
 *
 * @module
 */
import type { Tensor } from "./tensor.ts";

/** Plain arrays the CPU twin computes on. */
export type Arr = Float32Array | Float64Array;

/** CPU storage: a typed array, shared by views. */
export interface CpuStorage {
  /** Discriminant. */
  kind: "cpu";
  /** The values. */
  data: Arr;
  /** Tensors sharing this storage. */
  refs: number;
}

/** WebGPU storage: a pooled buffer, shared by views. */
export interface GpuStorage {
  /** Discriminant. */
  kind: "webgpu";
  /** The buffer (its size may exceed the tensor's bytes: pool buckets). */
  buffer: GPUBuffer;
  /** Tensors sharing this storage. */
  refs: number;
}

/** ONNX tracing storage: the name of a value in the graph being recorded (src/onnx/). */
export interface OnnxStorage {
  /** Discriminant. */
  kind: "onnx";
  /** The graph value's name. */
  name: string;
  /** Tensors sharing this value. */
  refs: number;
}

/** Any kind of storage. */
export type Storage = CpuStorage | GpuStorage | OnnxStorage;

/** The kinds of engine; src/ops/dispatch.ts maps each to its backend class. */
export type BackendKind = "cpu" | "webgpu" | "onnx";

/** What every backend provides. */
export interface Backend {
  /** Which engine: ops pick their implementation by it (src/ops/dispatch.ts). */
  readonly kind: BackendKind;
  /** Short description for logs, e.g. "webgpu (llvmpipe …)". */
  readonly name: string;
  /** When true, every new tensor is filled with NaN so an unwritten output fails a test. */
  poison: boolean;
  /** A tensor with undefined contents (NaN when `poison`). */
  empty(shape: readonly number[]): Tensor;
  /** A tensor filled with `value`. */
  full(shape: readonly number[], value: number): Tensor;
  /** A tensor holding `data` (copied). */
  fromArray(data: ArrayLike<number>, shape: readonly number[]): Tensor;
  /** Copies a tensor's values to the CPU. */
  read(t: Tensor): Promise<Arr>;
  /** Copies several tensors to the CPU in one round-trip (checkpoints, metric batches). */
  readMany(ts: readonly Tensor[]): Promise<Arr[]>;
  /** Copies `src` into `dst` (same size, same backend). */
  copyInto(src: Tensor, dst: Tensor): void;
  /** A new tensor sharing `t`'s storage with another shape. */
  view(t: Tensor, shape: readonly number[]): Tensor;
  /** Drops one reference to `s`, freeing it at zero. */
  free(s: Storage): void;
  /** Waits for queued work and reports deferred errors (no-op on the CPU). */
  sync(): Promise<void>;
}

/** The backends a user may ask for. */
export type BackendName = "cpu" | "webgpu" | "onnx" | "onnx-cuda";
