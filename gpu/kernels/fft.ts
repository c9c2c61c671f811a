/**
 * The orthonormal 2-D DFT over the last two dims of planar complex tensors
 * [batch, 2 (re, im), H, W] as Stockham autosort passes: one dispatch per radix of each
 * axis (rows, then columns), ping-ponging between the output and one temporary buffer.
 * Each invocation loads R points of a line, multiplies by the pass's twiddles (from a
 * float64-computed table, since WGSL's cos/sin may be off by 2^-11), does an R-point DFT
 * with its constants written into the source, and stores them in sorted order. Centring
 * (fftshift ∘ F ∘ ifftshift) is an index shift in the first pass's loads and the last
 * pass's stores.
 *
 * @module
 */
import { fftRadices, fftTwiddles } from "../../src/layout/fft_plan.ts";
import type { Engine } from "../engine.ts";
import { groups1d, INDEX } from "./common.ts";

/** Radices above this are computed by a loop over the twiddle table, not unrolled. */
const MAX_UNROLLED = 16;

/** A float as a WGSL literal that round-trips through f32. */
function lit(v: number): string {
  const s = String(Math.fround(v));
  return s.includes(".") || s.includes("e") ? s : `${s}.0`;
}

/**
 * WGSL that sets X0 … X{R−1} to the R-point DFT of v0 … v{R−1} (sign −1 forward, +1
 * inverse), skipping products with exact 0 and ±1.
 */
function unrolledDft(R: number, sign: number): string {
  const lines: string[] = [];
  for (let u = 0; u < R; u++) {
    const re: string[] = [];
    const im: string[] = [];
    for (let s = 0; s < R; s++) {
      const e = (s * u) % R;
      // Exact values where the angle is a multiple of π/2.
      const quarter = (4 * e) % R === 0 ? (4 * e) / R : -1;
      const c = quarter >= 0 ? [1, 0, -1, 0][quarter] : Math.cos((2 * Math.PI * e) / R);
      const sn = quarter >= 0
        ? sign * [0, 1, 0, -1][quarter]
        : sign * Math.sin((2 * Math.PI * e) / R);
      // (a + ib)(c + i·sn) = (a c − b sn) + i(a sn + b c)
      const term = (coef: number, v: string) =>
        coef === 0 ? null : coef === 1 ? `+${v}` : coef === -1 ? `-${v}` : `+${lit(coef)}*${v}`;
      for (const t of [term(c, `v${s}.x`), term(-sn, `v${s}.y`)]) if (t) re.push(t);
      for (const t of [term(sn, `v${s}.x`), term(c, `v${s}.y`)]) if (t) im.push(t);
    }
    const sum = (ts: string[]) => ts.join("").replace(/^\+/, "") || "0.0";
    lines.push(`  let X${u} = vec2f(${sum(re)}, ${sum(im)});`);
  }
  return lines.join("\n");
}

/** The shape of one pass: compile-time constants, so the index arithmetic divides by constants. */
interface Pass {
  R: number;
  /** −1 forward, +1 inverse. */
  sign: number;
  /** Line length, and the points already combined (the Stockham sub-transform size). */
  n: number;
  Ns: number;
  /** Lines per image, the distance between consecutive lines, and between a line's points. */
  L1: number;
  jStride: number;
  s: number;
  /** Imaginary-plane offset (H·W). */
  plane: number;
  /** Index shifts of the loads and stores (⌊n/2⌋ where centring, else 0). */
  hIn: number;
  hOut: number;
}

