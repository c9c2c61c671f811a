/**
 * The one-call API (src/api.ts) on the shipped priors: loading from a run folder and from a
 * bare network file, the calls matching the pieces they assemble (dps with priorDenoiser and
 * per-image M̃, ambientOneStep, edmSample), and a clear error for each misuse.
 */
import assert from "node:assert/strict";
import { inferenceMasks, samplingMask } from "../src/ambient/masks.ts";
import { priorDenoiser } from "../src/ambient/prior_denoiser.ts";
import { PRIOR_MASK_SEED } from "../src/ambient/prior_grid.ts";
import { adps, fsDps, loadModel, oneStep, sample } from "../src/api.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { BoxInpainting } from "../src/operators/box_inpainting.ts";
import { GaussianCompressedSensing } from "../src/operators/compressed_sensing.ts";
import { measure } from "../src/operators/measure.ts";
import { dps } from "../src/sampling/dps.ts";
import { edmSample } from "../src/sampling/edm_sampler.ts";
import { ambientOneStep } from "../src/sampling/one_step.ts";
import { tidy } from "../src/core/scope.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname);
const AMBIENT = `${ROOT}fixtures/models/fmnist-inpaint`;
const CLEAN = `${ROOT}fixtures/models/fmnist-clean`;
const b = cpuBackend();
const N = 2;
const SHAPE = [N, 1, 32, 32];

/** Two smooth test images in [−1, 1]. */
function images() {
  return b.fromArray(
    Float32Array.from({ length: N * 1024 }, (_, i) => Math.sin(i / 37) * 0.8),
    SHAPE,
  );
}

Deno.test("loadModel reads a run folder and a bare network file alike", async () => {
  using dir = await loadModel(AMBIENT, { backend: b });
  using file = await loadModel(`${AMBIENT}/network-ema.safetensors`, { backend: b });
  assert.equal(dir.config.ambient, true);
  assert.deepEqual(dir.shape, [1, 32, 32]);
  assert.deepEqual(file.config, dir.config);
  assert.deepEqual([...file.params.keys()], [...dir.params.keys()]);
  const [name, w] = [...dir.params][5];
  assert.deepEqual(await file.params.get(name)!.toArray(), await w.toArray());
  await assert.rejects(loadModel(`${ROOT}fixtures/models/none`, { backend: b }), /does not exist/);
  await assert.rejects(
    loadModel(AMBIENT, { backend: b, shape: [3, 32, 32] }),
    /does not fit 3×32×32 images/,
  );
});

Deno.test("adps = dps with the ambient denoiser and one M̃ per image; fsDps = dps with the clean one", async () => {
  using amb = await loadModel(AMBIENT, { backend: b });
  using clean = await loadModel(CLEAN, { backend: b });
  using x = images();
  using op = new GaussianCompressedSensing(b, { shape: [1, 32, 32], m: 60, seed: 3 });
  using y = measure(op, x, 0.05, 4);
  const opts = { steps: 2, zeta: 2, sigmaMin: 0.05, seed: 7 };
  using got = tidy(() => adps(amb, op, y, { ...opts, maskSeed: 9, images: [5, 6] }).x);
  using masks = inferenceMasks(b, [5, 6], 32, 32, amb.config.corruption, 9);
  const denoise = priorDenoiser(amb.net, amb.params, true, masks);
  using want = tidy(() => dps(denoise, op, y, b, SHAPE, opts).x);
  assert.deepEqual(await got.toArray(), await want.toArray());
  // Per batch: one mask shared, as the study's old form.
  using perBatch = tidy(() => adps(amb, op, y, { ...opts, mask: "per-batch" }).x);
  using one = samplingMask(b, 1, 32, 32, amb.config.corruption, opts.seed);
  const shared = priorDenoiser(amb.net, amb.params, true, one);
  using wantBatch = tidy(() => dps(shared, op, y, b, SHAPE, opts).x);
  assert.deepEqual(await perBatch.toArray(), await wantBatch.toArray());
  const r = fsDps(clean, op, y, opts);
  using fs = r.x;
  const plain = priorDenoiser(clean.net, clean.params, false, null);
  using wantFs = tidy(() => dps(plain, op, y, b, SHAPE, opts).x);
  assert.deepEqual(await fs.toArray(), await wantFs.toArray());
  assert.deepEqual([r.nfe, r.vjps], [3, 3]);
  assert.throws(() => adps(clean, op, y, opts), /clean data: use fsDps/);
  assert.throws(() => fsDps(amb, op, y, opts), /ambient .* use adps/);
  assert.throws(() => adps(amb, op, y, { ...opts, images: [1] }), /1 image indices for 2 images/);
});

Deno.test("oneStep = ambientOneStep on the network; sample = edmSample with one fixed M̃", async () => {
  using amb = await loadModel(AMBIENT, { backend: b });
  using clean = await loadModel(CLEAN, { backend: b });
  using x = images();
  using op = new BoxInpainting(b, { height: 32, width: 32, p: 0.375, seed: 1, count: N });
  using y = measure(op, x, 0.05, 2);
  using got = oneStep(amb, op, y);
  const ctx = { training: false, seed: 0, stream: 0 };
  const h = (u: typeof y, s: number) => amb.net.forward(amb.params, u, b.full([N], s), ctx);
  using want = ambientOneStep(h, op, y);
  assert.deepEqual(await got.toArray(), await want.toArray());
  assert.throws(() => oneStep(clean, op, y), /needs an ambient model/);

  const r = sample(amb, 3, { steps: 2, seed: 4 });
  using s = r.x;
  using m = samplingMask(b, 1, 32, 32, amb.config.corruption, PRIOR_MASK_SEED);
  const denoise = priorDenoiser(amb.net, amb.params, true, m);
  using wantS = edmSample(denoise, b, [3, 1, 32, 32], { steps: 2, seed: 4 }).x;
  assert.deepEqual(s.shape, [3, 1, 32, 32]);
  assert.deepEqual(await s.toArray(), await wantS.toArray());
  assert.equal(r.nfe, 3);
});
