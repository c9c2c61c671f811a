/**
 * The Winograd F(4×4, 3×3) convolution measured against the direct texture gather, forward
 * only (the input gradient is the same computation with transformed weights): the question
 * behind docs/perf-notes.md "Winograd F(4×4, 3×3), measured". Not used by the package, which
 * keeps the direct kernels; this script keeps the measurement reproducible.
 *
 * The pipeline, per call: x copied into a raw texture; an input transform writes
 * V[ξ][t][ci] = (Bᵀ d B)ξ for each 6×6 patch d (4 channels per invocation, vec4 stores); the
 * texture matmul forms M[ξ] = V[ξ] · U[ξ] for the 36 points ξ (U = G g Gᵀ, transformed on the
 * CPU here, outside the timing); M is copied into a raw texture and an output transform writes
 * y = Aᵀ M A + bias per 4×4 tile. Needs H, W multiples of 4 and channels multiples of 4.
 *
 * `deno run -A scripts/bench_winograd.ts [--rounds 5] [--tile 16x8]
 * [--shapes 16-64-64-32,32-32-32-32]` (N-Cin-Cout-H).
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { gpuBuffer } from "../gpu/backend.ts";
import { groups1d, INDEX } from "../gpu/kernels/common.ts";
import { conv2dGpu } from "../gpu/kernels/conv2d.ts";
import { matmulTexture } from "../gpu/kernels/matmul_texture.ts";
import { stageRaw } from "../gpu/kernels/texture_stage.ts";
import { webgpuBackend } from "../src/backends.ts";
import { planMatmul } from "../src/matmul_layout.ts";
import { Rng } from "../src/rng.ts";

const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    tile: { type: "string", default: "16x8" },
    shapes: {
      type: "string",
      default: "16-64-64-32,16-128-128-16,32-32-32-32,32-64-64-16,32-64-64-8",
    },
  },
});

/** F(4, 3) with the points 0, ±1, ±2, ∞ (Lavin & Gray): input, filter and output transforms. */
const BT = [
  [4, 0, -5, 0, 1, 0],
  [0, -4, -4, 1, 1, 0],
  [0, 4, -4, -1, 1, 0],
  [0, -2, -1, 2, 1, 0],
  [0, 2, -1, -2, 1, 0],
  [0, 4, 0, -5, 0, 1],
];
const G = [
  [1 / 4, 0, 0],
  [-1 / 6, -1 / 6, -1 / 6],
  [-1 / 6, 1 / 6, -1 / 6],
  [1 / 24, 1 / 12, 1 / 6],
  [1 / 24, -1 / 12, 1 / 6],
  [0, 0, 1],
];
const AT = [
  [1, 1, 1, 1, 1, 0],
  [0, 1, -1, 2, -2, 0],
  [0, 1, 1, 4, 4, 0],
  [0, 1, -1, 8, -8, 1],
];

/** WGSL for Σ c[i]·terms[i], zero coefficients dropped, ±1 as adds and subtractions. */
function combination(c: number[], terms: string[]): string {
  const parts = c.flatMap((v, i) =>
    v === 0 ? [] : [v === 1 ? `+ ${terms[i]}` : v === -1 ? `- ${terms[i]}` : `+ ${v} * ${terms[i]}`]
  );
  const e = parts.join(" ");
  return e.startsWith("+ ") ? e.slice(2) : `-${e.slice(2)}`;
}

/** WGSL lets `${name}${i}_${j}` = (L · in · Rᵀ)[i][j], by rows then columns. */
function sandwich(
  L: number[][],
  R: number[][],
  at: (r: number, c: number) => string,
  name: string,
) {
  const lines: string[] = [];
  for (let i = 0; i < L.length; i++) {
    for (let c = 0; c < R[0].length; c++) {
      lines.push(`let ${name}t${i}_${c} = ${combination(L[i], L[i].map((_, r) => at(r, c)))};`);
    }
  }
  for (let i = 0; i < L.length; i++) {
    for (let j = 0; j < R.length; j++) {
      const row = R[j].map((_, c) => `${name}t${i}_${c}`);
      lines.push(`let ${name}${i}_${j} = ${combination(R[j], row)};`);
    }
  }
  return lines.join("\n  ");
}

/** Integer quotient through a float division (vectorised, where u32 `/` is scalar): a < 2²². */
const FDIV = "fn fdiv(a: u32, b: u32) -> u32 { return u32((f32(a) + 0.5) / f32(b)); }";

/** Tile t's index → image n and tile row/column, for the uniform fields th, tw. */
const TILE_OF = `
  let tiles = p.th * p.tw;
  let n = fdiv(t, tiles);
  let j = t - n * tiles;
  let ty = fdiv(j, p.tw);
  let tx = j - ty * p.tw;`;

