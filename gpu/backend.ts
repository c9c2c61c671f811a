/**
 * The WebGPU backend: tensors in pooled storage buffers on one Engine.
 *
 * @module
 */
import type { Arr, Backend, GpuStorage, Storage } from "../src/core/backend.ts";
import { Tensor } from "../src/core/tensor.ts";
import { BindingSizeError, Engine, GpuError } from "./engine.ts";
import { fillGpu } from "./kernels/fill.ts";

/** Tensors on a WebGPU device. */
export class WebGpuBackend implements Backend {
  /** Discriminant. */
  readonly kind = "webgpu" as const;
  /** The engine that owns buffers and pipelines. */
  readonly engine: Engine;
  /** Adapter description. */
  readonly name: string;
  /** Fill new tensors with NaN. */
  poison = false;

  /**
   * Creates a backend, and its engine, on `device`.
   *
   * @param device the device to run on
   * @param description adapter name for logs
   */
  constructor(device: GPUDevice, description: string) {
    this.engine = new Engine(device);
    this.name = `webgpu (${description})`;
  }

  empty(shape: readonly number[]): Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    const t = new Tensor(this, shape, {
      kind: "webgpu",
      buffer: this.#alloc(shape, n),
      refs: 1,
    });
    if (this.poison) fillGpu(this.engine, gpuBuffer(t), n, NaN);
    return t;
  }

  full(shape: readonly number[], value: number): Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    const t = new Tensor(this, shape, {
      kind: "webgpu",
      buffer: this.#alloc(shape, n),
      refs: 1,
    });
    fillGpu(this.engine, gpuBuffer(t), n, value);
    return t;
  }

  fromArray(data: ArrayLike<number>, shape: readonly number[]): Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    if (data.length !== n) {
      throw new Error(`fromArray: ${data.length} values do not fill shape [${shape}]`);
    }
    const t = new Tensor(this, shape, {
      kind: "webgpu",
      buffer: this.#alloc(shape, n),
      refs: 1,
    });
    const f = data instanceof Float32Array ? data : Float32Array.from(data);
    this.engine.upload(gpuBuffer(t), f);
    return t;
  }

  async readMany(ts: readonly Tensor[]): Promise<Arr[]> {
    // Straight into staging buffers of at most engine.transferBytes: one GPU round-trip
    // (~11 ms) per chunk, and no buffer the size of the whole (a checkpoint: 1 GiB).
    const flat = await this.engine.readRanges(
      ts.map((t) => ({ buffer: gpuBuffer(t), offset: 0, bytes: t.size * 4 })),
    );
    let at = 0;
    return ts.map((t) => flat.subarray(at, at += t.size));
  }

  read(t: Tensor): Promise<Arr> {
    return this.engine.read(gpuBuffer(t), t.size * 4);
  }

  copyInto(src: Tensor, dst: Tensor): void {
    if (src.size > 0) this.engine.copy(gpuBuffer(src), gpuBuffer(dst), src.size * 4);
  }

  view(t: Tensor, shape: readonly number[]): Tensor {
    const s = t.storage as GpuStorage;
    s.refs++;
    return new Tensor(this, shape, s);
  }

  free(s: Storage): void {
    if (--s.refs === 0) this.engine.release((s as GpuStorage).buffer);
  }

  sync(): Promise<void> {
    return this.engine.sync();
  }

  /** A buffer for a tensor of `shape`; one larger than a binding names the op that asked. */
  #alloc(shape: readonly number[], n: number): GPUBuffer {
    try {
      return this.engine.alloc(n * 4);
    } catch (e) {
      if (!(e instanceof BindingSizeError)) throw e;
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 50;
      const stack = new Error().stack ?? "";
      Error.stackTraceLimit = limit;
      throw new GpuError(
        `${callingOp(stack)}: its tensor [${shape}] (${
          (n * 4 / 2 ** 20).toFixed(1)
        } MiB) is larger than this device's largest storage binding ` +
          `(${(this.engine.device.limits.maxStorageBufferBindingSize / 2 ** 20).toFixed(1)} ` +
          `MiB): lower --batch-gpu (images per round of a training step), the batch of a ` +
          `sampler, or the resolution.`,
      );
    }
  }
}

/** Files whose functions are ops a user would recognise (dispatch.ts only routes them). */
const OP_FILE = /\/(src\/(?:ops|nn|ambient|sampling|operators)\/(?!dispatch\.ts)[\w.]+\.ts)/;

/**
 * The op that allocates, from a stack trace: the outermost named function of each of the
 * first two op or layer files on the stack (a file's helpers call its exported op), as
 * "map (src/ops/map.ts), called from add (src/ops/elementwise.ts)".
 */
function callingOp(stack: string): string {
  const frames = stack.split("\n").flatMap((line) => {
    const file = OP_FILE.exec(line)?.[1];
    if (!file) return [];
    const name = /at (?:new )?([\w$.#]+) \(/.exec(line)?.[1];
    return [{ file, name }];
  });
  const ops: string[] = [];
  frames.forEach((f, i) => {
    const last = frames.slice(i + 1).findIndex((g) => g.file !== f.file);
    const run = frames.slice(i, last < 0 ? undefined : i + 1 + last).filter((g) => g.name);
    if (i > 0 && frames[i - 1].file === f.file) return;
    const outer = run.at(-1);
    ops.push(outer ? `${outer.name} (${f.file})` : f.file);
  });
  if (ops.length === 0) return "a tensor allocation";
  return ops.length > 1 ? `${ops[0]}, called from ${ops[1]}` : ops[0];
}

/** The buffer behind a WebGPU tensor. */
export function gpuBuffer(t: Tensor): GPUBuffer {
  const s = t.storage;
  if (s.kind !== "webgpu") throw new Error(`expected a WebGPU tensor, got ${s.kind}`);
  return s.buffer;
}
