/**
 * The reduction kernel: each invocation sums one chunk of one output's reduced elements;
 * long reductions with few outputs run in two passes (chunks, then the partial sums). Where
 * the innermost reduced dimension is contiguous with an extent that is a multiple of 4 (and
 * every offset is a multiple of 4), the loop reads vec4s into four running sums: a quarter of
 * the index arithmetic (integer division is scalar on llvmpipe) and of the buffer loads.
 *
 * @module
 */
import type { ReducePlan } from "../../src/layout/reduce_plan.ts";
import type { Engine } from "../engine.ts";
import { groups1d, INDEX } from "./common.ts";

/** Reduced elements per invocation when a reduction is split into chunks. */
const CHUNK = 1024;

const codes = new Map<string, string>();

function decompose(prefix: string, n: number, idx: string): string {
  const lines = [`var ${prefix}r = ${idx}; var ${prefix}off = 0u;`];
  for (let k = n - 1; k >= 0; k--) {
    lines.push(
      `${prefix}off += (${prefix}r % p.${prefix}d${k}) * p.${prefix}s${k}; ${prefix}r = ${prefix}r / p.${prefix}d${k};`,
    );
  }
  return lines.join("\n  ");
}

function source(nk: number, nr: number, square: boolean, vec: boolean): string {
  const f = ["total: u32", "chunks: u32", "chunk: u32", "redCount: u32"];
  for (let k = 0; k < nk; k++) f.push(`kd${k}: u32`, `ks${k}: u32`);
  for (let k = 0; k < nr; k++) f.push(`rd${k}: u32`, `rs${k}: u32`);
  return /* wgsl */ `
struct P { ${f.join(", ")} }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<${vec ? "vec4<f32>" : "f32"}>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i >= p.total) { return; }
  let o = i / p.chunks;
  let c = i % p.chunks;
  ${decompose("k", nk, "o")}
  let r0 = c * p.chunk;
  let r1 = min(r0 + p.chunk, p.redCount);
  ${vec ? vecLoop(nr, square) : scalarLoop(nr, square)}
}`;
}

function scalarLoop(nr: number, square: boolean): string {
  return `var acc = 0.0;
  for (var t = r0; t < r1; t++) {
    ${decompose("r", nr, "t")}
    let v = x[koff + roff];
    acc += ${square ? "v * v" : "v"};
  }
  out[i] = acc;`;
}

/** r0, r1 and every offset are multiples of 4 here (checked by `vecOk`). */
function vecLoop(nr: number, square: boolean): string {
  return `var acc = vec4<f32>(0.0);
  for (var t = r0; t < r1; t += 4u) {
    ${decompose("r", nr, "t")}
    let v = x[(koff + roff) / 4u];
    acc += ${square ? "v * v" : "v"};
  }
  out[i] = (acc.x + acc.y) + (acc.z + acc.w);`;
}

/** Whether `plan`, split into chunks of `chunk`, can read vec4s (see `vecLoop`). */
function vecOk(plan: ReducePlan, chunk: number): boolean {
  const nr = plan.red.length;
  return nr > 0 && plan.redStrides[nr - 1] === 1 && plan.red[nr - 1] % 4 === 0 &&
    chunk % 4 === 0 && plan.keepStrides.every((s) => s % 4 === 0) &&
    plan.redStrides.every((s, k) => k === nr - 1 || s % 4 === 0);
}

function pass(
  engine: Engine,
  label: string,
  x: GPUBuffer,
  plan: ReducePlan,
  square: boolean,
  chunks: number,
  out: GPUBuffer,
) {
  let chunk = Math.ceil(plan.redCount / chunks);
  // A chunk rounded up to whole vec4s leaves at most the last chunks short or empty.
  if (vecOk(plan, Math.ceil(chunk / 4) * 4)) chunk = Math.ceil(chunk / 4) * 4;
  const vec = vecOk(plan, chunk);
  const key = `${plan.keep.length}/${plan.red.length}/${square}/${vec}`;
  let code = codes.get(key);
  if (!code) codes.set(key, code = source(plan.keep.length, plan.red.length, square, vec));
  const total = plan.outCount * chunks;
  const u = [total, chunks, chunk, plan.redCount];
  plan.keep.forEach((d, k) => u.push(d, plan.keepStrides[k]));
  plan.red.forEach((d, k) => u.push(d, plan.redStrides[k]));
  engine.dispatch({
    label: `${label} keep=[${plan.keep}] reduce=[${plan.red}]`,
    code,
    inputs: [x],
    outputs: [out],
    uniforms: { u },
    groups: groups1d(total),
  });
}

/**
 * Records out[o] = Σ pre(x) over the plan's reduced elements.
 *
 * @param engine the engine
 * @param label op name for errors
 * @param x input buffer
 * @param plan the reduction layout
 * @param square sum of squares instead of sum
 * @param out output buffer (plan.outCount floats)
 */
export function reduceGpu(
  engine: Engine,
  label: string,
  x: GPUBuffer,
  plan: ReducePlan,
  square: boolean,
  out: GPUBuffer,
): void {
  const chunks = plan.outCount < 4096 ? Math.ceil(plan.redCount / CHUNK) : 1;
  if (chunks <= 1) return pass(engine, label, x, plan, square, 1, out);
  const partial = engine.alloc(plan.outCount * chunks * 4);
  pass(engine, label, x, plan, square, chunks, partial);
  const second: ReducePlan = {
    keep: [plan.outCount],
    keepStrides: [chunks],
    red: [chunks],
    redStrides: [1],
    outCount: plan.outCount,
    redCount: chunks,
  };
  pass(engine, `${label} (partials)`, partial, second, false, 1, out);
  engine.release(partial);
}

/**
 * Records out[j] = Σ_c partials[c · count + j]: sums `chunks` consecutive blocks of `count`
 * partial results (the chunk partials of a kernel that splits its work into chunks).
 *
 * @param engine the engine
 * @param label op name for errors
 * @param partials chunks · count floats, chunk-major
 * @param chunks how many blocks
 * @param count floats per block
 * @param out output buffer (count floats)
 */
export function sumChunksGpu(
  engine: Engine,
  label: string,
  partials: GPUBuffer,
  chunks: number,
  count: number,
  out: GPUBuffer,
): void {
  const plan: ReducePlan = {
    keep: [count],
    keepStrides: [1],
    red: [chunks],
    redStrides: [count],
    outCount: count,
    redCount: chunks,
  };
  reduceGpu(engine, `${label} (chunk sums)`, partials, plan, false, out);
}