/** V[ξ][t][ci] as vec4 over ci; invocation i = t · C/4 + ci/4. */
const INPUT = /* wgsl */ `
struct P { C4: u32, H: u32, W: u32, th: u32, tw: u32, T: u32, rawShift: u32, count: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> v: array<vec4f>;
@group(0) @binding(2) var rawTex: texture_storage_2d<rgba32float, read>;
${FDIV}
fn tex(t: i32) -> vec4f {
  let m = (1u << p.rawShift) - 1u;
  return textureLoad(rawTex, vec2u(u32(t) & m, u32(t) >> p.rawShift));
}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i >= p.count) { return; }
  let t = fdiv(i, p.C4);
  let cq = i - t * p.C4;
  ${TILE_OF}
  let W4 = i32(p.W / 4u);
  let plane = i32(p.H) * W4;
  let img0 = i32((n * p.C4 + cq) * 4u) * plane + i32(tx);
  ${
  Array.from({ length: 6 }, (_, r) =>
    `let y${r} = i32(ty * 4u) + ${r - 1};
  let ok${r} = y${r} >= 0 && y${r} < i32(p.H);
  let o${r} = clamp(y${r}, 0, i32(p.H) - 1) * W4;`).join("\n  ")
}
  ${
  Array.from({ length: 4 }, (_, c) =>
    Array.from({ length: 6 }, (_, r) =>
      `let b${c}_${r} = img0 + ${c} * plane + o${r};
  let m${c}_${r} = select(vec4f(0.0), tex(b${c}_${r}), ok${r});
  let l${c}_${r} = select(0.0, tex(b${c}_${r} - 1).w, ok${r} && tx > 0u);
  let r${c}_${r} = select(0.0, tex(b${c}_${r} + 1).x, ok${r} && tx + 1u < p.tw);`).join("\n  "))
    .join("\n  ")
}
  ${
  Array.from({ length: 6 }, (_, r) => {
    const ch = (e: (c: number) => string) => `vec4f(${[0, 1, 2, 3].map(e).join(", ")})`;
    const cols = [0, 1, 2, 3].map((x) => `let M${r}_${x} = ${ch((c) => `m${c}_${r}[${x}]`)};`);
    return [
      `let L${r} = ${ch((c) => `l${c}_${r}`)};`,
      `let R${r} = ${ch((c) => `r${c}_${r}`)};`,
      ...cols,
    ].join("\n  ");
  }).join("\n  ")
}
  ${sandwich(BT, BT, (r, c) => c === 0 ? `L${r}` : c === 5 ? `R${r}` : `M${r}_${c - 1}`, "d")}
  let s = p.T * p.C4;
  ${Array.from({ length: 36 }, (_, x) => `v[i + ${x}u * s] = d${x / 6 | 0}_${x % 6};`).join("\n  ")}
}`;

/** y = Aᵀ M A + bias from M[ξ][t][co] (texels over co); invocation i = t · O/4 + co/4. */
const OUTPUT = /* wgsl */ `
struct P { O4: u32, H: u32, W: u32, th: u32, tw: u32, T: u32, count: u32, rawShift: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> bias: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> y: array<vec4f>;
@group(0) @binding(3) var rawTex: texture_storage_2d<rgba32float, read>;
${FDIV}
fn tex(t: u32) -> vec4f {
  let m = (1u << p.rawShift) - 1u;
  return textureLoad(rawTex, vec2u(t & m, t >> p.rawShift));
}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i >= p.count) { return; }
  let t = fdiv(i, p.O4);
  let oq = i - t * p.O4;
  ${TILE_OF}
  let s = p.T * p.O4;
  ${
  Array.from({ length: 36 }, (_, x) => `let q${x / 6 | 0}_${x % 6} = tex(i + ${x}u * s);`).join(
    "\n  ",
  )
}
  ${sandwich(AT, AT, (r, c) => `q${r}_${c}`, "z")}
  let b = bias[oq];
  let W4 = p.W / 4u;
  let plane = p.H * W4;
  let base = (n * p.O4 + oq) * 4u * plane + ty * 4u * W4 + tx;
  ${
  Array.from({ length: 16 }, (_, x) => {
    const [c, r] = [x >> 2, x & 3];
    const row = [0, 1, 2, 3].map((q) => `z${r}_${q}[${c}]`).join(", ");
    return `y[base + ${c}u * plane + ${r}u * W4] = vec4f(${row}) + b[${c}];`;
  }).join("\n  ")
}
}`;

/** U[ξ][ci][co] = (G g Gᵀ)ξ for w [co, ci, 3, 3]. */
function transformWeights(w: ArrayLike<number>, cout: number, cin: number): Float32Array {
  const u = new Float32Array(36 * cout * cin);
  for (let o = 0; o < cout; o++) {
    for (let c = 0; c < cin; c++) {
      const g = (a: number, b: number) => w[((o * cin + c) * 3 + a) * 3 + b];
      for (let x = 0; x < 36; x++) {
        const [i, j] = [x / 6 | 0, x % 6];
        let s = 0;
        for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) s += G[i][a] * g(a, b) * G[j][b];
        u[(x * cin + c) * cout + o] = s;
      }
    }
  }
  return u;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const gpu = await webgpuBackend();