/** WGSL of one pass. */
function passCode(q: Pass): string {
  const { R, sign } = q;
  const idx = [...Array(R).keys()];
  const conj = sign < 0 ? "" : "-";
  const load = idx.map((r) =>
    r === 0 ? "  let v0 = load(j);" : `  let v${r} = tw(load(j + ${r}u * M), ${r}u * k);`
  ).join("\n");
  const dft = R <= MAX_UNROLLED
    ? `${load}\n${unrolledDft(R, sign)}\n${
      idx.map((u) => `  store(o + ${u}u * NS, X${u});`).join("\n")
    }`
    : /* wgsl */ `
  var v: array<vec2f, ${R}>;
  for (var r = 0u; r < ${R}u; r++) { v[r] = tw(load(j + r * M), r * k); }
  for (var u = 0u; u < ${R}u; u++) {
    var acc = vec2f(0.0);
    for (var s = 0u; s < ${R}u; s++) {
      let w = table[(s * u) % ${R}u * (N / ${R}u)];
      let c = vec2f(w.x, ${conj}w.y);
      acc += vec2f(v[s].x * c.x - v[s].y * c.y, v[s].x * c.y + v[s].y * c.x);
    }
    store(o + u * NS, acc);
  }`;
  // Shifted indices wrap once: q + h < 2n.
  const wrap = (h: number) => h === 0 ? "q" : `select(q + ${h}u, q + ${h}u - N, q + ${h}u >= N)`;
  return /* wgsl */ `
const N = ${q.n}u;
const NS = ${q.Ns}u;
const M = ${q.n / R}u;
const L1 = ${q.L1}u;
const PLANE = ${q.plane}u;
struct P { lines: u32, scale: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> table: array<vec2f>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

var<private> base: u32;

fn load(q: u32) -> vec2f {
  let e = base + ${wrap(q.hIn)} * ${q.s}u;
  return vec2f(x[e], x[e + PLANE]);
}

fn store(q: u32, v: vec2f) {
  let e = base + ${wrap(q.hOut)} * ${q.s}u;
  y[e] = v.x * p.scale;
  y[e + PLANE] = v.y * p.scale;
}

// v·w^e with w = exp(${sign < 0 ? "−" : "+"}2πi/(NS·R)), from the table of exp(−2πi t/N).
fn tw(v: vec2f, e: u32) -> vec2f {
  let w = table[e * ${q.n / (q.Ns * R)}u];
  let c = vec2f(w.x, ${conj}w.y);
  return vec2f(v.x * c.x - v.y * c.y, v.x * c.y + v.y * c.x);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  ${INDEX}
  if (i >= p.lines * M) { return; }
  let line = i / M;
  let j = i % M;
  base = (line / L1) * ${2 * q.plane}u + (line % L1) * ${q.jStride}u;
  let k = j % NS;
  let o = (j / NS) * NS * ${R}u + k;
${dft}
}`;
}

/**
 * Records y = F x over the last two dims of `batch` planar complex images [2, H, W]: the
 * orthonormal DFT (its inverse if `inverse`), centred or not.
 *
 * @param engine the engine
 * @param x input buffer (not written)
 * @param batch product of the leading dims
 * @param H rows
 * @param W columns
 * @param inverse the inverse transform
 * @param centred fftshift ∘ F ∘ ifftshift
 * @param y output buffer, same layout (distinct from x)
 */
export function fft2Gpu(
  engine: Engine,
  x: GPUBuffer,
  batch: number,
  H: number,
  W: number,
  inverse: boolean,
  centred: boolean,
  y: GPUBuffer,
): void {
  const hw = H * W;
  const sign = inverse ? 1 : -1;
  const axes = [
    { n: W, L1: H, jStride: W, s: 1 },
    { n: H, L1: W, jStride: 1, s: W },
  ];
  const passes: Pass[] = axes.flatMap((a) => {
    const radices = fftRadices(a.n);
    const h = centred ? Math.floor(a.n / 2) : 0;
    let Ns = 1;
    return radices.map((R, i) => {
      const last = i === radices.length - 1;
      const pass = { ...a, R, sign, Ns, plane: hw, hIn: i === 0 ? h : 0, hOut: last ? h : 0 };
      Ns *= R;
      return pass;
    });
  });
  const bytes = 2 * batch * hw * 4;
  if (passes.length === 0) { // 1×1 images: F is the identity
    engine.copy(x, y, bytes);
    return;
  }
  const temp = passes.length > 1 ? engine.alloc(bytes) : null;
  let src = x;
  passes.forEach((q, i) => {
    // Alternate so that the last pass writes y and no pass writes what it reads.
    const dst = (passes.length - 1 - i) % 2 === 0 ? y : temp!;
    const lines = batch * q.L1;
    engine.dispatch({
      label: `fft2 [${batch},2,${H},${W}] ${inverse ? "inverse" : "forward"} n=${q.n} radix ${q.R}`,
      code: passCode(q),
      inputs: [
        src,
        engine.constant(`fft twiddles ${q.n}`, () => Float32Array.from(fftTwiddles(q.n))),
      ],
      outputs: [dst],
      uniforms: { u: [lines], f: [i === passes.length - 1 ? 1 / Math.sqrt(hw) : 1] },
      groups: groups1d(lines * (q.n / q.R)),
    });
    src = dst;
  });
  if (temp) engine.release(temp);
}
