import assert from "node:assert/strict";
import { cpuBackend } from "../src/core/select_backend.ts";
import {
  loadParams,
  loadParamsFile,
  paramsToSafetensors,
  saveParamsFile,
} from "../src/io/params_io.ts";
import { decodeSafetensors, type SafeTensors } from "../src/io/safetensors.ts";
import { SongUNet } from "../src/nn/song_unet.ts";
import { assertClose, gpuOrSkip } from "./harness.ts";
import { TINY } from "./tiny_unet.ts";

async function tinyFile(): Promise<{ net: SongUNet; st: SafeTensors }> {
  const net = new SongUNet(TINY);
  const st = await paramsToSafetensors(net.registry.materialize(cpuBackend("f64"), 7), {
    step: "12",
  });
  return { net, st };
}

Deno.test("params round trip through a safetensors file, in registry order", async () => {
  const gpu = await gpuOrSkip();
  const { net } = await tinyFile();
  const params = net.registry.materialize(cpuBackend("f32"), 7);
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/p.safetensors`;
    await saveParamsFile(path, params, { config: JSON.stringify(TINY) });
    const st = decodeSafetensors(await Deno.readFile(path));
    assert.deepEqual([...st.tensors.keys()], net.registry.specs.map((s) => s.name));
    assert.deepEqual(JSON.parse(st.metadata.config), TINY);
    for (const backend of gpu ? [cpuBackend("f32"), gpu] : [cpuBackend("f32")]) {
      const back = await loadParamsFile(path, net.registry, backend);
      assert.deepEqual([...back.keys()], [...params.keys()]);
      for (const [name, t] of params) {
        const u = back.get(name)!;
        assert.deepEqual(u.shape, t.shape, name);
        assertClose(await u.toArray(), await t.toArray(), { atol: 0, rtol: 0 }, name);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadParams: prefix, strictness, EDM resample_filter buffers", async () => {
  const { net, st } = await tinyFile();
  const prefixed: SafeTensors = {
    metadata: {},
    tensors: new Map([...st.tensors].map(([n, t]) => [`ema.${n}`, t])),
  };
  prefixed.tensors.set("ema.model.enc.4x4_down.conv0.resample_filter", {
    shape: [1, 1, 2, 2],
    data: new Float32Array(4).fill(0.25),
  });
  const p = loadParams(prefixed, net.registry, cpuBackend(), { prefix: "ema." });
  assert.equal(p.size, net.registry.specs.length);
  prefixed.tensors.set("net.model.map_layer0.weight", st.tensors.get("model.map_layer0.weight")!);
  assert.throws(
    () => loadParams(prefixed, net.registry, cpuBackend(), { prefix: "ema." }),
    /1 unexpected.*\n {2}net\.model\.map_layer0\.weight/,
  );
  loadParams(prefixed, net.registry, cpuBackend(), { prefix: "ema.", strict: false });
  prefixed.tensors.set("ema.model.enc.4x4_down.skip.resample_filter", {
    shape: [1, 1, 4, 4],
    data: new Float32Array(16).fill(1 / 16),
  });
  assert.throws(
    () => loadParams(prefixed, net.registry, cpuBackend(), { prefix: "ema.", strict: false }),
    /resampling filters other than EDM's \[1,1\].*\n.*4x4_down\.skip\.resample_filter/,
  );
});

Deno.test("loadParams names missing parameters", async () => {
  const { net, st } = await tinyFile();
  st.tensors.delete("model.enc.4x4_block0.qkv.weight");
  st.tensors.delete("model.dec.8x8_aux_conv.bias");
  assert.throws(
    () => loadParams(st, net.registry, cpuBackend()),
    (e: Error) =>
      /2 missing:\n {2}model\.enc\.4x4_block0\.qkv\.weight\n {2}model\.dec\.8x8_aux_conv\.bias/
        .test(e.message),
  );
});

Deno.test("loadParams names parameters with the wrong shape", async () => {
  const { net, st } = await tinyFile();
  // A network with another width: every conv and norm differs.
  const wide = new SongUNet({ ...TINY, modelChannels: 16 });
  assert.throws(
    () => loadParams(st, wide.registry, cpuBackend()),
    /with the wrong shape:\n {2}model\.map_layer0\.weight: file \[32,8\], declared \[64,16\]/,
  );
  const w = st.tensors.get("model.enc.8x8_conv.weight")!;
  st.tensors.set("model.enc.8x8_conv.weight", { shape: [8, 2, 9], data: w.data });
  assert.throws(
    () => loadParams(st, net.registry, cpuBackend()),
    /1 with the wrong shape:\n {2}model\.enc\.8x8_conv\.weight: file \[8,2,9\], declared \[8,2,3,3\]/,
  );
});

Deno.test("loadParamsFile rejects a truncated file, naming it", async () => {
  const { net } = await tinyFile();
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/cut.safetensors`;
    await saveParamsFile(path, net.registry.materialize(cpuBackend(), 1));
    const bytes = await Deno.readFile(path);
    await Deno.writeFile(path, bytes.subarray(0, bytes.length - 100));
    await assert.rejects(
      () => loadParamsFile(path, net.registry, cpuBackend()),
      (e: Error) => e.message.startsWith(path) && /truncated/.test(e.message),
    );
    await Deno.writeFile(path, bytes.subarray(0, 200));
    await assert.rejects(
      () => loadParamsFile(path, net.registry, cpuBackend()),
      /not a valid safetensors file/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
