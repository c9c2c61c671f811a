/**
 * CPU twin of the resampling kernels: nearest 2× up-sampling and 2×2 sum-pooling, each
 * times a factor, over the last two dims.
 *
 * @module
 */
import type { Arr } from "../core/backend.ts";

/**
 * y[p, 2i+a, 2j+b] = f·x[p, i, j].
 *
 * @param x input, planes × H × W
 * @param planes product of the leading dims
 * @param H input height
 * @param W input width
 * @param f factor
 * @param y output, planes × 2H × 2W
 */
export function upsample2xCpu(
  x: Arr,
  planes: number,
  H: number,
  W: number,
  f: number,
  y: Arr,
): void {
  for (let p = 0; p < planes; p++) {
    for (let oy = 0; oy < 2 * H; oy++) {
      for (let ox = 0; ox < 2 * W; ox++) {
        y[(p * 2 * H + oy) * 2 * W + ox] = f * x[(p * H + (oy >> 1)) * W + (ox >> 1)];
      }
    }
  }
}

/**
 * y[p, i, j] = f·(x[p, 2i, 2j] + x[p, 2i, 2j+1] + x[p, 2i+1, 2j] + x[p, 2i+1, 2j+1]).
 *
 * @param x input, planes × 2Ho × 2Wo
 * @param planes product of the leading dims
 * @param Ho output height
 * @param Wo output width
 * @param f factor (0.25 for the mean)
 * @param y output, planes × Ho × Wo
 */
export function downsample2xCpu(
  x: Arr,
  planes: number,
  Ho: number,
  Wo: number,
  f: number,
  y: Arr,
): void {
  const W = 2 * Wo;
  for (let p = 0; p < planes; p++) {
    for (let i = 0; i < Ho; i++) {
      for (let j = 0; j < Wo; j++) {
        const top = (p * 2 * Ho + 2 * i) * W + 2 * j;
        y[(p * Ho + i) * Wo + j] = f * (x[top] + x[top + 1] + x[top + W] + x[top + W + 1]);
      }
    }
  }
}
