/**
 * Interoperability with PyTorch: our EDMPrecond(SongUNet) against the independent PyTorch
 * definition in bench/peer/song_unet.py (same weights file, same inputs), parameter counts
 * of the paper configurations, and a torch.save'd state_dict converted by
 * scripts/convert-state-dict.py. Skipped where /usr/bin/python3 has no torch (CI).
 */
import assert from "node:assert/strict";
import type { Backend } from "../src/core/backend.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { loadParamsFile, saveParamsFile } from "../src/io/params_io.ts";
import { decodeSafetensors, encodeSafetensors } from "../src/io/safetensors.ts";
import type { Params } from "../src/nn/module.ts";
import { EDMPrecond } from "../src/nn/precond.ts";
import { SongUNet, type SongUNetConfig } from "../src/nn/song_unet.ts";
import { Rng } from "../src/core/rng.ts";
import { tidy } from "../src/core/scope.ts";
import { assertClose, gpuOrSkip, type Tol } from "./harness.ts";
import { PAPER, TINY, tinyWeights, toParams } from "./tiny_unet.ts";

const PY = "/usr/bin/python3";
const PEER = "bench/peer/song_unet.py";
const CONVERT = "scripts/convert-state-dict.py";

function torchAvailable(): boolean {
  try {
    const r = new Deno.Command(PY, { args: ["-c", "import torch"], stdout: "null", stderr: "null" })
      .outputSync();
    return r.success;
  } catch {
    return false;
  }
}
const hasTorch = torchAvailable();
if (!hasTorch) console.warn(`skipping PyTorch interop tests: ${PY} cannot import torch`);

/** Runs a Python script, failing with its stderr; returns its stdout. */
async function python(args: string[]): Promise<string> {
  const r = await new Deno.Command(PY, { args, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  if (!r.success) {
    throw new Error(`${PY} ${args.join(" ")} failed:\n${dec.decode(r.stderr)}`);
  }
  return dec.decode(r.stdout);
}

const AMBIENT16: SongUNetConfig = {
  imgResolution: 16,
  inChannels: 2,
  outChannels: 1,
  modelChannels: 16,
  channelMult: [1, 2],
  numBlocks: 1,
  attnResolutions: [8],
  dropout: 0,
};
/** The paper configurations the peer builds (it has no gated convolutions). */
const PAPER_UNGATED = PAPER.filter(([, cfg]) => !cfg.gated);
// f32 values: the peer reads them from an F32 file.
const SIGMAS = Float32Array.from([0.02, 0.9, 40]);

/** Non-trivial f32 values for every parameter (the peer reads them from an F32 file). */
function weights(net: SongUNet, seed: number): Map<string, Float32Array> {
  return new Map([...tinyWeights(net, seed)].map(([n, v]) => [n, Float32Array.from(v)]));
}

async function forward(
  net: EDMPrecond,
  params: Params,
  x: Float32Array,
  b: Backend,
): Promise<Float32Array | Float64Array> {
  const { inChannels: c, imgResolution: r } = net.model.config;
  const xs = b.fromArray(x, [SIGMAS.length, c, r, r]);
  const sigma = b.fromArray(SIGMAS, [SIGMAS.length]);
  const ctx = { training: false, seed: 0, stream: 0 };
  const d = tidy(() => net.forward(params, xs, sigma, ctx));
  const v = await d.toArray();
  for (const t of [xs, sigma, d, ...params.values()]) t.dispose();
  return v;
}

/** |a − b| ≤ rel·(max|b| + |b|): relative to the output's scale. */
function scaled(ref: ArrayLike<number>, rel: number): Tol {
  let m = 0;
  for (let i = 0; i < ref.length; i++) m = Math.max(m, Math.abs(ref[i]));
  return { atol: rel * m, rtol: rel };
}

async function peerForward(
  dir: string,
  cfgPath: string,
  weightsPath: string,
  inPath: string,
  dtype: "float32" | "float64",
  tag: string,
): Promise<Float64Array> {
  const out = `${dir}/${tag}.${dtype}.out.safetensors`;
  await python([
    PEER,
    "forward",
    ...["--config", cfgPath, "--weights", weightsPath, "--input", inPath, "--out", out],
    ...["--dtype", dtype],
  ]);
  return readD(await Deno.readFile(out));
}

/** Tensor "D" of the peer's output, F32 or F64 (the package's reader stops at F32). */
function readD(bytes: Uint8Array): Float64Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlen = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + hlen)));
  const { dtype, data_offsets: [start, end] } = header.D;
  const width = { F32: 4, F64: 8 }[dtype as string];
  if (!width) throw new Error(`peer output D has dtype ${dtype}`);
  const out = new Float64Array((end - start) / width);
  for (let i = 0; i < out.length; i++) {
    const at = 8 + hlen + start + i * width;
    out[i] = width === 4 ? view.getFloat32(at, true) : view.getFloat64(at, true);
  }
  return out;
}

