/**
 * The broadcasting elementwise kernel: one expression (shared with the CPU twin) over up
 * to four inputs, each read at its own broadcast strides.
 *
 * @module
 */
import type { Engine } from "../engine.ts";
import { groups1d, INDEX } from "./common.ts";

const codes = new Map<string, string>();

function source(expr: string, names: readonly string[], D: number): string {
  const fields = ["n: u32"];
  for (let k = 1; k < D; k++) fields.push(`d${k}: u32`);
  names.forEach((_, j) => {
    for (let k = 0; k < D; k++) fields.push(`s${j}_${k}: u32`);
  });
  fields.push("p0: f32", "p1: f32");
  const bindings = names.map((_, j) =>
    `@group(0) @binding(${j + 1}) var<storage, read> in${j}: array<f32>;`
  );
  const decompose: string[] = [];
  for (let k = D - 1; k >= 1; k--) {
    decompose.push(`let c${k} = r % p.d${k}; r = r / p.d${k};`);
  }
  if (D > 0) decompose.push("let c0 = r;");
  const loads = names.map((nm, j) => {
    const off = D === 0
      ? "0u"
      : Array.from({ length: D }, (_, k) => `c${k} * p.s${j}_${k}`).join(" + ");
    return `let ${nm} = in${j}[${off}];`;
  });
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
  const key = `${D}|${names.join(",")}|${expr}`;
  let code = codes.get(key);
  if (!code) codes.set(key, code = source(expr, names, D));
  const n = shape.reduce((a, b) => a * b, 1);
  const u = [n, ...shape.slice(1)];
  for (const s of strides) u.push(...s);
  engine.dispatch({
    label: `${label} [${shape}]`,
    code,
    inputs,
    outputs: [out],
    uniforms: { u, f: [params[0] ?? 0, params[1] ?? 0] },
    groups: groups1d(n),
  });
}
