/**
 * How well a model denoises, σ by σ: the mean squared error of D(x + σn, σ) against x on
 * held-out images, split into the pixels an ambient model sees (M̃ = 1) and those it must
 * fill in (M̃ = 0). A clean model is scored on the same split for comparison. Ambient
 * models learn the hidden pixels only from the M \ M̃ part of each image, and at small σ
 * the preconditioning asks F for (x − c_skip·0)/c_out ≈ x/σ there; this table shows where
 * that breaks.
 *
 * `deno run -A scripts/denoiser-error.ts --models ambient=fixtures/models/fmnist-inpaint,
 *  clean=fixtures/models/fmnist-clean [--count 64] [--sigmas 0.002,0.01,…] [--out FILE.md]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import "../src/onnx/ort_backend.ts"; // makes --backend onnx|onnx-cuda selectable
import { priorDenoiser } from "../src/ambient/prior_denoiser.ts";
import { samplingMask } from "../src/ambient/masks.ts";
import { selectBackend } from "../src/core/select_backend.ts";
import { fashionMnistToTensorData, readIdxImages } from "../src/data/idx.ts";
import { Rng } from "../src/core/rng.ts";
import { tidy } from "../src/core/scope.ts";
import { disposeModel, loadModel, parseModels, readModelInfo } from "./transfer/models.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname);
const { values: a } = parseArgs({
  options: {
    models: {
      type: "string",
      default:
        `ambient=${ROOT}fixtures/models/fmnist-inpaint,clean=${ROOT}fixtures/models/fmnist-clean`,
    },
    images: { type: "string", default: `${ROOT}fixtures/fmnist/t10k-images-idx3-ubyte.gz` },
    count: { type: "string", default: "64" },
    sigmas: { type: "string", default: "0.002,0.01,0.05,0.2,0.5,1,2,5,20" },
    seed: { type: "string", default: "0" },
    backend: { type: "string" },
    out: { type: "string" },
    // The models' configuration (JSON), for bare state_dicts that carry none.
    config: { type: "string" },
  },
});

const count = Number(a.count);
const sigmas = a.sigmas.split(",").map(Number);
if (!(count >= 1) || sigmas.some((s) => !(s > 0))) {
  throw new Error("--count must be ≥ 1 and every --sigmas value > 0");
}
const idx = await readIdxImages(a.images);
const pad = idx.rows === 28 ? 2 : 0;
const [h, w] = [idx.rows + 2 * pad, idx.cols + 2 * pad];
const n = Math.min(count, idx.count);
const x = fashionMnistToTensorData(idx, { pad }).slice(0, n * h * w);
const backend = await selectBackend(a.backend);

// One fixed noise draw per σ, shared by every model, so the rows compare like with like.
const noise = new Float32Array(x.length);
const rng = new Rng(Number(a.seed));
for (let i = 0; i < noise.length; i++) noise[i] = rng.normal();

const rows: string[] = [];
for (
  const info of await Promise.all(parseModels(a.models).map((s) => readModelInfo(s, a.config)))
) {
  const model = await loadModel(info, [1, h, w], backend);
  const corruption = info.config.corruption;
  // The split uses the ambient sampling mask M̃ (for a clean model: p = 0.6, δ = 0.1's).
  const split = corruption.p > 0 ? corruption : { p: 0.6, delta: 0.1 };
  using further = samplingMask(backend, n, h, w, split, 1);
  const seen = await further.toArray();
  const denoise = priorDenoiser(model.net, model.params, info.config.ambient, further);
  for (const sigma of sigmas) {
    const noisy = x.map((v, i) => v + sigma * noise[i]);
    using xt = backend.fromArray(noisy, [n, 1, h, w]);
    // tidy: the network's intermediates are freed with the step, only D survives.
    using d = tidy(() => denoise(xt, sigma));
    const out = await d.toArray();
    let seenErr = 0, seenN = 0, hidErr = 0, hidN = 0;
    for (let i = 0; i < out.length; i++) {
      const e = (out[i] - x[i]) ** 2;
      if (seen[i] > 0.5) (seenErr += e, seenN++);
      else (hidErr += e, hidN++);
    }
    rows.push(
      `| ${info.name} | ${sigma} | ${(seenErr / seenN).toFixed(4)} | ${
        (hidErr / hidN).toFixed(4)
      } |`,
    );
    console.log(rows.at(-1));
  }
  disposeModel(model);
}

const table = [
  `Denoising MSE on ${n} held-out images (${a.images.split("/").at(-1)}), ` +
  `in [−1, 1] units, split by the ambient mask M̃:`,
  "",
  "| model | σ | MSE where M̃ = 1 | MSE where M̃ = 0 |",
  "| --- | --- | --- | --- |",
  ...rows,
].join("\n");
if (a.out) await Deno.writeTextFile(a.out, table + "\n");
console.log(`\n${table}`);