/** Writes the config and input files of a case; returns their paths and the input. */
async function caseFiles(dir: string, tag: string, cfg: SongUNetConfig) {
  const cfgPath = `${dir}/${tag}.json`;
  await Deno.writeTextFile(cfgPath, JSON.stringify(cfg));
  const { inChannels: c, imgResolution: r } = cfg;
  const shape = [SIGMAS.length, c, r, r];
  const x = Float32Array.from(new Rng(11).normals(shape.reduce((a, b) => a * b, 1)));
  const inPath = `${dir}/${tag}.in.safetensors`;
  await Deno.writeFile(
    inPath,
    encodeSafetensors({
      metadata: {},
      tensors: new Map([["x", { shape, data: x }], ["sigma", {
        shape: [SIGMAS.length],
        data: SIGMAS,
      }]]),
    }),
  );
  return { cfgPath, inPath, x };
}

Deno.test({
  name: "EDMPrecond(SongUNet) forward equals the PyTorch peer (f64, f32 twin, WebGPU)",
  ignore: !hasTorch,
  fn: async (t) => {
    const gpu = await gpuOrSkip();
    const dir = await Deno.makeTempDir();
    try {
      const cases = [["tiny", TINY], ["ambient16", AMBIENT16]] as const;
      // Files first, then every peer run at once (each spends seconds importing torch).
      const prepared = await Promise.all(cases.map(async ([tag, cfg]) => {
        const net = new EDMPrecond(new SongUNet(cfg));
        const values = weights(net.model, 5);
        const wPath = `${dir}/${tag}.safetensors`;
        await saveParamsFile(wPath, toParams(values, net.model, cpuBackend("f32")), {
          config: JSON.stringify(cfg),
        });
        return { tag, net, values, wPath, ...await caseFiles(dir, tag, cfg) };
      }));
      const peers = await Promise.all(
        prepared.flatMap((c) =>
          (["float64", "float32"] as const).map((dt) =>
            peerForward(dir, c.cfgPath, c.wPath, c.inPath, dt, c.tag)
          )
        ),
      );
      for (const [i, { tag, net, values, x }] of prepared.entries()) {
        const [p64, p32] = [peers[2 * i], peers[2 * i + 1]];
        await t.step(`${tag}: float64 twin vs PyTorch float64`, async () => {
          const f64 = cpuBackend("f64");
          const ours = await forward(net, toParams(values, net.model, f64), x, f64);
          assertClose(ours, p64, scaled(p64, 1e-10), `${tag} f64`);
        });
        await t.step(`${tag}: float32 twin vs PyTorch float32`, async () => {
          const f32 = cpuBackend("f32");
          const ours = await forward(net, toParams(values, net.model, f32), x, f32);
          assertClose(ours, p32, scaled(p32, 1e-4), `${tag} f32`);
        });
        if (gpu) {
          await t.step(`${tag}: WebGPU vs PyTorch float32`, async () => {
            const ours = await forward(net, toParams(values, net.model, gpu), x, gpu);
            assertClose(ours, p32, scaled(p32, 1e-4), `${tag} webgpu`);
          });
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "PyTorch peer parameter counts equal ours for the paper configurations",
  ignore: !hasTorch,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const paths = await Promise.all(PAPER_UNGATED.map(async ([, cfg], i) => {
        const p = `${dir}/paper${i}.json`;
        await Deno.writeTextFile(p, JSON.stringify(cfg));
        return p;
      }));
      const out = await python([PEER, "count", ...paths.flatMap((p) => ["--config", p])]);
      const counts = out.trim().split("\n").map(Number);
      PAPER_UNGATED.forEach(([, cfg, expected], i) => {
        assert.equal(counts[i], expected, `peer, config ${i}`);
        assert.equal(new SongUNet(cfg).registry.count(), expected, `ours, config ${i}`);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "torch.save'd state_dict -> convert-state-dict.py -> loadParamsFile: same forward",
  ignore: !hasTorch,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const cfg = AMBIENT16;
      const { cfgPath, inPath, x } = await caseFiles(dir, "rt", cfg);
      const pt = `${dir}/rt.pt`;
      await python([PEER, "init", "--config", cfgPath, "--out", pt, "--seed", "2", "--perturb"]
        .concat(["--key", "ema"]));
      const st = `${dir}/rt.safetensors`;
      const [report, peer] = await Promise.all([
        python([CONVERT, pt, st]),
        peerForward(dir, cfgPath, pt, inPath, "float32", "rt"),
      ]);
      const net = new EDMPrecond(new SongUNet(cfg));
      const count = net.model.registry.count();
      assert.match(
        report,
        new RegExp(
          `\\(${net.model.registry.specs.length} parameters, 4 buffers\\): ${count} parameter values`,
        ),
      );
      // Same names in the same order (the reference's resample_filter buffers aside).
      const names = [...decodeSafetensors(await Deno.readFile(st)).tensors.keys()]
        .filter((n) => !n.endsWith(".resample_filter"));
      assert.deepEqual(names, net.model.registry.specs.map((s) => s.name));
      const b = cpuBackend("f32");
      const ours = await forward(net, await loadParamsFile(st, net.model.registry, b), x, b);
      assertClose(ours, peer, scaled(peer, 1e-4), "round trip");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "convert-state-dict.py infers the network configuration from the shapes and checks flags",
  ignore: !hasTorch,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const clean: SongUNetConfig = {
        imgResolution: 16,
        inChannels: 3,
        outChannels: 3,
        modelChannels: 8,
        channelMult: [1, 2, 2],
        numBlocks: 2,
        attnResolutions: [4, 8],
        dropout: 0,
      };
      for (
        const [tag, cfg, flags] of [
          ["ambient", AMBIENT16, ["--p", "0.4", "--delta", "0.2", "--ambient"]],
          ["clean", clean, ["--clean", "--channel-mult", "1,2,2", "--attn", "4,8"]],
        ] as const
      ) {
        const cfgPath = `${dir}/${tag}.json`;
        await Deno.writeTextFile(cfgPath, JSON.stringify(cfg));
        const pt = `${dir}/${tag}.pt`;
        await python([PEER, "init", "--config", cfgPath, "--out", pt]);
        const st = `${dir}/${tag}.safetensors`;
        await python([CONVERT, pt, st, ...flags]);
        const config = JSON.parse(decodeSafetensors(await Deno.readFile(st)).metadata.config);
        const { imgResolution, inChannels, outChannels, ...network } = cfg;
        assert.deepEqual(config.network, network, tag);
        assert.equal(config.ambient, inChannels === 2 * outChannels, tag);
        assert.deepEqual(config.data, {
          kind: "folder",
          dir: "",
          size: imgResolution,
          channels: outChannels,
        });
        if (tag === "ambient") assert.deepEqual(config.corruption, { p: 0.4, delta: 0.2 });
        // A flag that disagrees with the shapes is refused, naming both.
        await assert.rejects(
          () => python([CONVERT, pt, `${dir}/bad.safetensors`, ...flags, "--num-blocks", "3"]),
          new RegExp(`numBlocks: flag 3, file ${cfg.numBlocks}`),
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
