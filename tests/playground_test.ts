/**
 * The playground's computation (playground/reconstruct.ts) under Deno, with the shipped priors:
 * its mean and std of K draws are `posteriorSamples`' for both priors, it reports the current
 * estimates as asked, every operator of the page measures as the library's does, and bad
 * settings fail with one line. The same code in chromium is tests/playground_browser_test.ts.
 */
import assert from "node:assert/strict";
import { fashionMnistToTensorData, readIdxImages } from "../src/data/idx.ts";
import { measure, modelFromBytes, posteriorSamples, selectBackend, tidy } from "../src/web.ts";
import {
  DEFAULTS,
  makeOperator,
  type OperatorKind,
  PRIORS,
  type Progress,
  reconstruct,
} from "../playground/reconstruct.ts";
import { assertClose } from "./harness.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname);
const backend = await selectBackend();
const load = async (name: string) =>
  modelFromBytes(await Deno.readFile(`${ROOT}fixtures/models/${name}/network-ema.safetensors`), {
    backend,
  });
const images = fashionMnistToTensorData(
  await readIdxImages(`${ROOT}fixtures/fmnist/t10k-images-idx3-ubyte.gz`),
);
const truth = images.slice(7 * 1024, 8 * 1024);

Deno.test("playground: mean and std of K draws are posteriorSamples' for A-DPS and FS-DPS", async () => {
  using ambient = await load("fmnist-inpaint");
  using clean = await load("fmnist-clean");
  const s = { ...DEFAULTS, operator: "random" as const, k: 3, steps: 3, seed: 5 };
  const seen: Progress[] = [];
  const got = await reconstruct({ ambient, clean }, truth, s, {
    every: 2,
    onProgress: (p) => void seen.push(p),
  });
  // Every 2nd step before the last, and each draw's end: steps 2 and 3, per prior and draw.
  assert.deepEqual(
    seen.map((p) => `${p.prior}${p.draw}:${p.step}`),
    [0, 1, 2].flatMap((j) => [`ambient${j}:2`, `clean${j}:2`, `ambient${j}:3`, `clean${j}:3`]),
  );
  assert.equal(seen.at(-1)!.done, seen.at(-1)!.total);
  assert.equal(seen.at(-1)!.total, 2 * 3 * 3);
  for (const [prior, model] of [["ambient", ambient], ["clean", clean]] as const) {
    using x = backend.fromArray(truth, [1, ...model.shape]);
    using op = makeOperator(model, s);
    using y = measure(op, x, s.sigmaY, s.seed + 1);
    const want = tidy(() =>
      posteriorSamples(model, op, y, {
        k: s.k,
        steps: s.steps,
        zeta: s.zeta,
        sigmaMin: s.sigmaMin,
        seed: s.seed + 2,
        clip: [-1, 1],
      })
    );
    using mean = want.mean, std = want.std;
    const [m, sd] = await backend.readMany([mean, std]);
    const r = got.priors[prior];
    assertClose(r.mean, m, { atol: 1e-5, rtol: 1e-5 }, `${prior} mean`);
    // std = √var: an f32 variance near 0 (Welford there, Σx² − K m² in f64 here) differs by
    // ~1e-7, so the std by up to √1e-7 ≈ 3e-4.
    assertClose(r.std, sd, { atol: 5e-4, rtol: 1e-3 }, `${prior} std`);
    assert.ok(r.std.some((v) => v > 0.05), `${prior}: the draws differ somewhere`);
    assert.ok(r.psnr > 5 && r.psnr < 60 && r.ssim > 0 && r.ssim <= 1, `${prior}: ${r.psnr} dB`);
  }
});

Deno.test("playground: every operator of the page measures as the library's, one-line errors", async () => {
  using ambient = await load("fmnist-inpaint");
  using clean = await load("fmnist-clean");
  const s = { ...DEFAULTS, k: 1, steps: 1, sigmaY: 0 };
  const painted = Array.from({ length: 1024 }, (_, i) => (i % 32 < 16 ? 1 : 0));
  const kinds: OperatorKind[] = ["random", "box", "brush", "sr2", "sr4", "cs"];
  for (const operator of kinds) {
    const r = await reconstruct({ ambient, clean }, truth, { ...s, operator }, undefined, painted);
    assert.equal(r.measured.length, 1024, operator);
    for (const p of PRIORS) {
      assert.ok(Number.isFinite(r.priors[p].psnr), `${operator} ${p}`);
      assert.ok(r.priors[p].std.every((v) => v === 0), `${operator} ${p}: K = 1 has std 0`);
    }
    if (operator === "brush") {
      // Observed where painted 1 (σ_y = 0: the truth itself), 0 where erased.
      assert.deepEqual(Array.from(r.measured), Array.from(truth, (v, i) => painted[i] * v));
    }
    if (operator === "sr4") {
      // Nearest up-sampling of the 4×4 block means: the top-left block is its mean everywhere.
      let mean = 0;
      for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) mean += truth[i * 32 + j] / 16;
      for (let i = 0; i < 4; i++) {
        for (let j = 0; j < 4; j++) assert.ok(Math.abs(r.measured[i * 32 + j] - mean) < 1e-5);
      }
    }
  }
  await assert.rejects(
    reconstruct({ ambient, clean }, truth, { ...s, operator: "brush" }),
    /paint a 32×32 mask first/,
  );
  await assert.rejects(reconstruct({ ambient, clean }, truth, { ...s, k: 0 }), /K must be ≥ 1/);
});
