/**
 * The Monte-Carlo moment check shared by the sampler tests (edm_sampler, posterior_gaussian,
 * ald): a pixel's sample mean and variance within 5 standard errors of their targets.
 *
 * @module
 */
import assert from "node:assert/strict";

/**
 * Asserts that pixel p of n samples (sample j's pixel at x[j·pixels + p]) has a sample mean and
 * an unbiased sample variance within 5 standard errors of `wantMean` and `wantVar`, with
 * SE(mean) = √(wantVar/n) and SE(variance) ≈ wantVar·√(2/(n − 1)) for normal data.
 *
 * @param x the samples, n × pixels values
 * @param n number of samples
 * @param pixels values per sample
 * @param p the pixel
 * @param wantMean target mean
 * @param wantVar target variance
 * @param label names the pixel in failure messages
 */
export function assertPixelMoments(
  x: ArrayLike<number>,
  n: number,
  pixels: number,
  p: number,
  wantMean: number,
  wantVar: number,
  label: string,
): void {
  let sum = 0;
  for (let j = 0; j < n; j++) sum += x[j * pixels + p];
  const mean = sum / n;
  let ss = 0;
  for (let j = 0; j < n; j++) ss += (x[j * pixels + p] - mean) ** 2;
  const variance = ss / (n - 1);
  const seMean = Math.sqrt(wantVar / n);
  const seVar = wantVar * Math.sqrt(2 / (n - 1));
  assert.ok(
    Math.abs(mean - wantMean) <= 5 * seMean,
    `${label}: mean ${mean}, want ${wantMean} ± ${5 * seMean}`,
  );
  assert.ok(
    Math.abs(variance - wantVar) <= 5 * seVar,
    `${label}: variance ${variance}, want ${wantVar} ± ${5 * seVar}`,
  );
}
