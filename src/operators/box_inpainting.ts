/**
 * Box inpainting (Aali et al. 2024, §5): a square of side ⌈p·S⌉ at a seeded random place is
 * erased in every channel (S = the image side; the shorter one for non-square images). As in
 * the reference code the box's corner is uniform over the whole image by default, so a box
 * may cross the border and erase less (docs/method.md); `placement: "inside"` keeps it whole.
 *
 * @module
 */
import type { Backend } from "../core/backend.ts";
import { Rng } from "../core/rng.ts";
import { MaskOperator } from "./mask_operator.ts";

/** Options of `BoxInpainting`. */
export interface BoxInpaintingOptions {
  /** Image height. */
  height: number;
  /** Image width. */
  width: number;
  /** The box side as a fraction of the image side, in [0, 1]. */
  p: number;
  /** Placement seed. */
  seed: number;
  /** Boxes drawn, one per image of the batch; 1 (default) shares one box by all. */
  count?: number;
  /**
   * "anywhere" (default, the reference's): top and left uniform on [0, H) and [0, W), the box
   * cut by the border; "inside": uniform over the places where the whole box fits.
   */
  placement?: "anywhere" | "inside";
}

/** Where one box lies (pixels [top, top + side) × [left, left + side), cut by the border). */
export interface Box {
  /** First erased row. */
  top: number;
  /** First erased column. */
  left: number;
  /** Side in pixels. */
  side: number;
}

/**
 * The box side ⌈p·S⌉ (with a guard so that e.g. 0.28·25 stays 7).
 *
 * @param p fraction of the side
 * @param size image side S
 * @returns the side in pixels
 * @example
 * ```ts
 * import { boxSide } from "./box_inpainting.ts";
 * const side = boxSide(0.28, 25); // 7, not 8 (0.28·25 is 7.000000000000001 in floating point)
 * ```
 */
export function boxSide(p: number, size: number): number {
  return Math.min(size, Math.ceil(p * size - 1e-9));
}

/**
 * y = M ⊙ x with M zero on a square box, placed uniformly at random (host PCG32 from
 * `seed`: top, then left, for each image in turn), by default anywhere in the image.
 *
 * @example
 * ```ts
 * import { cpuBackend } from "../core/select_backend.ts";
 * import { BoxInpainting } from "./box_inpainting.ts";
 * const b = cpuBackend();
 * using op = new BoxInpainting(b, { height: 64, width: 64, p: 0.4, seed: 3 }); // a 26×26 hole
 * const y = op.forward(b.full([1, 3, 64, 64], 1));
 * console.log(op.boxes[0]);
 * ```
 */
export class BoxInpainting extends MaskOperator {
  /** e.g. "box inpainting p=0.4". */
  readonly name: string;
  /** The erased box of each mask. */
  readonly boxes: readonly Box[];

  /**
   * Places the boxes and builds the mask.
   *
   * @param backend where the mask lives
   * @param opts size, box fraction, seed
   */
  constructor(backend: Backend, opts: BoxInpaintingOptions) {
    const { height: h, width: w, p } = opts;
    if (!(p >= 0 && p <= 1)) throw new Error(`box inpainting: p must be in [0, 1], got ${p}`);
    const { count = 1, placement = "anywhere" } = opts;
    if (placement !== "anywhere" && placement !== "inside") {
      throw new Error(`box inpainting: placement must be "anywhere" or "inside", got ${placement}`);
    }
    const side = boxSide(p, Math.min(h, w));
    // The corner's range: the whole image, or where the box fits.
    const [rows, cols] = placement === "inside" ? [h - side + 1, w - side + 1] : [h, w];
    const rng = new Rng(opts.seed);
    const boxes: Box[] = [];
    const m = new Float32Array(count * h * w).fill(1);
    for (let i = 0; i < count; i++) {
      const box = { top: rng.int(rows), left: rng.int(cols), side };
      boxes.push(box);
      const right = Math.min(w, box.left + side);
      for (let r = box.top; r < Math.min(h, box.top + side); r++) {
        m.fill(0, (i * h + r) * w + box.left, (i * h + r) * w + right);
      }
    }
    super(backend.fromArray(m, [count, 1, h, w]));
    this.boxes = boxes;
    this.name = `box inpainting p=${p}`;
  }
}
