/**
 * A state_dict converted by scripts/convert-state-dict.py (fixtures/models/converted-tiny:
 * the peer's EDMPrecond(SongUNet) at 8×8×3, ambient, p 0.5, δ 0.1, made by
 * `song_unet.py init --perturb` and converted with `--p 0.5 --delta 0.1`) carries its
 * configuration: the scripts' model loader takes it as it is, takes the same tensors without
 * metadata only with --config, and samples from it.
 */
import assert from "node:assert/strict";
import { writePriorGrid } from "../src/ambient/prior_grid.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { decodeSafetensors, encodeSafetensors } from "../src/io/safetensors.ts";
import { dataShape } from "../src/data/dataset.ts";
import { disposeModel, loadModel, readModelInfo } from "../scripts/transfer/models.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname);
const FILE = `${ROOT}fixtures/models/converted-tiny.safetensors`;

Deno.test("converted state_dict: its config metadata loads and samples; a bare one needs --config", async () => {
  const info = await readModelInfo({ name: "ref", path: FILE });
  assert.equal(info.config.ambient, true);
  assert.deepEqual(info.config.corruption, { p: 0.5, delta: 0.1 });
  assert.deepEqual(info.config.network.channelMult, [1, 2]);
  const shape = dataShape(info.config.data);
  assert.deepEqual(shape, [3, 8, 8]);
  const backend = cpuBackend();
  const model = await loadModel(info, shape, backend);
  const dir = await Deno.makeTempDir({ prefix: "adps-converted-" });
  try {
    assert.equal(model.net.model.registry.count(), 12_647, "the converter's parameter count");
    const config = { ...info.config, sampleCount: 1, sampleSteps: 2, seed: 0 };
    await writePriorGrid(`${dir}/grid.png`, model.net, model.params, config, shape, backend);
    const png = await Deno.readFile(`${dir}/grid.png`);
    assert.deepEqual([...png.subarray(1, 4)], [80, 78, 71], "a PNG");
    // IHDR: width and height of the one-image grid (the image, plus any border).
    const view = new DataView(png.buffer, png.byteOffset);
    assert.ok(view.getUint32(16) >= 8 && view.getUint32(20) >= 8, "an 8×8 image or larger");

    // The same tensors without metadata: refused with the remedy, taken with --config.
    const st = decodeSafetensors(await Deno.readFile(FILE));
    const bare = `${dir}/bare.safetensors`;
    await Deno.writeFile(bare, encodeSafetensors({ tensors: st.tensors, metadata: {} }));
    await assert.rejects(
      () => readModelInfo({ name: "bare", path: bare }),
      /has no "config" metadata: convert it again with scripts\/convert-state-dict\.py \(with --p P --delta D for an ambient network\), or give its configuration \(--config FILE\.json in the scripts\)/,
    );
    await Deno.writeTextFile(`${dir}/config.json`, st.metadata.config);
    const given = await readModelInfo({ name: "bare", path: bare }, `${dir}/config.json`);
    assert.deepEqual(given.config, info.config);
    await assert.rejects(
      () => readModelInfo({ name: "bare", path: bare }, `${dir}/missing.json`),
      /--config: cannot read/,
    );
  } finally {
    disposeModel(model);
    await Deno.remove(dir, { recursive: true });
  }
});
