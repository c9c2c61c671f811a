/**
 * Training on k-space slices (docs/method.md §4): slices streamed from a fastMRI-layout file
 * with their fixed masks, and `trainStep` on them: its loss is the MRI ambient loss of y = M ⊙ k,
 * rounds equal the step at once, and k-space off M never reaches the step.
 */
import assert from "node:assert/strict";
import { mriAmbientLoss } from "../src/ambient/loss.ts";
import { trainingContext } from "../src/ambient/streams.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { FastMriFile } from "../src/data/fastmri.ts";
import { writeRandomSlices } from "./mri_fixture.ts";
import { columnMask, furtherCorruptColumns } from "../src/mri/masks.ts";
import { mriLossBatch, type MriTrainSlice, readMriSlices } from "../src/mri/train_batch.ts";
import { mul } from "../src/ops/elementwise.ts";
import { MultiCoilFourier } from "../src/operators/multi_coil_fourier.ts";
import { tidy } from "../src/core/scope.ts";
import {
  buildNetwork,
  disposeTrainState,
  initTrainState,
  stepSeed,
  trainStep,
} from "../src/train/train.ts";
import { EDM_DEFAULTS, type TrainConfig } from "../src/train/config.ts";

const [S, C, H, W] = [4, 2, 8, 64]; // W = 64 keeps ACS 20 in M̃ at R = 2 (⌊64/3⌋ = 21)
const dims = [C, H, W] as const;

const config = (ambient: boolean, batchGpu?: number): TrainConfig => ({
  ...EDM_DEFAULTS,
  name: "mri-test",
  data: { kind: "fmnist" },
  network: { modelChannels: 8, channelMult: [1, 1], numBlocks: 1, attnResolutions: [], dropout: 0 },
  ambient,
  corruption: { p: 0, delta: 0 },
  batch: 3,
  batchGpu,
  steps: 1,
});

Deno.test("MRI training: slices stream with their fixed masks; trainStep's loss is the MRI ambient loss", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeRandomSlices(`${dir}/train.h5`, [S, C, H, W], 1);
    using file = await FastMriFile.open(`${dir}/train.h5`);
    const idx = [3, 0, 2];
    const slices = readMriSlices(file, idx, { r: 2, seed: 5 });
    slices.forEach((s, i) => {
      const m = columnMask(W, { r: 2, seed: 5, slice: idx[i] });
      assert.deepEqual(s.mask, m);
      assert.deepEqual(s.further, furtherCorruptColumns(m, { r: 2, seed: 5, slice: idx[i] }));
      assert.deepEqual(s.kspace, file.kspace(idx[i]));
    });
    assert.ok(readMriSlices(file, [1], { r: 1, seed: 5 })[0].mask.every((v) => v === 1));

    const b = cpuBackend("f64");
    const step = (cfg: TrainConfig, data: MriTrainSlice[]) => {
      const net = buildNetwork(cfg, [2, H, W]);
      const state = initTrainState(net, cfg, b);
      using batch = mriLossBatch(data, dims, cfg.ambient, b);
      using terms = trainStep(net, state, cfg, batch, 1);
      const out = {
        terms: Array.from((terms.storage as { data: Float64Array }).data),
        params: [...state.params.values()].map((t) =>
          Array.from((t.storage as { data: Float64Array }).data)
        ),
        net,
      };
      disposeTrainState(state);
      return out;
    };
    const once = step(config(true), slices);
    assert.equal(once.terms.length, 2, "[loss, M̃ loss]");
    // The same loss by hand: mriAmbientLoss on y = M ⊙ k at the step's seed.
    const cfg = config(true);
    const state = initTrainState(once.net, cfg, b);
    const direct = tidy(() => {
      const join = (f: (s: MriTrainSlice) => ArrayLike<number>) =>
        slices.flatMap((s) => Array.from(f(s)));
      const op = new MultiCoilFourier(
        b.fromArray(join((s) => s.maps), [3, C, 2, H, W]),
        b.fromArray(join((s) => s.mask), [3, W]),
      );
      const k = b.fromArray(join((s) => s.kspace), [3, C, 2, H, W]);
      const seed = stepSeed(cfg, 1);
      const further = b.fromArray(join((s) => s.further), [3, W]);
      const l = mriAmbientLoss(once.net, state.params, mul(k, op.mask), op, further, seed, {
        ...trainingContext(seed),
        first: 0,
      });
      const v = (l.loss.storage as { data: Float64Array }).data[0];
      op.dispose();
      return v;
    });
    disposeTrainState(state);
    assert.ok(Math.abs(once.terms[0] - direct) < 1e-9 * direct, `${once.terms[0]} vs ${direct}`);

    // Rounds of one slice: the same step up to rounding.
    const rounds = step(config(true, 1), slices);
    assert.ok(Math.abs(rounds.terms[0] - once.terms[0]) < 1e-9 * once.terms[0]);
    rounds.params.forEach((p, i) =>
      p.forEach((v, j) => assert.ok(Math.abs(v - once.params[i][j]) < 1e-9, `param ${i}[${j}]`))
    );
    // k-space off M changed at will: the step is unchanged; on M̃'s columns: it changes.
    const offM = slices.map((s) => ({
      ...s,
      kspace: s.kspace.map((v, q) => (s.mask[q % W] ? v : v + 100)),
    }));
    assert.deepEqual(step(config(true), offM).terms, once.terms);
    const onM = slices.map((s) => ({
      ...s,
      kspace: s.kspace.map((v, q) => (s.further[q % W] ? v + 1 : v)),
    }));
    assert.notDeepEqual(step(config(true), onM).terms, once.terms);
    // The fully sampled baseline: a clean 2-channel model, one loss term.
    const clean = step(config(false), readMriSlices(file, idx, { r: 1, seed: 5 }));
    assert.equal(clean.terms.length, 1);
    assert.ok(Number.isFinite(clean.terms[0]) && clean.terms[0] > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
