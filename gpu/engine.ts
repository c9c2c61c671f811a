/**
 * The WebGPU engine: a buffer pool keyed by size, pipelines cached by shader source, many
 * dispatches batched into one submit, uniforms packed into one arena per submit, and GPU
 * errors turned into exceptions that name the op.
 *
 * @module
 */

import { envGet } from "../src/core/env.ts";

// The usages are read when a buffer is made, not at import: a page without WebGPU has no
// GPUBufferUsage global and must still load the core (and run it on the CPU).
/** Storage usage every tensor buffer gets: kernels read/write it, copies move it. */
const storageUsage = () =>
  GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
/** Usage every pooled texture gets: kernels read or write it as storage, copies fill it. */
const textureUsage = () =>
  GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.COPY_DST | GPUTextureUsage.COPY_SRC |
  GPUTextureUsage.TEXTURE_BINDING;
/** Bytes per rgba32float texel. */
const TEXEL_BYTES = 16;
/** Dispatches in one submit before we flush; bounds the uniform arena size. */
const MAX_BATCH = 512;
/** Uniform offsets must be multiples of the adapter's alignment (256 everywhere we know). */
const UNIFORM_STRIDE = 256;

/** The scalar parameters of one dispatch: u32 fields first, then f32 fields, as in the WGSL struct. */
export interface Uniforms {
  /** Unsigned integers, in the order of the WGSL struct's first fields. */
  u?: readonly number[];
  /** Floats, in the order of the WGSL struct's fields that follow the u32 ones. */
  f?: readonly number[];
}

/** One compute dispatch. */
export interface Dispatch {
  /** Op name and shapes, shown in any error this dispatch causes. */
  label: string;
  /**
   * WGSL source; binding 0 is the uniform struct, then `inputs` (read-only), then `outputs`,
   * then `textures` (`texture_storage_2d<rgba32float, read>`), then `textureOutputs`
   * (`texture_storage_2d<rgba32float, write>`).
   */
  code: string;
  /** Buffers the kernel only reads. */
  inputs: readonly GPUBuffer[];
  /** Buffers the kernel writes (read_write storage). */
  outputs: readonly GPUBuffer[];
  /** rgba32float textures the kernel only reads (from `allocTexture`). */
  textures?: readonly GPUTexture[];
  /** rgba32float textures the kernel writes (from `allocTexture`). */
  textureOutputs?: readonly GPUTexture[];
  /** Scalar parameters. */
  uniforms?: Uniforms;
  /** Workgroup counts (x, y, z). */
  groups: readonly [number, number?, number?];
}

/** Thrown for any WebGPU validation, out-of-memory or device-lost error. */
export class GpuError extends Error {
  /** Error name shown in stack traces. */
  override name = "GpuError";
}

/** Thrown by `alloc` for one buffer larger than the device's largest storage binding. */
export class BindingSizeError extends GpuError {
  /** Error name shown in stack traces. */
  override name = "BindingSizeError";
}

/** A byte range of a buffer, for reads that gather many. */
export interface BufferRange {
  /** The buffer. */
  buffer: GPUBuffer;
  /** First byte (a multiple of 4). */
  offset: number;
  /** Bytes (a multiple of 4). */
  bytes: number;
}

/** `ADPS_TRANSFER_BYTES` from the environment (tests lower the chunk size), else undefined. */
function transferBytesFromEnv(): number | undefined {
  // Unset, no --allow-env or no Deno: the device's limits apply.
  return parseTransferBytes(envGet("ADPS_TRANSFER_BYTES"));
}

/**
 * The value of `ADPS_TRANSFER_BYTES`: bytes, an integer ≥ 4; unset or empty is undefined.
 *
 * @param v the variable's text
 * @returns the bytes, or undefined
 */
export function parseTransferBytes(v: string | undefined): number | undefined {
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  if (!(Number.isInteger(n) && n >= 4)) {
    throw new GpuError(`ADPS_TRANSFER_BYTES must be an integer ≥ 4 (bytes), got "${v}"`);
  }
  return n;
}

