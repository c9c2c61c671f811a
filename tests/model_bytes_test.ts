/**
 * Models from bytes and URLs (src/io/model_bytes.ts): the same network and weights as
 * `loadModel` reads from disk, a file: URL fetched, and a one-line error for bytes that are
 * not a safetensors file, a file without config metadata, and a failed fetch.
 */
import assert from "node:assert/strict";
import { loadModel } from "../src/api.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { encodeSafetensors } from "../src/io/safetensors.ts";
import { modelFromBytes, modelFromUrl } from "../src/io/model_bytes.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname);
const WEIGHTS = `${ROOT}fixtures/models/fmnist-inpaint/network-ema.safetensors`;
const b = cpuBackend();

Deno.test("modelFromBytes and modelFromUrl build what loadModel loads", async () => {
  using disk = await loadModel(WEIGHTS, { backend: b });
  using bytes = await modelFromBytes(await Deno.readFile(WEIGHTS), { backend: b });
  using url = await modelFromUrl(new URL(`file://${WEIGHTS}`), { backend: b });
  for (const m of [bytes, url]) {
    assert.deepEqual(m.config, disk.config);
    assert.deepEqual(m.shape, [1, 32, 32]);
    assert.deepEqual([...m.params.keys()], [...disk.params.keys()]);
    for (const [name, w] of disk.params) {
      assert.deepEqual(await m.params.get(name)!.toArray(), await w.toArray(), name);
    }
  }
});

Deno.test("modelFromBytes: clear errors for bad bytes, no config, and a missing URL", async () => {
  await assert.rejects(
    modelFromBytes(new Uint8Array([1, 2, 3]), { backend: b, name: "x.bin" }),
    /^UsageError: x\.bin: not a safetensors file/,
  );
  const bare = encodeSafetensors({ tensors: new Map(), metadata: {} });
  await assert.rejects(
    modelFromBytes(bare, { backend: b }),
    /the weights has no "config" metadata/,
  );
  await assert.rejects(
    modelFromBytes(encodeSafetensors({ tensors: new Map(), metadata: { config: "{}" } }), {
      backend: b,
    }),
    /its config lacks "ambient" or "network"/,
  );
  await assert.rejects(
    modelFromUrl(new URL(`file://${ROOT}fixtures/models/none.safetensors`), { backend: b }),
    /^UsageError: cannot fetch file:.*none\.safetensors/,
  );
});
