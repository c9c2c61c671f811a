/**
 * Copies a training run's EMA network into a small model folder for shipping (e.g.
 * `fixtures/models/…`, read by the demo and `transfer-cs --models`): `network-ema.safetensors`,
 * `config.json`, and a `provenance.json` sidecar saying how the weights were made (command,
 * commit, steps, images seen, last logged loss, date).
 *
 * ```
 * deno run -A scripts/export-model.ts --run runs/fmnist-clean --out fixtures/models/fmnist-clean \
 *   --command "deno task train:fmnist-clean --channels 16"
 * ```
 *
 * `--commit REV` names the code that trained the weights when it is not HEAD; `--data TEXT` and
 * `--machine TEXT` say what it trained on and where (the training seconds come from the log);
 * `--f16` stores the weights as halves (each rounded to the nearest; half the bytes).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { decodeSafetensors, encodeSafetensors } from "../src/io/safetensors.ts";
import { writeFileAtomic } from "../src/io/atomic.ts";

const { values: a } = parseArgs({
  options: {
    run: { type: "string" },
    out: { type: "string" },
    command: { type: "string" },
    commit: { type: "string" },
    data: { type: "string" },
    machine: { type: "string" },
    f16: { type: "boolean", default: false },
  },
});
if (!a.run || !a.out || !a.command) {
  console.error(
    "usage: deno run -A scripts/export-model.ts --run RUN_DIR --out MODEL_DIR --command 'how it was trained'",
  );
  Deno.exit(2);
}

const trained = await Deno.readFile(`${a.run}/network-ema.safetensors`);
const weights: Uint8Array<ArrayBuffer> = a.f16
  ? new Uint8Array(encodeSafetensors(decodeSafetensors(trained), { dtype: "F16" }))
  : trained;
const step = Number(decodeSafetensors(weights).metadata.step);
// The log may run past the last checkpoint: take the line of the step the weights are from.
const log = (await Deno.readTextFile(`${a.run}/log.jsonl`)).trim().split("\n").map((l) =>
  JSON.parse(l)
);
// A resume that changed the run's length logs an override record (no loss): skip it.
const last = log.findLast((r) => r.step <= step && "loss" in r);
const git = new Deno.Command("git", { args: ["rev-parse", "HEAD"], stdout: "piped" }).outputSync();
const digest = [...new Uint8Array(await crypto.subtle.digest("SHA-256", weights))]
  .map((b) => b.toString(16).padStart(2, "0")).join("");

await Deno.mkdir(a.out, { recursive: true });
await writeFileAtomic(`${a.out}/network-ema.safetensors`, weights);
await Deno.copyFile(`${a.run}/config.json`, `${a.out}/config.json`);
const provenance = {
  command: a.command,
  // The code that trained the weights; HEAD unless the run predates it.
  commit: a.commit ?? new TextDecoder().decode(git.stdout).trim(),
  steps: step,
  imagesSeen: step * JSON.parse(await Deno.readTextFile(`${a.run}/config.json`)).batch,
  ...(a.data ? { data: a.data } : {}),
  ...(last?.seconds != null ? { trainingSeconds: Math.round(last.seconds) } : {}),
  ...(a.machine ? { machine: a.machine } : {}),
  ...(a.f16 ? { dtype: "F16: the trained f32 EMA weights, each rounded to the nearest half" } : {}),
  lastLoggedLoss: last?.loss ?? null,
  ...(last?.furtherLoss != null ? { lastLoggedFurtherLoss: last.furtherLoss } : {}),
  weightsSha256: digest,
  exported: new Date().toISOString(),
};
await writeFileAtomic(
  `${a.out}/provenance.json`,
  new TextEncoder().encode(JSON.stringify(provenance, null, 2) + "\n"),
);
console.log(`${a.out}: ${JSON.stringify(provenance)}`);
