/**
 * The broadcasting elementwise kernel: one expression (shared with the CPU twin) over up
 * to four inputs, each read at its own broadcast strides. Where the innermost dimension is a
 * multiple of 4 and every input is either contiguous or constant along it, each invocation
 * takes 4 outputs with vec4 loads and one vec4 store (llvmpipe pays per buffer access, not
 * per byte).
 *
 * @module
 */
import type { Engine } from "../engine.ts";
import { groups1d, INDEX } from "./common.ts";

const codes = new Map<string, string>();

/**
 * WGSL of the kernel; `vec` (one flag per input: contiguous along the innermost dimension)
 * selects the 4-outputs-per-invocation variant, null the scalar one.
 */
function source(
  expr: string,
  names: readonly string[],
  D: number,
  vec: readonly boolean[] | null,
): string {
  const fields = ["n: u32"];
  for (let k = 1; k < D; k++) fields.push(`d${k}: u32`);
  names.forEach((_, j) => {
    for (let k = 0; k < D; k++) fields.push(`s${j}_${k}: u32`);
  });
  fields.push("p0: f32", "p1: f32");
  const bindings = names.map((_, j) =>
    `@group(0) @binding(${j + 1}) var<storage, read> in${j}: array<${
      vec?.[j] ? "vec4<f32>" : "f32"
    }>;`
  );
  const decompose: string[] = [];
  for (let k = D - 1; k >= 1; k--) {
    decompose.push(`let c${k} = r % p.d${k}; r = r / p.d${k};`);
  }
  if (D > 0) decompose.push("let c0 = r;");
  const offset = (j: number) =>
    D === 0 ? "0u" : Array.from({ length: D }, (_, k) => `c${k} * p.s${j}_${k}`).join(" + ");
  if (vec) return vecSource(expr, names, fields, bindings, decompose, offset, vec);
  const loads = names.map((nm, j) => `let ${nm} = in${j}[${offset(j)}];`);
  return /* wgsl */ `
struct P { ${fields.join(", ")} }
@group(0) @binding(0) var<uniform> p: P;
${bindings.join("\n")}
@group(0) @binding(${names.length + 1}) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i >= p.n) { return; }
  var r = i;
  ${decompose.join("\n  ")}
  ${loads.join("\n  ")}
  let p0 = p.p0; let p1 = p.p1;
  out[i] = ${expr};
}`;
}

/** The vec4 variant: invocation i computes outputs 4i … 4i + 3 (`p.n` a multiple of 4). */
function vecSource(
  expr: string,
  names: readonly string[],
  fields: readonly string[],
  bindings: readonly string[],
  decompose: readonly string[],
  offset: (j: number) => string,
  vec: readonly boolean[],
): string {
  // Contiguous inputs load the vec4 at offset/4 (offsets are multiples of 4, checked on the
  // host); inputs constant along the innermost dimension load one float for all 4 lanes.
  const loads = names.map((_, j) =>
    vec[j] ? `let v${j} = in${j}[(${offset(j)}) / 4u];` : `let v${j} = in${j}[${offset(j)}];`
  );
  const lanes = ["x", "y", "z", "w"].map((c) => {
    const lets = names.map((nm, j) => `let ${nm} = v${j}${vec[j] ? `.${c}` : ""};`);
    return `{ ${lets.join(" ")} o.${c} = ${expr}; }`;
  });
  return /* wgsl */ `
struct P { ${fields.join(", ")} }
@group(0) @binding(0) var<uniform> p: P;
${bindings.join("\n")}
@group(0) @binding(${names.length + 1}) var<storage, read_write> out: array<vec4<f32>>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i * 4u >= p.n) { return; }
  var r = i * 4u;
  ${decompose.join("\n  ")}
  ${loads.join("\n  ")}
  let p0 = p.p0; let p1 = p.p1;
  var o: vec4<f32>;
  ${lanes.join("\n  ")}
  out[i] = o;
}`;
}

/**
 * Per input, whether it is contiguous along the innermost dimension, if the vec4 variant
 * applies (innermost extent a multiple of 4; every input contiguous or constant along it, the
 * contiguous ones at offsets that are multiples of 4); else null.
 */
function vecLayout(
  shape: readonly number[],
  strides: readonly (readonly number[])[],
): boolean[] | null {
  const D = shape.length;
  if (D === 0 || shape[D - 1] % 4 !== 0) return null;
  const vec: boolean[] = [];
  for (const s of strides) {
    const inner = s[D - 1];
    if (inner === 1 && s.every((v, k) => k === D - 1 || v % 4 === 0)) vec.push(true);
    else if (inner === 0) vec.push(false);
    else return null;
  }
  return vec;
}

/**
 * Records out[i] = expr(inputs…) over the coalesced `shape`.
 *
 * @param engine the engine
 * @param label op name for errors
 * @param expr expression over `names`, `p0`, `p1`
 * @param names input names
 * @param inputs input buffers
 * @param shape coalesced iteration shape (at most 6 dims)
 * @param strides per input, per dimension
 * @param out output buffer
 * @param params p0, p1
 */
export function mapGpu(
  engine: Engine,
  label: string,
  expr: string,
  names: readonly string[],
  inputs: readonly GPUBuffer[],
  shape: readonly number[],
  strides: readonly (readonly number[])[],
  out: GPUBuffer,
  params: readonly number[],
): void {
  const D = shape.length;
  const vec = vecLayout(shape, strides);
  const key = `${D}|${vec ?? "scalar"}|${names.join(",")}|${expr}`;
  let code = codes.get(key);
  if (!code) codes.set(key, code = source(expr, names, D, vec));
  const n = shape.reduce((a, b) => a * b, 1);
  const u = [n, ...shape.slice(1)];
  for (const s of strides) u.push(...s);
  engine.dispatch({
    label: `${label} [${shape}]`,
    code,
    inputs,
    outputs: [out],
    uniforms: { u, f: [params[0] ?? 0, params[1] ?? 0] },
    groups: groups1d(vec ? n / 4 : n),
  });
}
