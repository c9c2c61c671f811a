/**
 * The WebGPU backend: tensors in pooled storage buffers on one Engine.
 *
 * @module
 */
import type { Arr, Backend, GpuStorage, Storage } from "../src/backend.ts";
import { Tensor } from "../src/tensor.ts";
import { Engine } from "./engine.ts";
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
      buffer: this.engine.alloc(n * 4),
      refs: 1,
    });
    if (this.poison) fillGpu(this.engine, gpuBuffer(t), n, NaN);
    return t;
  }

  full(shape: readonly number[], value: number): Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    const t = new Tensor(this, shape, {
      kind: "webgpu",
      buffer: this.engine.alloc(n * 4),
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
      buffer: this.engine.alloc(n * 4),
      refs: 1,
    });
    const f = data instanceof Float32Array ? data : Float32Array.from(data);
    this.engine.upload(gpuBuffer(t), f);
    return t;
  }

  async readMany(ts: readonly Tensor[]): Promise<Arr[]> {
    // Gather every tensor into one buffer so the ~11 ms GPU round-trip is paid once.
    const total = ts.reduce((n, t) => n + t.size, 0);
    const all = this.engine.alloc(Math.max(4, total * 4));
    let at = 0;
    for (const t of ts) {
      if (t.size > 0) this.engine.copy(gpuBuffer(t), all, t.size * 4, 0, at * 4);
      at += t.size;
    }
    try {
      const flat = await this.engine.read(all, Math.max(4, total * 4));
      at = 0;
      return ts.map((t) => flat.subarray(at, at += t.size));
    } finally {
      this.engine.release(all);
    }
  }

  read(t: Tensor): Promise<Arr> {
    return this.engine.read(gpuBuffer(t), Math.max(4, t.size * 4)).then((a) =>
      a.subarray(0, t.size)
    );
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
}

/** The buffer behind a WebGPU tensor. */
export function gpuBuffer(t: Tensor): GPUBuffer {
  const s = t.storage;
  if (s.kind !== "webgpu") throw new Error(`expected a WebGPU tensor, got ${s.kind}`);
  return s.buffer;
}
