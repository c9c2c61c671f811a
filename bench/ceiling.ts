/**
 * The arithmetic ceiling of WGSL on this adapter: kernels that do nothing but FMA chains on
 * registers, with and without one rgba32float texel load per group of FMAs. On lavapipe this
 * bounds what any kernel of ours can reach (llvmpipe runs 8 invocations per AVX2 register, so
 * a value shared by the lanes still costs a load in each), and it is the number to set
 * against PyTorch's rates in the same run.
 *
 * @module
 */
import process from "node:process";
import type { Engine } from "../gpu/engine.ts";
import { median } from "./stats.ts";

/** One ceiling kernel: `chains` independent accumulators, optionally one texel load per group. */
export interface CeilingCase {
  /** What the row shows. */
  name: string;
  /** Independent FMA chains per invocation. */
  chains: number;
  /** Whether each group of `chains` FMAs reads its multipliers from a freshly loaded texel. */
  load: boolean;
  /** Copies of the loop body per trip (LLVM keeps chains in registers only when unrolled). */
  unroll: number;
}

/** The rows of `deno task bench`'s ceiling table. */
export const CEILING_CASES: readonly CeilingCase[] = [
  { name: "FMAs only (16 chains in registers)", chains: 16, load: false, unroll: 4 },
  { name: "48 FMAs per texel loaded (a 48-accumulator tile)", chains: 48, load: true, unroll: 1 },
  { name: "12 FMAs per texel loaded (a 12-accumulator tile)", chains: 12, load: true, unroll: 4 },
];

/** Invocations per workgroup. */
const WORKGROUP = 64;
/** Workgroups: enough for lavapipe's threads, and for every SM of a hardware GPU. */
const CPU_GROUPS = 512;
const GPU_GROUPS = 16_384;
/** Texture the loads read: lanes spread over its texels, so every load is a real gather. */
const TEX_W = 256;
const TEX_H = 64;
/**
 * Every FMA is a ← a·m + 0 with m = 1 − 2⁻¹⁶, read from a uniform or a texel so nothing folds:
 * over the few thousand FMAs of a chain a shrinks by a few per cent, enough that a kernel doing
 * 10% fewer FMAs misses the expected output by more than `CEILING_RTOL`, and nothing underflows.
 */
export const CEILING_M = 1 - 2 ** -16;
/** Relative tolerance of the output check: f32 rounding stays below ~3e-4 here. */
export const CEILING_RTOL = 1e-3;

/**
 * Loop trips and FMAs per chain of a case: about 64 Ki FMAs per invocation in all.
 *
 * @param c the case
 * @returns trips of the loop and FMAs per chain (trips · unroll)
 */
export function ceilingTrips(c: CeilingCase): { trips: number; fmas: number } {
  const trips = Math.ceil(65_536 / (c.chains * c.unroll));
  return { trips, fmas: trips * c.unroll };
}

/**
 * The kernel's WGSL: chain i of invocation g starts at 1 + (g + i)·10⁻³ and takes
 * `trips · unroll` FMAs; the invocation writes the sum of its chains.
 *
 * @param c the case
 * @returns WGSL with the uniforms {trips, m, c} at binding 0, the output at 1 and, for a
 *   loading case, the texture (every texel m) at 2
 */
export function ceilingKernel(c: CeilingCase): string {
  const decl = Array.from(
    { length: c.chains },
    (_, i) => `var a${i} = 1.0 + f32(gid.x + ${i}u) * 1e-3;`,
  );
  const group = (r: number) => {
    // The texel holds m in every component; its coordinates vary by lane and trip.
    const t = c.load
      ? `let t = textureLoad(tex, vec2i(i32((gid.x + i * ${c.unroll}u + ${r}u) % ${TEX_W}u), ` +
        `i32((gid.x / ${TEX_W}u) % ${TEX_H}u)));`
      : "let t = m4;";
    const fmas = Array.from(
      { length: c.chains },
      (_, i) => `a${i} = fma(a${i}, t.${"xyzw"[i % 4]}, c);`,
    );
    return `{ ${t}\n      ${fmas.join(" ")} }`;
  };
  const body = Array.from({ length: c.unroll }, (_, r) => group(r)).join("\n    ");
  return `struct U { trips: u32, m: f32, c: f32 }
@group(0) @binding(0) var<uniform> u: U;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
${c.load ? "@group(0) @binding(2) var tex: texture_storage_2d<rgba32float, read>;" : ""}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = u.c;
  let m4 = vec4f(u.m);
  ${decl.join("\n  ")}
  for (var i = 0u; i < u.trips; i++) {
    ${body}
  }
  out[gid.x] = ${Array.from({ length: c.chains }, (_, i) => `a${i}`).join(" + ")};
}`;
}