/**
 * Owns one GPUDevice and everything allocated on it.
 *
 * @example
 * ```ts
 * import { getGpuDevice } from "./device.ts";
 * import { Engine } from "./engine.ts";
 * const gpu = await getGpuDevice();
 * if (gpu) {
 *   const engine = new Engine(gpu.device);
 *   const buf = engine.alloc(16);
 *   engine.release(buf);
 * }
 * ```
 */
export class Engine {
  /** The device. */
  readonly device: GPUDevice;
  /** Bytes the pool may hold (live + free) before alloc throws; default 75% of maxBufferSize·4. */
  memoryBudget: number;
  /**
   * Most bytes one readback or upload moves at once: reads and writes of more (a checkpoint,
   * every weight at once) go in chunks of this. Default: the device's maxBufferSize and
   * maxStorageBufferBindingSize, whichever is smaller, or `ADPS_TRANSFER_BYTES` if lower
   * (tests run many chunks on a small network). Settable.
   */
  transferBytes: number;
  /** Bytes in buffers handed out now. */
  liveBytes = 0;
  /** Bytes in all buffers created (live or pooled). */
  pooledBytes = 0;
  /** Highest liveBytes seen. */
  peakLiveBytes = 0;
  /** Dispatches issued since the engine was made. */
  dispatchCount = 0;
  /** Submits issued since the engine was made. */
  submitCount = 0;
  /**
   * Whether kernels that have a texture variant should stage their inputs in rgba32float
   * storage textures: true on llvmpipe/lavapipe, where a texel load costs ~1/25 of a storage
   * buffer load; false on hardware GPUs, where buffers are as fast. Settable (tests run both).
   */
  preferTextures: boolean;
  /** Whether WGSL may read storage textures here (the kernels' texture paths need it). */
  readonly canReadTextures: boolean;

  readonly #free = new Map<number, GPUBuffer[]>();
  readonly #freeTextures = new Map<string, GPUTexture[]>();
  readonly #views = new WeakMap<GPUTexture, GPUTextureView>();
  readonly #pipelines = new Map<string, GPUComputePipeline>();
  readonly #layouts = new Map<string, GPUBindGroupLayout>();
  readonly #constants = new Map<string, GPUBuffer>();
  #encoder: GPUCommandEncoder | null = null;
  /** The open compute pass: consecutive dispatches share one (half the CPU cost each). */
  #pass: GPUComputePassEncoder | null = null;
  #batch = 0;
  readonly #arena: GPUBuffer;
  readonly #arenaData = new ArrayBuffer(MAX_BATCH * UNIFORM_STRIDE);
  #errors: string[] = [];
  #lost: string | null = null;

  /**
   * Creates an engine with an empty buffer pool and a uniform arena on `device`.
   *
   * @param device the device to run on
   */
  constructor(device: GPUDevice) {
    this.device = device;
    // Deno's GPU type omits wgslLanguageFeatures, which its wgpu does report.
    const gpu =
      (globalThis.navigator as unknown as { gpu?: { wgslLanguageFeatures?: ReadonlySet<string> } })
        ?.gpu;
    const features = gpu?.wgslLanguageFeatures;
    this.canReadTextures = features?.has("readonly_and_readwrite_storage_textures") ?? false;
    this.preferTextures = this.canReadTextures &&
      /llvmpipe|lavapipe/i.test(device.adapterInfo?.description ?? "");
    this.memoryBudget = Math.min(8 * 2 ** 30, device.limits.maxBufferSize * 4) * 0.75;
    this.transferBytes = Math.min(
      device.limits.maxBufferSize,
      device.limits.maxStorageBufferBindingSize,
      transferBytesFromEnv() ?? Infinity,
    );
    this.#arena = device.createBuffer({
      label: "uniform arena",
      size: MAX_BATCH * UNIFORM_STRIDE,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    device.addEventListener("uncapturederror", (e) => {
      this.#errors.push((e as GPUUncapturedErrorEvent).error.message);
    });
    device.lost.then((info) => {
      this.#lost = `${info.reason}: ${info.message}`;
    });
  }

