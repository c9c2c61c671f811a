/**
 * `trainStep`, the one training step that `train()`, bench/network.ts and these tests share:
 * a step taken in rounds of gradient accumulation (EDM's --batch-gpu) equals the step taken
 * at once — loss, gradients (Adam's first moment after one step is 0.1 × the clipped
 * gradient), second moments, weights and EMA — with dropout on and the ambient masks, σ and
 * noise drawn per image. WebGPU where an adapter exists, else the CPU twin.
 */
import assert from "node:assert/strict";
import type { Backend } from "../src/core/backend.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { batchIndices, gatherBatch } from "../src/data/dataset.ts";
import { loadDataset } from "../src/data/load_dataset.ts";
import type { Tensor } from "../src/core/tensor.ts";
import { buildNetwork, disposeTrainState, initTrainState, trainStep } from "../src/train/train.ts";
import type { TrainConfig } from "../src/train/config.ts";
import { config as tinyInpaint } from "../tasks/tiny-inpaint.ts";
import { assertClose, gpuOrSkip, hasGpu, type Tol } from "./harness.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname);
const gpu = hasGpu && Deno.env.get("ADPS_BACKEND") !== "cpu" ? await gpuOrSkip() : null;
if (gpu) gpu.poison = true;
const backend: Backend = gpu ?? cpuBackend();
const data = await loadDataset({ kind: "fmnist", dir: `${ROOT}fixtures/fmnist`, limit: 64 });

/** The tiny task with dropout on (the masks must follow the images too). */
function config(over: Partial<TrainConfig>): TrainConfig {
  const c = structuredClone(tinyInpaint);
  return { ...c, network: { ...c.network, dropout: 0.3 }, batch: 7, ...over };
}

/** Loss terms and every tensor of the state after `steps` steps of `c`, read back. */
async function run(c: TrainConfig, steps: number[]) {
  const net = buildNetwork(c, data.shape);
  const s = initTrainState(net, c, backend);
  let terms: Tensor[] = [];
  try {
    for (const step of steps) {
      const indices = batchIndices(data.count, c.batch, c.seed, step);
      const batch = { images: gatherBatch(data, indices), indices, shape: data.shape };
      terms.push(trainStep(net, s, c, batch, step));
    }
    const groups = {
      net: [...s.params.values()],
      ema: [...s.ema.values()],
      m: [...s.adam.m],
      v: [...s.adam.v],
    };
    const values = await backend.readMany([...terms, ...Object.values(groups).flat()]);
    const out = new Map<string, Float32Array | Float64Array>();
    out.set("loss", Float32Array.from(values.slice(0, terms.length).flatMap((v) => [...v])));
    let i = terms.length;
    for (const [g, ts] of Object.entries(groups)) {
      for (const name of s.params.keys()) out.set(`${g}/${name}`, values[i++]);
      void ts;
    }
    return out;
  } finally {
    for (const t of terms) t.dispose();
    terms = [];
    disposeTrainState(s);
  }
}

/** f32 sums in another order: per-element tolerances of the gradient and what follows it. */
const TOL: Record<string, Tol> = {
  loss: { atol: 1e-6, rtol: 2e-5 },
  net: { atol: 2e-6, rtol: 1e-4 },
  ema: { atol: 2e-6, rtol: 1e-4 },
  m: { atol: 1e-7, rtol: 2e-3 },
  v: { atol: 1e-12, rtol: 4e-3 },
};

function compare(
  a: Map<string, Float32Array | Float64Array>,
  b: Map<string, Float32Array | Float64Array>,
  what: string,
) {
  for (const [k, x] of a) assertClose(b.get(k)!, x, TOL[k.split("/")[0]], `${what}: ${k}`);
}

/** The largest |a − b| / (atol + rtol |a|) over every tensor: > 1 means `compare` fails. */
function worstRatio(
  a: Map<string, Float32Array | Float64Array>,
  b: Map<string, Float32Array | Float64Array>,
): number {
  let worst = 0;
  for (const [k, x] of a) {
    const y = b.get(k)!;
    const t = TOL[k.split("/")[0]];
    for (let i = 0; i < x.length; i++) {
      worst = Math.max(worst, Math.abs(x[i] - y[i]) / (t.atol + t.rtol * Math.abs(x[i])));
    }
  }
  return worst;
}

for (const ambient of [true, false]) {
  const kind = ambient ? "ambient" : "EDM";
  Deno.test(`trainStep (${kind}): rounds of 3+3+1 images equal the batch of 7 at once`, async () => {
    const base = config(
      ambient ? {} : { ambient: false, corruption: { p: 0, delta: 0 }, name: "tiny-clean" },
    );
    // Two steps: the second one's Adam and EMA start from the first's state.
    const whole = await run(base, [1, 2]);
    const rounds = await run({ ...base, batchGpu: 3 }, [1, 2]);
    const singles = await run({ ...base, batchGpu: 1 }, [1, 2]);
    compare(whole, rounds, "batchGpu 3 vs whole batch");
    compare(whole, singles, "batchGpu 1 vs whole batch");
    // The tolerance tells other noise, dropout or masks apart: steps 3, 4 draw other ones.
    const other = await run(base, [3, 4]);
    const r = worstRatio(whole, other);
    assert.ok(r > 10, `another step's draws differ by only ${r.toFixed(2)}× the tolerance`);
  });
}

Deno.test("trainStep: batchGpu outside [1, batch] is refused by the config check", async () => {
  const { validateConfig } = await import("../src/train/config.ts");
  assert.throws(
    () => validateConfig(config({ batchGpu: 8 })),
    /batchGpu must be an integer in \[1, batch = 7\]/,
  );
  assert.throws(() => validateConfig(config({ batchGpu: 0 })), /batchGpu/);
  validateConfig(config({ batchGpu: 7 }));
});
