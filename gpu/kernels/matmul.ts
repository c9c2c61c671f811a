/**
 * The batched matmul kernel with register tiling: each invocation accumulates a 4×4 block
 * of C over the whole K loop, so every value loaded from A or B feeds four multiply-adds.
 * Operands are read through strides, so transposed operands are never materialised.
 * Where `engine.preferTextures` is set (llvmpipe/lavapipe), the operands fit and the work pays
 * for any padding, the product runs through rgba32float textures instead (matmul_texture.ts).
 *
 * @module
 */
import type { MatmulLayout } from "../../src/layout/matmul_layout.ts";
import type { Engine } from "../engine.ts";
import { matmulTexture, matmulTextureFits, matmulTexturePays } from "./lavapipe/matmul_texture.ts";

/** Outputs per invocation along each of m and n. */
const T = 4;
/** Workgroup is 8×8 invocations (x along n, a multiple of 8 for llvmpipe's SIMD lanes). */
const WG = 8;
/** Rows and columns of C covered by one workgroup. */
const BLOCK = T * WG;
/** Most workgroups along z (the batch) in one dispatch. */
const MAX_Z = 65535;

function source(): string {
  const ids = [...Array(T).keys()];
  const lines: string[] = [];
  // Invocation (x, y) owns rows m0 + 8i and columns n0 + 8j: neighbouring lanes read
  // neighbouring columns of B. Rows and columns past the edge read a clamped (valid)
  // index and are never stored, which keeps the K loop free of branches.
  for (const i of ids) {
    lines.push(`let ra${i} = aBase + min(m0 + ${i * WG}u, p.M - 1u) * p.sam;`);
  }
  for (const j of ids) {
    lines.push(`let cb${j} = bBase + min(n0 + ${j * WG}u, p.N - 1u) * p.sbn;`);
  }
  for (const i of ids) for (const j of ids) lines.push(`var c${i}${j} = 0.0;`);
  const body: string[] = ["let ka = k * p.sak;", "let kb = k * p.sbk;"];
  for (const i of ids) body.push(`let a${i} = a[ra${i} + ka];`);
  for (const j of ids) body.push(`let b${j} = b[cb${j} + kb];`);
  for (const i of ids) for (const j of ids) body.push(`c${i}${j} += a${i} * b${j};`);
  const stores: string[] = [];
  for (const i of ids) {
    const inner = ids.map((j) =>
      `if (n0 + ${j * WG}u < p.N) { c[o${i} + n0 + ${j * WG}u] = c${i}${j}; }`
    );
    stores.push(
      `if (m0 + ${i * WG}u < p.M) {\n    let o${i} = cBase + (m0 + ${i * WG}u) * p.N;\n    ${
        inner.join("\n    ")
      }\n  }`,
    );
  }
  return /* wgsl */ `
struct P { M: u32, N: u32, K: u32, z0: u32, sab: u32, sam: u32, sak: u32, sbb: u32, sbk: u32, sbn: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@compute @workgroup_size(${WG}, ${WG})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let t = p.z0 + wg.z;
  let n0 = wg.x * ${BLOCK}u + lid.x;
  let m0 = wg.y * ${BLOCK}u + lid.y;
  let aBase = t * p.sab;
  let bBase = t * p.sbb;
  let cBase = t * p.M * p.N;
  ${lines.join("\n  ")}
  for (var k = 0u; k < p.K; k++) {
    ${body.join("\n    ")}
  }
  ${stores.join("\n  ")}
}`;
}

const CODE = source();

/**
 * Records C[b] = op(A)[b] · op(B)[b] into `c` (contiguous [batch, M, N]).
 *
 * @param engine the engine
 * @param label op name and shapes, for errors
 * @param a buffer of A
 * @param b buffer of B
 * @param c output buffer
 * @param l sizes and strides
 */
export function matmulGpu(
  engine: Engine,
  label: string,
  a: GPUBuffer,
  b: GPUBuffer,
  c: GPUBuffer,
  l: MatmulLayout,
): void {
  if (engine.preferTextures && matmulTexturePays(l) && matmulTextureFits(engine, l)) {
    matmulTexture(engine, label, a, b, c, l);
    return;
  }
  const gx = Math.ceil(l.N / BLOCK);
  const gy = Math.ceil(l.M / BLOCK);
  for (let z0 = 0; z0 < l.batch; z0 += MAX_Z) {
    engine.dispatch({
      label,
      code: CODE,
      inputs: [a, b],
      outputs: [c],
      uniforms: { u: [l.M, l.N, l.K, z0, l.sab, l.sam, l.sak, l.sbb, l.sbk, l.sbn] },
      groups: [gx, gy, Math.min(MAX_Z, l.batch - z0)],
    });
  }
}