if (!gpu) throw new Error("no WebGPU adapter");
const engine = gpu.engine;
const [tm, tn] = (args.tile as string).split("x").map(Number);
const rounds = Number(args.rounds);
const rng = new Rng(1);
console.log(`${gpu.name}; matmul tile ${tm}×${tn}; CPU ms per call, medians of ${rounds}\n`);
console.log(
  "| conv N×Cin→Cout×H² | direct | Winograd | input | matmul | output | speed-up | max |Δ|/max|y| |",
);
console.log("|" + " --- |".repeat(8));
for (
  const [n, cin, cout, h] of (args.shapes as string).split(",").map((s) => s.split("-").map(Number))
) {
  if (h % 4 || cin % 4 || cout % 4) {
    throw new Error(`${n}-${cin}-${cout}-${h}: needs multiples of 4`);
  }
  const [th, tw] = [h / 4, h / 4];
  const T = n * th * tw;
  if (T * Math.max(cin, cout) / 4 >= 2 ** 22) throw new Error("too many tiles for fdiv");
  const ws = rng.normals(cout * cin * 9).map((v) => v * 0.1);
  const x = gpu.fromArray(rng.normals(n * cin * h * h), [n, cin, h, h]);
  const w = gpu.fromArray(ws, [cout, cin, 3, 3]);
  const b = gpu.fromArray(rng.normals(cout), [cout]);
  const u = gpu.fromArray(transformWeights(ws, cout, cin), [36, cin, cout]);
  const v = gpu.empty([36, T, cin]);
  const m = gpu.empty([36, T, cout]);
  const [yDirect, yWino] = [gpu.empty([n, cout, h, h]), gpu.empty([n, cout, h, h])];
  const { layout } = planMatmul([36, T, cin], [36, cin, cout], false, false);
  const d = { n, cin, cout, h, w: h, k: 3 };
  const input = () => {
    const raw = stageRaw(engine, gpuBuffer(x), n * cin * h * h);
    engine.dispatch({
      label: "winograd input transform",
      code: INPUT,
      inputs: [],
      outputs: [gpuBuffer(v)],
      textures: [raw.texture],
      uniforms: { u: [cin / 4, h, h, th, tw, T, raw.shift, T * cin / 4] },
      groups: groups1d(T * cin / 4),
    });
    engine.releaseTexture(raw.texture);
  };
  const product = () =>
    matmulTexture(engine, "winograd product", gpuBuffer(v), gpuBuffer(u), gpuBuffer(m), layout, {
      tm,
      tn,
    });
  const output = () => {
    const raw = stageRaw(engine, gpuBuffer(m), 36 * T * cout);
    engine.dispatch({
      label: "winograd output transform",
      code: OUTPUT,
      inputs: [gpuBuffer(b)],
      outputs: [gpuBuffer(yWino)],
      textures: [raw.texture],
      uniforms: { u: [cout / 4, h, h, th, tw, T, T * cout / 4, raw.shift] },
      groups: groups1d(T * cout / 4),
    });
    engine.releaseTexture(raw.texture);
  };
  const runs: Record<string, () => void> = {
    direct: () =>
      conv2dGpu(engine, gpuBuffer(x), gpuBuffer(w), gpuBuffer(b), gpuBuffer(yDirect), d),
    winograd: () => (input(), product(), output()),
    input,
    product,
    output,
  };
  runs.direct();
  runs.winograd();
  const [a0, a1] = [await yDirect.toArray(), await yWino.toArray()];
  let [err, scale] = [0, 0];
  for (let i = 0; i < a0.length; i++) {
    err = Math.max(err, Math.abs(a0[i] - a1[i]));
    scale = Math.max(scale, Math.abs(a0[i]));
  }
  const cpu: Record<string, number[]> = Object.fromEntries(Object.keys(runs).map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    for (const [k, run] of Object.entries(runs)) {
      await gpu.sync();
      const c0 = process.cpuUsage();
      for (let q = 0; q < 5; q++) run();
      await gpu.sync();
      const c = process.cpuUsage(c0);
      cpu[k].push((c.user + c.system) / 1000 / 5);
    }
  }
  const ms = Object.fromEntries(Object.entries(cpu).map(([k, xs]) => [k, median(xs)]));
  console.log(
    `| ${n}×${cin}→${cout}×${h}² | ${ms.direct.toFixed(2)} | ${ms.winograd.toFixed(2)} | ` +
      `${ms.input.toFixed(2)} | ${ms.product.toFixed(2)} | ${ms.output.toFixed(2)} | ` +
      `${(ms.direct / ms.winograd).toFixed(2)}× | ${(err / scale).toExponential(1)} |`,
  );
  for (const t of [x, w, b, u, v, m, yDirect, yWino]) t.dispose();
}
