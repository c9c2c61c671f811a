/**
 * The inverse problems of the cross-operator study (docs/method.md §7.2): Gaussian compressed
 * sensing at m measurements, average-pool super-resolution ×f, and box inpainting of side ⌈p·S⌉;
 * their operators and noisy measurements, seeded so every model sees the same y.
 *
 * @module
 */
import { UsageError } from "../cli.ts";
import type { Backend } from "../../src/core/backend.ts";
import { BoxInpainting } from "../../src/operators/box_inpainting.ts";
import { GaussianCompressedSensing } from "../../src/operators/compressed_sensing.ts";
import type { LinearOperator } from "../../src/operators/linear_operator.ts";
import { measure as measureImages, type NoiseSpace } from "../../src/operators/measure.ts";
import { SuperResolution } from "../../src/operators/super_resolution.ts";
import type { Tensor } from "../../src/core/tensor.ts";

/** One inverse problem. */
export type Problem =
  | { kind: "cs"; m: number }
  | { kind: "sr"; factor: number }
  | { kind: "box"; p: number };

/** The three families. */
export type ProblemKind = Problem["kind"];

/**
 * A file-name-safe id: "cs-m25", "sr-x4", "box-0.25".
 *
 * @param p the problem
 * @returns its id
 */
export function problemId(p: Problem): string {
  if (p.kind === "cs") return `cs-m${p.m}`;
  if (p.kind === "sr") return `sr-x${p.factor}`;
  return `box-${p.p}`;
}

/**
 * A human-readable name: "Gaussian CS, m = 25".
 *
 * @param p the problem
 * @returns its label
 */
export function problemLabel(p: Problem): string {
  if (p.kind === "cs") return `Gaussian CS, m = ${p.m}`;
  if (p.kind === "sr") return `super-resolution ×${p.factor}`;
  return `box inpainting, side ${p.p} of the image`;
}

/**
 * A u32 from a string (FNV-1a): seeds that differ per problem, seed and purpose.
 *
 * @param s the string
 * @returns a u32
 */
export function seedOf(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * The operator of a problem for one batch of images.
 *
 * @param backend where its tensors live
 * @param p the problem
 * @param shape image shape [C, H, W]
 * @param seed experiment seed
 * @param batch index of the batch of images (box positions and noise differ per batch)
 * @param count images in the batch
 * @param placement where boxes may lie ("anywhere", the reference's: they may cross the border)
 * @returns the operator (caller disposes)
 */
export function buildOperator(
  backend: Backend,
  p: Problem,
  shape: readonly [number, number, number],
  seed: number,
  batch: number,
  count: number,
  placement: "anywhere" | "inside" = "anywhere",
): LinearOperator {
  const [, h, w] = shape;
  if (p.kind === "cs") {
    // One matrix per seed for the whole test set, as a real CS acquisition would use.
    return new GaussianCompressedSensing(backend, {
      shape,
      m: p.m,
      seed: seedOf(`cs-matrix/${p.m}/${seed}`),
    });
  }
  // A factor that does not divide the size pools ⌊H/f⌋ × ⌊W/f⌋ blocks, as the reference does.
  if (p.kind === "sr") return new SuperResolution(p.factor, [h, w]);
  return new BoxInpainting(backend, {
    height: h,
    width: w,
    p: p.p,
    seed: seedOf(`box/${p.p}/${seed}/${batch}`),
    count,
    placement,
  });
}

/**
 * Noisy measurements y = A(x + σ_y n) (the reference's) or A x + σ_y n, the noise seeded by
 * problem, seed and batch.
 *
 * @param op the operator
 * @param p the problem (for the seed)
 * @param x images [N, C, H, W]
 * @param sigmaY noise level in [−1, 1] image units
 * @param seed experiment seed
 * @param batch batch index
 * @param space where the noise is drawn ("image", the reference's)
 * @returns y (caller disposes)
 */
export function measure(
  op: LinearOperator,
  p: Problem,
  x: Tensor,
  sigmaY: number,
  seed: number,
  batch: number,
  space: NoiseSpace = "image",
): Tensor {
  return measureImages(op, x, sigmaY, seedOf(`noise/${problemId(p)}/${seed}/${batch}`), space);
}

/**
 * The problems of the study from the command-line lists.
 *
 * @param ms Gaussian CS measurement counts
 * @param factors super-resolution factors
 * @param boxes box sides as fractions of the image side
 * @returns CS problems, then SR, then box inpainting
 */
export function listProblems(
  ms: readonly number[],
  factors: readonly number[],
  boxes: readonly number[],
): Problem[] {
  return [
    ...ms.map((m): Problem => ({ kind: "cs", m })),
    ...factors.map((factor): Problem => ({ kind: "sr", factor })),
    ...boxes.map((p): Problem => ({ kind: "box", p })),
  ];
}

/**
 * Parses an id written by `problemId` ("cs-m100", "sr-x4", "box-0.25").
 *
 * @param id the id
 * @returns the problem
 */
export function parseProblemId(id: string): Problem {
  let g: RegExpExecArray | null;
  if ((g = /^cs-m(\d+)$/.exec(id))) return { kind: "cs", m: Number(g[1]) };
  if ((g = /^sr-x(\d+)$/.exec(id))) return { kind: "sr", factor: Number(g[1]) };
  if ((g = /^box-(\d*\.?\d+)$/.exec(id))) return { kind: "box", p: Number(g[1]) };
  throw new UsageError(`unknown problem "${id}": use cs-m<m>, sr-x<factor> or box-<fraction>`);
}