  /** Throws if the device was lost or any earlier dispatch raised an error. */
  check(): void {
    if (this.#lost !== null) {
      throw new GpuError(
        `WebGPU device lost (${this.#lost}). Usually out of GPU memory: lower the batch size, ` +
          `or run with --backend cpu.`,
      );
    }
    if (this.#errors.length > 0) {
      const msgs = this.#errors.splice(0).join("\n---\n");
      throw new GpuError(
        `WebGPU error in a kernel (the label names the op and shapes):\n${msgs}\n` +
          `This is a bug in the package: please report it with the message above.`,
      );
    }
  }

  /**
   * The limits this device got and the transfer chunk, for logs: "max buffer 2048.0 MiB,
   * max storage binding 128.0 MiB, transfers in chunks of 128.0 MiB".
   *
   * @returns one line
   */
  limitsReport(): string {
    const l = this.device.limits;
    return `max buffer ${mib(l.maxBufferSize)} MiB, max storage binding ` +
      `${mib(l.maxStorageBufferBindingSize)} MiB, transfers in chunks of ` +
      (this.#chunkBytes() < 2 ** 20
        ? `${(this.#chunkBytes() / 1024).toFixed(1)} KiB`
        : `${mib(this.#chunkBytes())} MiB`);
  }

  /** Returns a buffer of at least `bytes` bytes from the pool (contents undefined). */
  alloc(bytes: number): GPUBuffer {
    // WebGPU panics on some zero-sized operations instead of reporting them (Deno 2.9).
    if (!(bytes > 0)) throw new GpuError(zeroSized(`buffer of ${bytes} bytes`));
    const size = bucket(bytes);
    if (size > this.device.limits.maxStorageBufferBindingSize) {
      throw new BindingSizeError(
        `A tensor of ${mib(size)} MiB exceeds this adapter's largest storage binding ` +
          `(${mib(this.device.limits.maxStorageBufferBindingSize)} MiB).`,
      );
    }
    const list = this.#free.get(size);
    const reused = list?.pop();
    this.liveBytes += size;
    this.peakLiveBytes = Math.max(this.peakLiveBytes, this.liveBytes);
    if (reused) return reused;
    if (this.pooledBytes + size > this.memoryBudget) this.trim();
    if (this.pooledBytes + size > this.memoryBudget) {
      this.liveBytes -= size;
      throw new GpuError(
        `GPU memory budget exceeded: ${mib(this.liveBytes)} MiB live, ${mib(size)} MiB more ` +
          `requested, budget ${mib(this.memoryBudget)} MiB. Lower the batch size, dispose ` +
          `tensors (use tidy()), or raise engine.memoryBudget.`,
      );
    }
    this.pooledBytes += size;
    return this.device.createBuffer({ size, usage: storageUsage() });
  }

  /**
   * A read-only table kernels share (twiddles, frequencies), uploaded the first time `key`
   * is asked for and kept for the engine's life.
   *
   * @param key names the values: the same key must always mean the same values
   * @param make computes them, called once per key
   * @returns the buffer
   */
  constant(key: string, make: () => Float32Array): GPUBuffer {
    let b = this.#constants.get(key);
    if (!b) {
      const data = make();
      b = this.alloc(Math.max(4, data.length * 4));
      this.upload(b, data);
      this.#constants.set(key, b);
    }
    return b;
  }

  /** Returns a buffer to the pool; commands already recorded that use it still see its data. */
  release(buffer: GPUBuffer): void {
    const size = buffer.size;
    this.liveBytes -= size;
    let list = this.#free.get(size);
    if (!list) this.#free.set(size, list = []);
    list.push(buffer);
  }

