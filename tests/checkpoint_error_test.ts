/**
 * A checkpoint that cannot be written stops the run at that step with one line naming what
 * is kept, and the previous checkpoint stays byte for byte; a write that fails midway leaves
 * no temp file. WebGPU where an adapter exists, else the CPU twin.
 */
import assert from "node:assert/strict";
import type { Backend } from "../src/core/backend.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { loadDataset } from "../src/data/load_dataset.ts";
import { decodeSafetensors } from "../src/io/safetensors.ts";
import { writeFileAtomic } from "../src/io/atomic.ts";
import { CheckpointError, type LogRecord, train } from "../src/train/train.ts";
import type { TrainConfig } from "../src/train/config.ts";
import { config as tinyInpaint } from "../tasks/tiny-inpaint.ts";
import { gpuOrSkip, hasGpu } from "./harness.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname);
const gpu = hasGpu && Deno.env.get("ADPS_BACKEND") !== "cpu" ? await gpuOrSkip() : null;
if (gpu) gpu.poison = false;
const backend: Backend = gpu ?? cpuBackend();

Deno.test("train: an unwritable checkpoint stops the run at once, the previous one intact", async () => {
  const data = await loadDataset({ kind: "fmnist", dir: `${ROOT}fixtures/fmnist`, limit: 16 });
  const c: TrainConfig = {
    ...structuredClone(tinyInpaint),
    batch: 2,
    steps: 6,
    logEvery: 1,
    checkpointEvery: 2,
    sampleEvery: 0,
  };
  const out = await Deno.makeTempDir({ prefix: "adps-ckpt-error-" });
  const ckpt = `${out}/checkpoint.safetensors`;
  // As root, permissions do not stop a write: a directory where the temp file goes does.
  const blocker = `${ckpt}.${Deno.pid}.tmp`;
  let before: Uint8Array | null = null;
  const logged: number[] = [];
  try {
    const err = await train(c, data, {
      out,
      backend,
      onStep: (step) => {
        if (step !== 3) return;
        before = Deno.readFileSync(ckpt);
        Deno.mkdirSync(blocker);
      },
      onLog: (r: LogRecord) => logged.push(r.step),
    }).then(() => assert.fail("trained past an unwritable checkpoint"), (e) => e);
    assert.ok(err instanceof CheckpointError, String(err));
    assert.ok(!err.message.includes("\n"), `more than one line: ${err.message}`);
    assert.match(
      err.message,
      /^cannot write the checkpoint of step 4 \(.*\): stopped; .*checkpoint\.safetensors still holds step 2\. Free disk space or fix the folder, then --resume\.$/,
    );
    assert.deepEqual(logged, [1, 2, 3, 4], "the run stopped at the failing checkpoint");
    assert.deepEqual(await Deno.readFile(ckpt), before);
    assert.equal(decodeSafetensors(await Deno.readFile(ckpt)).metadata.step, "2");
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("writeFileAtomic: a failed rename leaves the target as it was and no temp file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adps-atomic-" });
  try {
    // A non-empty directory as the target: the temp file is written, the rename fails.
    await Deno.mkdir(`${dir}/target`);
    await Deno.writeTextFile(`${dir}/target/keep`, "x");
    await assert.rejects(() => writeFileAtomic(`${dir}/target`, new Uint8Array(8)));
    const names = [...Deno.readDirSync(dir)].map((e) => e.name);
    assert.deepEqual(names, ["target"]);
    assert.equal(await Deno.readTextFile(`${dir}/target/keep`), "x");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
