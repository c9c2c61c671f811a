/// <reference lib="dom" />
/// <reference lib="esnext" />
/**
 * The playground page: loads the shipped ambient prior and the held-out images over HTTP,
 * reconstructs the chosen one (playground/reconstruct.ts) on WebGPU where the browser has it,
 * and shows the images, PSNR and SSIM. `?image=3&steps=5&run=1` runs at once (the test does).
 *
 * @module
 */
import { decodeIdx, fashionMnistToTensorData, gunzip, IDX_IMAGES_MAGIC } from "../src/data/idx.ts";
import { modelFromUrl, selectBackend } from "../src/web.ts";
import { DEFAULTS, reconstruct, type Settings } from "./reconstruct.ts";

const MODEL = "/fixtures/models/fmnist-inpaint/network-ema.safetensors";
const IMAGES = "/fixtures/fmnist/t10k-images-idx3-ubyte.gz";
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** Draws a [H·W] image in [−1, 1] into a canvas (grey levels). */
function draw(id: string, v: Float32Array, h = 32, w = 32): void {
  const ctx = $<HTMLCanvasElement>(id).getContext("2d")!;
  const img = ctx.createImageData(w, h);
  for (let i = 0; i < h * w; i++) {
    const g = Math.round(Math.min(1, Math.max(0, (v[i] + 1) / 2)) * 255);
    img.data.set([g, g, g, 255], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
}

async function main(): Promise<void> {
  const query = new URLSearchParams(location.search);
  const form = $<HTMLFormElement>("form");
  for (const [k, v] of Object.entries({ image: 0, ...DEFAULTS })) {
    const input = form.elements.namedItem(k) as HTMLInputElement | null;
    if (input) input.value = query.get(k) ?? String(v);
  }
  const backend = await selectBackend(query.get("backend") === "cpu" ? "cpu" : undefined);
  $("adapter").textContent = backend.kind === "webgpu"
    ? backend.name
    : `${backend.name}: this browser has no WebGPU adapter, so the CPU runs it (slowly)`;
  const model = await modelFromUrl(MODEL, { backend });
  const idx = decodeIdx(
    await gunzip(new Uint8Array(await (await fetch(IMAGES)).arrayBuffer()), IMAGES),
    IDX_IMAGES_MAGIC,
    IMAGES,
  );
  const images = fashionMnistToTensorData({
    count: idx.dims[0],
    rows: idx.dims[1],
    cols: idx.dims[2],
    data: idx.data,
  });
  const per = 32 * 32;
  $("status").textContent = `ready: ${idx.dims[0]} held-out images`;
  const run = async () => {
    const f = new FormData(form);
    const n = Math.min(Math.max(0, Number(f.get("image")) | 0), idx.dims[0] - 1);
    const s: Settings = {
      ...DEFAULTS,
      box: Number(f.get("box")),
      sigmaY: Number(f.get("sigmaY")),
      steps: Math.max(1, Number(f.get("steps")) | 0),
      seed: Number(f.get("seed")) | 0,
    };
    const truth = images.slice(n * per, (n + 1) * per);
    draw("truth", truth);
    $("status").textContent = `running ${s.steps} A-DPS steps…`;
    const t0 = performance.now();
    const r = await reconstruct(model, truth, s);
    draw("measured", r.measured);
    draw("recon", r.x);
    $("psnr").textContent = r.psnr.toFixed(2);
    $("ssim").textContent = r.ssim.toFixed(3);
    const done = $("status");
    done.textContent = `done in ${((performance.now() - t0) / 1000).toFixed(1)} s`;
    done.dataset.psnr = String(r.psnr);
    done.dataset.done = "1";
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    run().catch(fail);
  });
  $<HTMLButtonElement>("run").disabled = false;
  if (query.get("run") === "1") await run();
}

function fail(e: unknown): void {
  $("error").textContent = `error: ${(e as Error).message ?? e}`;
  document.body.dataset.error = "1";
}

main().catch(fail);
