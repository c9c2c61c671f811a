/**
 * Classical reconstructions by the adjoint (Aali et al. 2024, §6 baselines): zero-filled
 * x = Aᴴy, and SENSE, the least-squares solution of A x = y by conjugate gradients on the
 * normal equations (AᴴA + μI) x = Aᴴy, batched over slices on either backend.
 *
 * @module
 */
import { add, addScalar, div, mul, scale, sub } from "../ops/elementwise.ts";
import { sum } from "../ops/reduce.ts";
import { keep, tidy } from "../core/scope.ts";
import type { Tensor } from "../core/tensor.ts";
import type { LinearOperator } from "../operators/linear_operator.ts";

/**
 * Zero-filled reconstruction Aᴴy (for `MultiCoilFourier`: coil images combined with the
 * conjugate maps).
 *
 * @param op the forward operator
 * @param y measurements
 * @returns Aᴴy
 */
export function zeroFilled(op: LinearOperator, y: Tensor): Tensor {
  return op.adjoint(y);
}

/** Options of {@link senseCg}. */
export interface SenseOptions {
  /** CG iterations (default 30). */
  iterations?: number;
  /** Tikhonov weight μ ≥ 0 (default 0). */
  mu?: number;
  /** Called after each iteration (progress). */
  onIteration?: (i: number) => void;
}

/** Per-image inner products ⟨a, b⟩ over all but the batch dim, kept as [N, 1, …]. */
export function batchDot(a: Tensor, b: Tensor): Tensor {
  return sum(mul(a, b), a.shape.map((_, k) => k).slice(1), true);
}

/**
 * SENSE by conjugate gradients: minimises ‖A x − y‖² + μ‖x‖² per image, from x = 0. The
 * real inner product of the (Re, Im) planes is the one CG needs, as AᴴA is Hermitian.
 *
 * @param op the forward operator (e.g. `MultiCoilFourier`)
 * @param y measurements [N, …]
 * @param opts iterations, μ, progress callback
 * @returns the images [N, 2, H, W]
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { MultiCoilFourier } from "../operators/multi_coil_fourier.ts";
 * import { senseCg } from "./sense.ts";
 * const b = cpuBackend();
 * using op = new MultiCoilFourier(b.full([1, 4, 2, 8, 8], 0.5), b.full([1, 8], 1));
 * const y = op.forward(b.full([1, 2, 8, 8], 1));
 * const x = senseCg(op, y, { iterations: 5 }); // ≈ the ones image
 * ```
 */
export function senseCg(op: LinearOperator, y: Tensor, opts: SenseOptions = {}): Tensor {
  const iterations = opts.iterations ?? 30;
  const mu = opts.mu ?? 0;
  const normal = (p: Tensor) => {
    const q = op.adjoint(op.forward(p));
    return mu > 0 ? add(q, scale(p, mu)) : q;
  };
  let r = keep(tidy(() => op.adjoint(y)));
  let x = keep(tidy(() => scale(r, 0)));
  let p = keep(tidy(() => scale(r, 1)));
  let rs = keep(tidy(() => batchDot(r, r)));
  for (let i = 0; i < iterations; i++) {
    const next = tidy(() => {
      const ap = normal(p);
      // The tiny floor keeps α and β finite once a slice has converged exactly.
      const alpha = div(rs, addScalar(batchDot(p, ap), 1e-30));
      const x2 = add(x, mul(p, alpha));
      const r2 = sub(r, mul(ap, alpha));
      const rs2 = batchDot(r2, r2);
      const p2 = add(r2, mul(p, div(rs2, addScalar(rs, 1e-30))));
      return { x: x2, r: r2, rs: rs2, p: p2 };
    });
    for (const t of [x, r, rs, p]) t.dispose();
    ({ x, r, rs, p } = next);
    opts.onIteration?.(i);
  }
  for (const t of [r, rs, p]) t.dispose();
  return x;
}