/**
 * What invocation `gid` of `ceilingKernel` should write, in float64: Σᵢ (1 + (gid + i)·10⁻³)·mⁿ
 * over its chains, n = `fmas`.
 *
 * @param gid the invocation
 * @param chains FMA chains per invocation
 * @param fmas FMAs per chain
 * @returns the expected output
 */
export function expectedCeilingOutput(gid: number, chains: number, fmas: number): number {
  return CEILING_M ** fmas * (chains + 1e-3 * (chains * gid + chains * (chains - 1) / 2));
}

/**
 * A texture for the loading kernels, every texel `CEILING_M`, and the buffer it was copied
 * from (release both when done).
 *
 * @param engine the WebGPU engine
 * @returns the texture and its staging buffer
 */
export function ceilingTexture(engine: Engine): { tex: GPUTexture; fill: GPUBuffer } {
  const tex = engine.allocTexture(TEX_W, TEX_H);
  const fill = engine.alloc(16 * TEX_W * TEX_H);
  engine.upload(fill, new Float32Array(4 * TEX_W * TEX_H).fill(CEILING_M));
  engine.copyToTexture(fill, tex, TEX_W, TEX_H, 16 * TEX_W);
  return { tex, fill };
}

/** One measured row. */
export interface CeilingRow {
  /** The case. */
  c: CeilingCase;
  /** FLOPs (2 per FMA) per wall second, in GFLOP/s. */
  gflops: number;
  /** FLOPs per second of process CPU time (llvmpipe's threads are this process's). */
  gflopsPerCpuS: number;
}

/**
 * Times each case `rounds` times, the cases interleaved so a busy machine slows them alike,
 * and keeps the medians. Each timing is back-to-back calls for at least `minMs` with one sync
 * at the end. Every invocation's output is checked against float64 first, so a kernel the
 * compiler trimmed cannot pass for a fast one.
 *
 * @param engine the WebGPU engine
 * @param minMs minimum timed milliseconds per timing
 * @param rounds timings per case (medians reported)
 * @param cases which kernels
 * @returns one row per case
 */
export async function measureCeiling(
  engine: Engine,
  minMs: number,
  rounds = 3,
  cases: readonly CeilingCase[] = CEILING_CASES,
): Promise<CeilingRow[]> {
  const groups = engine.preferTextures ? CPU_GROUPS : GPU_GROUPS;
  const n = WORKGROUP * groups;
  const out = engine.alloc(4 * n);
  const { tex, fill } = ceilingTexture(engine);
  try {
    const dispatches = [];
    for (const c of cases) {
      // ~20–60 ms a call on lavapipe.
      const { trips, fmas } = ceilingTrips(c);
      const code = ceilingKernel(c);
      const dispatch = () =>
        engine.dispatch({
          label: `ceiling: ${c.name}`,
          code,
          inputs: [],
          outputs: [out],
          textures: c.load ? [tex] : [],
          uniforms: { u: [trips], f: [CEILING_M, 0] },
          groups: [groups],
        });
      engine.upload(out, new Float32Array(n).fill(Number.NaN));
      dispatch();
      const got = await engine.read(out, 4 * n);
      for (let gid = 0; gid < n; gid++) {
        const want = expectedCeilingOutput(gid, c.chains, fmas);
        if (!(Math.abs(got[gid] - want) <= CEILING_RTOL * want)) {
          throw new Error(
            `ceiling kernel "${c.name}": invocation ${gid} gave ${got[gid]}, want ${want}`,
          );
        }
      }
      dispatches.push({ dispatch, flops: 2 * n * c.chains * fmas });
    }
    const wall: number[][] = cases.map(() => []);
    const cpu: number[][] = cases.map(() => []);
    for (let r = 0; r < rounds; r++) {
      for (const [i, { dispatch, flops }] of dispatches.entries()) {
        const t = await timeCalls(engine, dispatch, minMs);
        wall[i].push(flops * t.reps / t.wallMs / 1e6);
        cpu[i].push(flops * t.reps / t.cpuMs / 1e6);
      }
    }
    return cases.map((c, i) => ({ c, gflops: median(wall[i]), gflopsPerCpuS: median(cpu[i]) }));
  } finally {
    engine.release(out);
    engine.release(fill);
    engine.releaseTexture(tex);
  }
}

/** Back-to-back calls, doubling until they take `minMs`; wall and process CPU ms. */
async function timeCalls(
  engine: Engine,
  call: () => void,
  minMs: number,
): Promise<{ reps: number; wallMs: number; cpuMs: number }> {
  for (let reps = 1;; reps *= 2) {
    await engine.sync();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) call();
    await engine.sync();
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    if (wallMs >= minMs || reps >= 1024) {
      return { reps, wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
    }
  }
}
