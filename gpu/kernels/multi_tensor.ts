/**
 * Kernels over many tensors per dispatch (the optimiser's hundreds of parameters): each
 * tensor is split into chunks of `chunk` elements, invocation i takes chunk u of tensor j,
 * found by an unrolled compare chain over the tensors' first chunks, and loops the op's body
 * over the chunk's elements on the buffers of tensor j (a chunk per invocation, not an
 * element: the compare chain and the branch to tensor j's code cost more than a small body).
 * One dispatch per group of as many tensors as the adapter's storage bindings allow, instead
 * of one or two per tensor.
 *
 * @module
 */
import type { Engine } from "../engine.ts";
import { groups1d, INDEX } from "./common.ts";

/** What a multi-tensor kernel reads, writes and does. */
export interface MultiTensorOp {
  /** Cache key of the op (its WGSL differs only by the tensors per dispatch). */
  key: string;
  /** Per-tensor read-only buffers, named `${name}${j}` in the body. */
  reads: readonly string[];
  /** Per-tensor read-write buffers, named `${name}${j}` in the body. */
  writes: readonly string[];
  /** Read-only buffers shared by all tensors (bound after the per-tensor ones). */
  sharedReads?: readonly string[];
  /** Read-write buffers shared by all tensors. */
  sharedWrites?: readonly string[];
  /** f32 uniform fields `p.${name}`. */
  floats?: readonly string[];
  /** Elements per chunk (per invocation). */
  chunk: number;
  /** WGSL before the chunk's loop (e.g. an accumulator). */
  before?: string;
  /** WGSL for element k of tensor j, its buffers `${name}${j}`. */
  each: (j: number) => string;
  /** WGSL after the loop; `g = p.base + i` is the chunk's index over all tensors of the call. */
  after?: string;
}

/** One tensor of a multi-tensor call. */
export interface MultiTensorArgs {
  /** Its `reads` then its `writes` buffers, in the op's order. */
  buffers: readonly GPUBuffer[];
  /** Length in floats. */
  length: number;
}

/**
 * Chunks of `op` over tensors of these lengths: chunk g of the call (`g` in the op's WGSL)
 * is chunk g of this list's concatenation.
 *
 * @param op the op
 * @param lengths the tensors' lengths
 * @returns the number of chunks
 */
export function multiTensorChunks(op: MultiTensorOp, lengths: readonly number[]): number {
  return lengths.reduce((a, n) => a + Math.ceil(n / op.chunk), 0);
}

const codes = new Map<string, string>();

/** Tensors per dispatch at most (the uniform struct holds two fields per tensor). */
const MAX_TENSORS = 16;

function source(op: MultiTensorOp, n: number): string {
  const fields = ["count: u32", "base: u32"];
  for (let j = 0; j < n; j++) fields.push(`first${j}: u32`, `len${j}: u32`);
  for (const f of op.floats ?? []) fields.push(`${f}: f32`);
  const names = [
    ...op.reads.flatMap((r) => Array.from({ length: n }, (_, j) => [`${r}${j}`, "read"])),
    ...(op.sharedReads ?? []).map((r) => [r, "read"]),
    ...op.writes.flatMap((w) => Array.from({ length: n }, (_, j) => [`${w}${j}`, "read_write"])),
    ...(op.sharedWrites ?? []).map((w) => [w, "read_write"]),
  ];
  const bindings = names.map(([name, access], b) =>
    `@group(0) @binding(${b + 1}) var<storage, ${access}> ${name}: array<f32>;`
  );
  // Chunks are in tensor order: chunk i is tensor j's for the last j whose first chunk is ≤ i.
  const pick = Array.from(
    { length: n - 1 },
    (_, j) => `if (i >= p.first${j + 1}) { j = ${j + 1}u; }`,
  );
  const bodies = Array.from(
    { length: n },
    (_, j) =>
      `if (j == ${j}u) { let a = (i - p.first${j}) * ${op.chunk}u; ` +
      `for (var k = a; k < min(a + ${op.chunk}u, p.len${j}); k++) { ${op.each(j)} } }`,
  );
  return /* wgsl */ `
struct P { ${fields.join(", ")} }
@group(0) @binding(0) var<uniform> p: P;
${bindings.join("\n")}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i >= p.count) { return; }
  let g = p.base + i;
  var j = 0u;
  ${pick.join("\n  ")}
  ${op.before ?? ""}
  ${bodies.join("\n  ")}
  ${op.after ?? ""}
}`;
}

/**
 * Records `op` over `tensors`, as few dispatches as the adapter's storage bindings allow.
 *
 * @param engine the engine
 * @param op the op
 * @param tensors the tensors, each with its buffers and length
 * @param shared the shared read and read-write buffers, in the op's order
 * @param floats values of the op's f32 uniforms
 */
export function multiTensorGpu(
  engine: Engine,
  op: MultiTensorOp,
  tensors: readonly MultiTensorArgs[],
  shared: { reads?: readonly GPUBuffer[]; writes?: readonly GPUBuffer[] } = {},
  floats: readonly number[] = [],
): void {
  const nShared = (op.sharedReads?.length ?? 0) + (op.sharedWrites?.length ?? 0);
  const perTensor = op.reads.length + op.writes.length;
  const limit = engine.device.limits.maxStorageBuffersPerShaderStage;
  const per = Math.min(MAX_TENSORS, Math.floor((limit - nShared) / perTensor));
  let base = 0;
  for (let t0 = 0; t0 < tensors.length; t0 += per) {
    const group = tensors.slice(t0, t0 + per);
    const key = `${op.key}/${op.chunk}/${group.length}`;
    let code = codes.get(key);
    if (!code) codes.set(key, code = source(op, group.length));
    const u = [0, base];
    let first = 0;
    for (const t of group) {
      u.push(first, t.length);
      first += Math.ceil(t.length / op.chunk);
    }
    u[0] = first;
    base += first;
    if (first === 0) continue;
    const nr = op.reads.length;
    // Buffer k of every tensor in the group (the WGSL binds them buffer by buffer).
    const column = (k: number) => group.map((t) => t.buffers[k]);
    engine.dispatch({
      label: `${op.key} over ${group.length} tensors (${first} chunks)`,
      code,
      inputs: [...op.reads.flatMap((_, k) => column(k)), ...(shared.reads ?? [])],
      outputs: [...op.writes.flatMap((_, k) => column(nr + k)), ...(shared.writes ?? [])],
      uniforms: { u, f: [...floats] },
      groups: groups1d(first),
    });
  }
}
