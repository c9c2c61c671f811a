/**
 * The op-test harness (tinygrad's helper_test_op, for two backends):
 * forward on the CPU twin vs WebGPU with poisoned outputs, gradients on WebGPU vs the twin,
 * and the twin's gradients vs float64 central finite differences.
 */
import assert from "node:assert/strict";
import type { WebGpuBackend } from "../gpu/backend.ts";
import { grad } from "../src/ops/autograd.ts";
import type { Backend } from "../src/core/backend.ts";
import { cpuBackend, webgpuBackend } from "../src/core/select_backend.ts";
import { Rng } from "../src/core/rng.ts";
import { tidy } from "../src/core/scope.ts";
import type { Tensor } from "../src/core/tensor.ts";

/** Tolerance: |a − b| ≤ atol + rtol·|b|. */
export interface Tol {
  atol: number;
  rtol: number;
}

/** f32 kernels vs the f32 twin. */
export const F32: Tol = { atol: 1e-5, rtol: 1e-4 };
/** Autograd in f64 vs central differences with h = 1e-6. */
export const FD: Tol = { atol: 1e-6, rtol: 1e-5 };

/** The WebGPU backend, or null (tests skip); with ADPS_REQUIRE_GPU=1 a missing adapter fails. */
export async function gpuOrSkip(): Promise<WebGpuBackend | null> {
  const b = await webgpuBackend();
  if (!b && Deno.env.get("ADPS_REQUIRE_GPU") === "1") {
    throw new Error("ADPS_REQUIRE_GPU=1 but no WebGPU adapter (install mesa-vulkan-drivers)");
  }
  if (b) b.poison = true;
  else console.warn("skipping WebGPU checks: no adapter");
  return b;
}

/** Registers a test that needs WebGPU as ignored where there is none. */
export const hasGpu: boolean = (await webgpuBackend()) !== null ||
  Deno.env.get("ADPS_REQUIRE_GPU") === "1";

/** Asserts elementwise closeness and reports the worst element. */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tol,
  what: string,
) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const excess = Math.abs(a - e) - (tol.atol + tol.rtol * Math.abs(e));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(a))) {
      worst = i;
      worstExcess = excess;
      if (Number.isNaN(a) || Number.isNaN(e)) break;
    }
  }
  if (worst >= 0) {
    assert.fail(
      `${what}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} ` +
        `(atol ${tol.atol}, rtol ${tol.rtol})`,
    );
  }
}

/** How to make one input of an op under test. */
export interface InputSpec {
  shape: number[];
  /** Values: normal·scale (default), or a custom generator. */
  scale?: number;
  gen?: (rng: Rng, i: number) => number;
  /** No gradient is checked for it (masks, indices). */
  noGrad?: boolean;
}

/** One op case: inputs, the function, tolerances. */
export interface OpCase {
  name: string;
  inputs: InputSpec[];
  f: (...xs: Tensor[]) => Tensor;
  /** Forward tolerance GPU vs twin (default F32). */
  tol?: Tol;
  /** Gradient tolerance GPU vs twin (default F32). */
  gradTol?: Tol;
  /** Finite-difference tolerance (default FD). */
  fdTol?: Tol;
  /** Check at most this many elements per input by finite differences (default 40). */
  fdSamples?: number;
  seed?: number;
  /** Skip the gradient checks (ops with no gradient). */
  noGrad?: boolean;
}

function makeInputs(c: OpCase): Float64Array[] {
  const rng = new Rng(c.seed ?? 1234);
  return c.inputs.map((s) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const a = new Float64Array(n);
    for (let i = 0; i < n; i++) a[i] = s.gen ? s.gen(rng, i) : rng.normal() * (s.scale ?? 1);
    return a;
  });
}

/** Runs every check of an op case. */
export async function checkOp(c: OpCase, gpu: WebGpuBackend | null): Promise<void> {
  const data = makeInputs(c);
  const probe = tidy(() => {
    const xs = data.map((d, i) => cpuBackend("f64").fromArray(d, c.inputs[i].shape));
    const shape = c.f(...xs).shape;
    return shape;
  });
  const rng = new Rng((c.seed ?? 1234) + 1);
  const seed = rng.normals(probe.reduce((a, b) => a * b, 1));
  const useSeed = probe.reduce((a, b) => a * b, 1) !== 1 ? seed : null;
  const ref32 = await runSeeded(cpuBackend("f32"), c, data, useSeed, probe);
  if (gpu) {
    const g = await runSeeded(gpu, c, data, useSeed, probe);
    assertClose(g.value, ref32.value, c.tol ?? F32, `${c.name} forward (webgpu vs cpu)`);
    g.grads.forEach((gg, k) =>
      assertClose(gg, ref32.grads[k], c.gradTol ?? F32, `${c.name} grad ${k} (webgpu vs cpu)`)
    );
  }
  if (c.noGrad) return;
  const ref64 = await runSeeded(cpuBackend("f64"), c, data, useSeed, probe);
  assertClose(
    ref32.value,
    ref64.value,
    { atol: 1e-4, rtol: 1e-4 },
    `${c.name} forward (f32 vs f64)`,
  );
  checkFiniteDifferences(c, data, useSeed, ref64.grads);
}

async function runSeeded(
  backend: Backend,
  c: OpCase,
  data: Float64Array[],
  seed: Float64Array | null,
  outShape: readonly number[],
) {
  const xs = data.map((d, i) => backend.fromArray(d, c.inputs[i].shape));
  const wrt = xs.filter((_, i) => !c.inputs[i].noGrad);
  const out = tidy(() => {
    if (c.noGrad || wrt.length === 0) return { value: c.f(...xs), grads: [] as Tensor[] };
    const sd = seed ? backend.fromArray(seed, outShape) : undefined;
    return grad(() => c.f(...xs), wrt, sd);
  });
  const value = await out.value.toArray();
  const grads = await Promise.all(out.grads.map((g) => g.toArray()));
  for (const t of new Set([...xs, out.value, ...out.grads])) t.dispose();
  return { value, grads };
}

/** Central differences of L = ⟨seed, f(x)⟩ in float64 at sampled elements of each input. */
function checkFiniteDifferences(
  c: OpCase,
  data: Float64Array[],
  seed: Float64Array | null,
  grads: (Float32Array | Float64Array)[],
) {
  const b = cpuBackend("f64");
  const h = 1e-6;
  const loss = (xs: Float64Array[]): number =>
    tidy(() => {
      const ts = xs.map((d, i) => b.fromArray(d, c.inputs[i].shape));
      const y = c.f(...ts);
      const v = (y.storage as { data: Float64Array }).data;
      let s = 0;
      for (let i = 0; i < y.size; i++) s += v[i] * (seed ? seed[i] : 1);
      return s;
    });
  const rng = new Rng((c.seed ?? 1234) + 2);
  let k = 0;
  data.forEach((d, i) => {
    if (c.inputs[i].noGrad) return;
    const g = grads[k++];
    const n = d.length;
    const samples = Math.min(n, c.fdSamples ?? 40);
    const idx = samples === n
      ? [...Array(n).keys()]
      : Array.from({ length: samples }, () => rng.int(n));
    for (const j of idx) {
      const plus = data.map((x) => x.slice());
      const minus = data.map((x) => x.slice());
      plus[i][j] += h;
      minus[i][j] -= h;
      const fd = (loss(plus) - loss(minus)) / (2 * h);
      assertClose(
        [g[j]],
        [fd],
        c.fdTol ?? FD,
        `${c.name} d/dinput${i}[${j}] (autograd vs finite differences)`,
      );
    }
  });
}