  /**
   * Returns a `width`×`height` rgba32float texture from the pool (contents undefined); it
   * counts against `memoryBudget` like a buffer.
   *
   * @param width texels per row (at most `device.limits.maxTextureDimension2D`)
   * @param height rows (at most `device.limits.maxTextureDimension2D`)
   * @returns a texture usable as a read or write storage texture and as a copy destination
   */
  allocTexture(width: number, height: number): GPUTexture {
    const size = width * height * TEXEL_BYTES;
    const key = `${width}x${height}`;
    const reused = this.#freeTextures.get(key)?.pop();
    this.liveBytes += size;
    this.peakLiveBytes = Math.max(this.peakLiveBytes, this.liveBytes);
    if (reused) return reused;
    if (this.pooledBytes + size > this.memoryBudget) this.trim();
    if (this.pooledBytes + size > this.memoryBudget) {
      this.liveBytes -= size;
      throw new GpuError(
        `GPU memory budget exceeded: ${mib(this.liveBytes)} MiB live, ${mib(size)} MiB more ` +
          `requested for a ${key} texture, budget ${mib(this.memoryBudget)} MiB.`,
      );
    }
    this.pooledBytes += size;
    return this.device.createTexture({
      label: `pool ${key}`,
      size: [width, height],
      format: "rgba32float",
      usage: textureUsage(),
    });
  }

  /**
   * Returns a texture to the pool; commands already recorded that use it still see its data.
   *
   * @param texture a texture from `allocTexture`
   */
  releaseTexture(texture: GPUTexture): void {
    const key = `${texture.width}x${texture.height}`;
    this.liveBytes -= texture.width * texture.height * TEXEL_BYTES;
    let list = this.#freeTextures.get(key);
    if (!list) this.#freeTextures.set(key, list = []);
    list.push(texture);
  }

  /** Destroys every pooled buffer and texture not in use. */
  trim(): void {
    this.flush();
    for (const list of this.#free.values()) {
      for (const b of list) {
        this.pooledBytes -= b.size;
        b.destroy();
      }
    }
    this.#free.clear();
    for (const list of this.#freeTextures.values()) {
      for (const t of list) {
        this.pooledBytes -= t.width * t.height * TEXEL_BYTES;
        t.destroy();
      }
    }
    this.#freeTextures.clear();
  }

