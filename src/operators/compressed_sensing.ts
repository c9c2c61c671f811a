/**
 * Gaussian compressed sensing (docs/method.md §5.6): y = A·vec(x) with a fixed m × d matrix of
 * N(0, 1/m) entries, d = C·H·W, applied by the package's matmul on the device.
 *
 * @module
 */
import type { Backend } from "../core/backend.ts";
import { scale } from "../ops/elementwise.ts";
import { matmul } from "../ops/matmul.ts";
import { randomNormal } from "../ops/random.ts";
import { keep } from "../core/scope.ts";
import type { Tensor } from "../core/tensor.ts";
import { checkImages, LinearOperator } from "./linear_operator.ts";
import { reshape } from "../ops/reshape.ts";

/** Options of `GaussianCompressedSensing`. */
export interface CompressedSensingOptions {
  /** Image shape [C, H, W]. */
  shape: readonly [number, number, number];
  /** Number of measurements m. */
  m: number;
  /** Matrix seed (a u32). */
  seed: number;
  /** Philox stream under the seed (default 0). */
  stream?: number;
}

/**
 * A x = A·vec(x) per image, with A [m, d] ~ N(0, 1/m) drawn by Philox on the backend (one
 * matrix shared by every image of a batch); measurements are [N, m].
 *
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { GaussianCompressedSensing } from "./compressed_sensing.ts";
 * const b = cpuBackend();
 * using op = new GaussianCompressedSensing(b, { shape: [3, 8, 8], m: 50, seed: 1 });
 * const y = op.forward(b.full([2, 3, 8, 8], 1)); // [2, 50]
 * const back = op.adjoint(y); // [2, 3, 8, 8]
 * ```
 */
export class GaussianCompressedSensing extends LinearOperator {
  /** e.g. "gaussian compressed sensing m=1000". */
  readonly name: string;
  /** A, [m, d]; owned by the operator. */
  readonly matrix: Tensor;
  /** Image shape [C, H, W]. */
  readonly imageShape: readonly [number, number, number];

  /**
   * Draws the matrix.
   *
   * @param backend where the matrix lives
   * @param opts image shape, m, seed
   */
  constructor(backend: Backend, opts: CompressedSensingOptions) {
    super();
    const { m, seed } = opts;
    const d = opts.shape.reduce((a, b) => a * b, 1);
    if (!(Number.isInteger(m) && m >= 1)) {
      throw new Error(`compressed sensing: m must be a positive integer, got ${m}`);
    }
    const z = randomNormal(backend, [m, d], seed, opts.stream ?? 0);
    this.matrix = keep(scale(z, 1 / Math.sqrt(m)));
    z.dispose();
    this.imageShape = [...opts.shape];
    this.name = `gaussian compressed sensing m=${m}`;
  }

  /**
   * y = A·vec(x) per image.
   *
   * @param x images [N, C, H, W]
   * @returns measurements [N, m]
   */
  forward(x: Tensor): Tensor {
    const [n] = checkImages(this.name, x, [null, ...this.imageShape]);
    return matmul(reshape(x, [n, -1]), this.matrix, { transB: true });
  }

  /**
   * Aᵀ y per image.
   *
   * @param y measurements [N, m]
   * @returns [N, C, H, W]
   */
  adjoint(y: Tensor): Tensor {
    const m = this.matrix.shape[0];
    if (y.shape.length !== 2 || y.shape[1] !== m) {
      throw new Error(`${this.name}: measurements must be [N, ${m}], got [${y.shape}]`);
    }
    return reshape(matmul(y, this.matrix), [y.shape[0], ...this.imageShape]);
  }

  /** Frees the matrix. */
  override dispose(): void {
    this.matrix.dispose();
  }
}