  /** Records one dispatch into the current batch; nothing runs until the batch is flushed. */
  dispatch(d: Dispatch): void {
    if (this.#lost !== null) this.check();
    const texIn = d.textures ?? [];
    const texOut = d.textureOutputs ?? [];
    const pipeline = this.#pipeline(d.code, [
      d.inputs.length,
      d.outputs.length,
      texIn.length,
      texOut.length,
    ], d.label);
    const [x, y = 1, z = 1] = d.groups;
    if (!(x > 0 && y > 0 && z > 0)) {
      throw new GpuError(`${d.label}: ${zeroSized(`dispatch of ${x}×${y}×${z} workgroups`)}`);
    }
    const most = this.device.limits.maxComputeWorkgroupsPerDimension;
    // WebGPU reports this one without naming the dispatch, so catch it here.
    if (x > most || y > most || z > most) {
      throw new GpuError(
        `${d.label}: ${x}×${y}×${z} workgroups exceed this adapter's ${most} per dimension; ` +
          `this is a bug in the package's grid for these shapes: please report it.`,
      );
    }
    if (this.#batch === MAX_BATCH) this.flush();
    const offset = this.#batch * UNIFORM_STRIDE;
    packUniforms(this.#arenaData, offset, d.uniforms, d.label);
    const entries: GPUBindGroupEntry[] = [{
      binding: 0,
      resource: { buffer: this.#arena, offset, size: UNIFORM_STRIDE },
    }];
    let binding = 1;
    for (const b of d.inputs) entries.push({ binding: binding++, resource: { buffer: b } });
    for (const b of d.outputs) entries.push({ binding: binding++, resource: { buffer: b } });
    for (const t of [...texIn, ...texOut]) {
      entries.push({ binding: binding++, resource: this.#view(t) });
    }
    const bindGroup = this.device.createBindGroup({
      label: d.label,
      layout: pipeline.getBindGroupLayout(0),
      entries,
    });
    this.#encoder ??= this.device.createCommandEncoder();
    // Each dispatch is its own usage scope, so later ones in the pass see earlier writes.
    const pass = this.#pass ??= this.#encoder.beginComputePass({ label: "dispatches" });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    this.#batch++;
    this.dispatchCount++;
  }

  /** Records a buffer-to-buffer copy into the current batch. */
  copy(src: GPUBuffer, dst: GPUBuffer, bytes: number, srcOffset = 0, dstOffset = 0): void {
    this.#endPass();
    this.#encoder ??= this.device.createCommandEncoder();
    this.#encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  /**
   * Records a copy of whole texels from `src` into the top rows of `dst`: `height` rows of
   * `width` texels read at `bytesPerRow` (a multiple of 256 when height > 1) from `srcOffset`
   * (a multiple of 16).
   *
   * @param src the buffer to read
   * @param dst a texture from `allocTexture`
   * @param width texels per row copied
   * @param height rows copied, starting at texture row `dstY`
   * @param bytesPerRow bytes between rows in `src`
   * @param srcOffset byte offset of the first texel in `src`
   * @param dstY first texture row written
   */
  copyToTexture(
    src: GPUBuffer,
    dst: GPUTexture,
    width: number,
    height: number,
    bytesPerRow: number,
    srcOffset = 0,
    dstY = 0,
  ): void {
    if (width <= 0 || height <= 0) return;
    this.#endPass();
    this.#encoder ??= this.device.createCommandEncoder();
    this.#encoder.copyBufferToTexture(
      { buffer: src, offset: srcOffset, bytesPerRow },
      { texture: dst, origin: [0, dstY] },
      [width, height],
    );
  }

  /** Submits everything recorded so far (no wait). */
  flush(): void {
    if (!this.#encoder) return;
    this.#endPass();
    if (this.#batch > 0) {
      this.device.queue.writeBuffer(
        this.#arena,
        0,
        this.#arenaData,
        0,
        this.#batch * UNIFORM_STRIDE,
      );
    }
    this.device.queue.submit([this.#encoder.finish()]);
    this.#encoder = null;
    this.#batch = 0;
    this.submitCount++;
  }

  /**
   * Uploads `data` into `buffer`, ordered after every dispatch recorded so far, in writes of
   * at most `transferBytes`, each submitted before the next so the queue's staging memory
   * stays one chunk.
   */
  upload(buffer: GPUBuffer, data: Float32Array): void {
    if (data.length === 0) throw new GpuError(zeroSized("upload"));
    this.flush();
    const chunk = this.#chunkBytes() / 4;
    for (let at = 0; at < data.length; at += chunk) {
      const n = Math.min(chunk, data.length - at);
      this.device.queue.writeBuffer(buffer, at * 4, data as Float32Array<ArrayBuffer>, at, n);
      if (at + n < data.length) this.device.queue.submit([]);
    }
  }

  /** Reads `bytes` bytes of `buffer` back to the CPU: one GPU round-trip (~11 ms on lavapipe). */
  async read(buffer: GPUBuffer, bytes: number): Promise<Float32Array> {
    if (!(bytes > 0)) throw new GpuError(zeroSized(`read of ${bytes} bytes`));
    return await this.readRanges([{ buffer, offset: 0, bytes }]);
  }

  /**
   * Reads many buffer ranges back into one array, in order, through staging buffers of at
   * most `transferBytes` each (one GPU round-trip per chunk; a range may span chunks), so no
   * buffer is ever larger than the device allows, whatever the total.
   *
   * @param ranges what to read, in output order
   * @returns the concatenated values
   */
  async readRanges(ranges: readonly BufferRange[]): Promise<Float32Array> {
    const parts = ranges.filter((r) => r.bytes > 0);
    const total = parts.reduce((s, r) => s + r.bytes, 0);
    const out = new Float32Array(total / 4);
    let part = 0;
    let within = 0;
    for (let at = 0; at < total;) {
      const size = Math.min(this.#chunkBytes(), total - at);
      const staging = this.device.createBuffer({
        size,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
      try {
        for (let filled = 0; filled < size;) {
          const r = parts[part];
          const n = Math.min(r.bytes - within, size - filled);
          this.copy(r.buffer, staging, n, r.offset + within, filled);
          filled += n;
          within += n;
          if (within === r.bytes) [part, within] = [part + 1, 0];
        }
        this.flush();
        try {
          await staging.mapAsync(GPUMapMode.READ);
        } catch (e) {
          this.check();
          throw e;
        }
        out.set(new Float32Array(staging.getMappedRange()), at / 4);
        staging.unmap();
      } finally {
        staging.destroy();
      }
      at += size;
    }
    this.check();
    return out;
  }

  /** `transferBytes` as a usable size: a multiple of 4, at least 4. */
  #chunkBytes(): number {
    return Math.max(4, Math.floor(this.transferBytes / 4) * 4);
  }

  /** Waits until the GPU has finished all submitted work, then reports any error. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.check();
  }

  /** Copies are recorded on the encoder, outside any pass. */
  #endPass(): void {
    this.#pass?.end();
    this.#pass = null;
  }

  #view(texture: GPUTexture): GPUTextureView {
    let v = this.#views.get(texture);
    if (!v) this.#views.set(texture, v = texture.createView());
    return v;
  }

  /** `counts`: buffer inputs, buffer outputs, texture inputs, texture outputs. */
  #pipeline(code: string, counts: readonly number[], label: string): GPUComputePipeline {
    let p = this.#pipelines.get(code);
    if (p) return p;
    const module = this.device.createShaderModule({ label, code });
    p = this.device.createComputePipeline({
      label,
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [this.#layout(counts)] }),
      compute: { module, entryPoint: "main" },
    });
    this.#pipelines.set(code, p);
    return p;
  }

  #layout(counts: readonly number[]): GPUBindGroupLayout {
    const [nIn, nOut, nTex, nTexOut] = counts;
    const key = counts.join("/");
    let l = this.#layouts.get(key);
    if (l) return l;
    const entries: GPUBindGroupLayoutEntry[] = [{
      binding: 0,
      visibility: GPUShaderStage.COMPUTE,
      buffer: { type: "uniform" },
    }];
    for (let i = 0; i < nIn + nOut; i++) {
      entries.push({
        binding: i + 1,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: i < nIn ? "read-only-storage" : "storage" },
      });
    }
    for (let i = 0; i < nTex + nTexOut; i++) {
      entries.push({
        binding: nIn + nOut + i + 1,
        visibility: GPUShaderStage.COMPUTE,
        storageTexture: {
          access: i < nTex ? "read-only" : "write-only",
          format: "rgba32float",
          viewDimension: "2d",
        },
      });
    }
    l = this.device.createBindGroupLayout({ entries });
    this.#layouts.set(key, l);
    return l;
  }
}

/** Rounds a request up to a pool size class (powers of two and halfway steps) to raise reuse. */
function bucket(bytes: number): number {
  const b = Math.max(16, Math.ceil(bytes / 16) * 16);
  if (b <= 4096) return b;
  const p = 2 ** Math.floor(Math.log2(b));
  if (b === p) return b;
  return b <= p * 1.5 ? p * 1.5 : p * 2;
}

function packUniforms(arena: ArrayBuffer, offset: number, u: Uniforms | undefined, label: string) {
  const n = (u?.u?.length ?? 0) + (u?.f?.length ?? 0);
  if (n * 4 > UNIFORM_STRIDE) throw new GpuError(`${label}: too many uniforms (${n})`);
  const view = new DataView(arena, offset, UNIFORM_STRIDE);
  let at = 0;
  for (const v of u?.u ?? []) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
      throw new GpuError(`${label}: uniform ${v} is not a u32`);
    }
    view.setUint32(at, v, true);
    at += 4;
  }
  for (const v of u?.f ?? []) {
    view.setFloat32(at, v, true);
    at += 4;
  }
}

/** The message for an empty work item: a caller let a zero dimension through. */
function zeroSized(what: string): string {
  return `zero-sized ${what}: a tensor with a zero dimension reached the GPU; every size ` +
    `must be ≥ 1 (check the shapes or the flags given)`;
}

function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1);
}
