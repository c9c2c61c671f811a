/// <reference lib="dom" />
/// <reference lib="esnext" />
/**
 * The playground page: loads the shipped ambient and clean priors and the held-out images over
 * HTTP, and reconstructs the chosen image with both (playground/reconstruct.ts) on the
 * browser's WebGPU, redrawing the current estimates every few steps; at the end, each prior's
 * posterior mean, its std map and the mean's PSNR / SSIM. Without a WebGPU adapter it says so
 * and runs on the CPU. The query sets the form (`?image=3&operator=sr4&steps=5&k=2&run=1` runs
 * at once, as the browser test does); `?gpu=off` hides `navigator.gpu`, as a browser without it.
 *
 * @module
 */
import { decodeIdx, fashionMnistToTensorData, gunzip, IDX_IMAGES_MAGIC } from "../src/data/idx.ts";
import { type Backend, cpuBackend, type Model, modelFromUrl, selectBackend } from "../src/web.ts";
import {
  DEFAULTS,
  type OperatorKind,
  type Prior,
  PRIORS,
  type Progress,
  reconstruct,
  type Settings,
} from "./reconstruct.ts";

const MODELS: Record<Prior, string> = {
  ambient: "/fixtures/models/fmnist-inpaint/network-ema.safetensors",
  clean: "/fixtures/models/fmnist-clean/network-ema.safetensors",
};
const TITLES: Record<Prior, string> = {
  ambient: "A-DPS, ambient prior",
  clean: "FS-DPS, clean prior",
};
const IMAGES = "/fixtures/fmnist/t10k-images-idx3-ubyte.gz";
const SIZE = 32;
const PER = SIZE * SIZE;
/** Redraw the estimates every this many steps. */
const EVERY = 2;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const within = <T extends HTMLElement>(prior: Prior, cls: string) =>
  $(prior).querySelector(`.${cls}`) as T;

/** Draws a [H·W] image in [−1, 1] into a canvas (grey levels). */
function draw(canvas: HTMLCanvasElement, v: ArrayLike<number>): void {
  paint(canvas, v, (x) => {
    const g = Math.round(Math.min(1, Math.max(0, (x + 1) / 2)) * 255);
    return [g, g, g];
  });
}

/** Draws a measurement: erased pixels (0 in `observed`) in blue, so they read as missing. */
function drawMeasured(
  canvas: HTMLCanvasElement,
  v: ArrayLike<number>,
  observed: ArrayLike<number> | null,
) {
  draw(canvas, v);
  if (!observed) return;
  const ctx = canvas.getContext("2d")!;
  ctx.fillStyle = "#3a6fd8";
  for (let i = 0; i < PER; i++) {
    if (observed[i] === 0) ctx.fillRect(i % SIZE, Math.floor(i / SIZE), 1, 1);
  }
}

/** Draws a [H·W] map of values in [0, top] as heat: black, red, yellow, white. */
function drawHeat(canvas: HTMLCanvasElement, v: ArrayLike<number>, top: number): void {
  paint(canvas, v, (x) => {
    const t = top > 0 ? Math.min(1, x / top) * 3 : 0;
    const c = (u: number) => Math.round(Math.min(1, Math.max(0, u)) * 255);
    return [c(t), c(t - 1), c(t - 2)];
  });
}

function paint(canvas: HTMLCanvasElement, v: ArrayLike<number>, rgb: (x: number) => number[]) {
  const ctx = canvas.getContext("2d")!;
  const img = ctx.createImageData(SIZE, SIZE);
  for (let i = 0; i < PER; i++) img.data.set([...rgb(v[i]), 255], 4 * i);
  ctx.putImageData(img, 0, 0);
}

/** The adapter's vendor, architecture and device as the browser reports them. */
async function adapterDetails(): Promise<string> {
  const info = (await navigator.gpu.requestAdapter())?.info;
  const said = info
    ? Object.entries({
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description,
    }).filter(([, v]) => v)
    : [];
  return said.length ? `; adapter: ${said.map(([k, v]) => `${k} ${v}`).join(", ")}` : "";
}

/** The backend: WebGPU where the browser has an adapter, else the CPU and a visible notice. */
async function chooseBackend(query: URLSearchParams): Promise<Backend> {
  if (query.get("gpu") === "off") {
    // As a browser without WebGPU: the property lives on Navigator's prototype.
    delete (Navigator.prototype as { gpu?: unknown }).gpu;
  }
  let why = "";
  try {
    const backend = await selectBackend(query.get("backend") === "cpu" ? "cpu" : undefined);
    if (backend.kind === "webgpu") {
      $("adapter").textContent = `${backend.name}${await adapterDetails()}`;
      return backend;
    }
  } catch (e) {
    why = ` (${(e as Error).message})`;
  }
  const gpu = "gpu" in navigator
    ? "navigator.gpu gave no adapter"
    : "this browser has no navigator.gpu";
  $("adapter").textContent = "CPU (no WebGPU adapter)";
  const note = $("nogpu");
  note.textContent = `No WebGPU adapter: ${gpu}${why}. The page runs on the CPU instead, about ` +
    `a hundred times slower: keep the steps and K small, or open it in a browser with WebGPU ` +
    `(Chrome or Edge 113+, Firefox 141+ on Windows, Safari 26).`;
  note.hidden = false;
  document.body.dataset.nogpu = "1";
  return cpuBackend();
}

/** The form's settings, clamped to what the page offers. */
function settings(form: HTMLFormElement): Settings & { image: number } {
  const f = new FormData(form);
  const num = (k: string) => Number(f.get(k));
  const int = (k: string, lo: number, hi: number) =>
    Math.min(hi, Math.max(lo, Math.round(num(k)) || lo));
  return {
    ...DEFAULTS,
    image: int("image", 0, 9999),
    operator: String(f.get("operator")) as OperatorKind,
    density: num("density"),
    box: num("box"),
    m: int("m", 1, PER),
    sigmaY: Math.max(0, num("sigmaY") || 0),
    steps: int("steps", 1, 500),
    k: int("k", 1, 32),
    zeta: Math.max(0, num("zeta") || 0),
    seed: int("seed", 0, 2 ** 31 - 1),
  };
}

/** Shows only the controls of the chosen operator; the brush paints on the measurement. */
function showOperator(form: HTMLFormElement): OperatorKind {
  const kind = (form.elements.namedItem("operator") as HTMLSelectElement).value as OperatorKind;
  for (const el of form.querySelectorAll<HTMLElement>("[data-for]")) {
    el.hidden = el.dataset.for !== kind;
  }
  $("measured").classList.toggle("brush", kind === "brush");
  $<HTMLOutputElement>("densityOut").value = `${
    Math.round(100 * Number((form.elements.namedItem("density") as HTMLInputElement).value))
  }%`;
  $<HTMLOutputElement>("boxOut").value = `${
    Math.round(100 * Number((form.elements.namedItem("box") as HTMLInputElement).value))
  }%`;
  return kind;
}

async function main(): Promise<void> {
  const query = new URLSearchParams(location.search);
  const form = $<HTMLFormElement>("form");
  for (const [k, v] of Object.entries({ image: 0, ...DEFAULTS })) {
    const input = form.elements.namedItem(k) as HTMLInputElement | HTMLSelectElement | null;
    if (input) input.value = query.get(k) ?? String(v);
  }
  showOperator(form);
  for (const p of PRIORS) {
    const column = $<HTMLTemplateElement>("prior").content.firstElementChild!.cloneNode(true);
    const div = column as HTMLElement;
    div.id = p;
    div.querySelector("h2")!.textContent = TITLES[p];
    $("priors").append(div);
  }
  const backend = await chooseBackend(query);
  const models = Object.fromEntries(
    await Promise.all(PRIORS.map(async (p) => [p, await modelFromUrl(MODELS[p], { backend })])),
  ) as Record<Prior, Model>;
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
  const truthOf = (n: number) => images.slice(n * PER, (n + 1) * PER);
  // The brush's mask (1: observed), painted on the measurement canvas.
  const painted = new Float32Array(PER).fill(1);
  const showInputs = () => {
    const s = settings(form);
    const truth = truthOf(s.image);
    draw($("truth"), truth);
    if (s.operator === "brush") drawMeasured($("measured"), truth, painted);
  };
  let brushing = false;
  const brush = (e: PointerEvent) => {
    if (!brushing || settings(form).operator !== "brush") return;
    const c = e.target as HTMLCanvasElement;
    const px = (e.offsetX / c.clientWidth) * SIZE, py = (e.offsetY / c.clientHeight) * SIZE;
    for (let i = 0; i < SIZE; i++) {
      for (let j = 0; j < SIZE; j++) {
        if ((i + 0.5 - py) ** 2 + (j + 0.5 - px) ** 2 <= 2.25) painted[i * SIZE + j] = 0;
      }
    }
    showInputs();
  };
  const canvas = $<HTMLCanvasElement>("measured");
  canvas.addEventListener("pointerdown", (e) => {
    brushing = true;
    canvas.setPointerCapture(e.pointerId);
    brush(e);
  });
  canvas.addEventListener("pointermove", brush);
  canvas.addEventListener("pointerup", () => brushing = false);
  $("clear").addEventListener("click", () => {
    painted.fill(1);
    showInputs();
  });
  $("another").addEventListener("click", () => {
    (form.elements.namedItem("image") as HTMLInputElement).value = String(
      Math.floor(Math.random() * idx.dims[0]),
    );
    showInputs();
  });
  form.addEventListener("input", () => {
    showOperator(form);
    showInputs();
  });
  showInputs();
  $("status").textContent = `ready: ${idx.dims[0]} held-out images`;

  const button = $<HTMLButtonElement>("run");
  const run = async () => {
    const s = settings(form);
    const status = $("status");
    delete status.dataset.done;
    button.disabled = true;
    for (const p of PRIORS) {
      within(p, "psnr").textContent = within(p, "ssim").textContent = "–";
      within(p, "what").textContent = "estimate";
      delete $(p).dataset.psnr;
    }
    const bar = $<HTMLProgressElement>("progress");
    const t0 = performance.now();
    const onProgress = async (p: Progress) => {
      draw(within(p.prior, "estimate"), p.x);
      within(p.prior, "what").textContent = `draw ${p.draw + 1} of ${s.k}, step ${p.step}`;
      bar.value = p.done / p.total;
      status.textContent = `${p.done} of ${p.total} steps…`;
      await new Promise((r) => setTimeout(r, 0)); // lets the page paint
    };
    try {
      const r = await reconstruct(
        models,
        truthOf(s.image),
        s,
        { every: EVERY, onProgress },
        painted,
      );
      drawMeasured($("measured"), r.measured, r.observed);
      const top = Math.max(...PRIORS.map((p) => Math.max(...r.priors[p].std)));
      for (const p of PRIORS) {
        const got = r.priors[p];
        draw(within(p, "estimate"), got.mean);
        drawHeat(within(p, "std"), got.std, top);
        within(p, "what").textContent = `posterior mean of ${s.k} draw${s.k > 1 ? "s" : ""}`;
        within(p, "psnr").textContent = got.psnr.toFixed(2);
        within(p, "ssim").textContent = got.ssim.toFixed(3);
        $(p).dataset.psnr = String(got.psnr);
      }
      $("scale").textContent = `std maps: black 0, white ${
        top.toFixed(3)
      } (both priors, one scale)`;
      const secs = (performance.now() - t0) / 1000;
      status.textContent = `done: ${s.k} draws × ${s.steps} steps × 2 priors in ${
        secs.toFixed(1)
      } s on ${backend.name}`;
      status.dataset.done = "1";
    } finally {
      button.disabled = false;
    }
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    run().catch(fail);
  });
  button.disabled = false;
  document.body.dataset.ready = "1";
  if (query.get("run") === "1") await run();
}

function fail(e: unknown): void {
  $("error").textContent = `error: ${(e as Error).message ?? e}`;
  document.body.dataset.error = "1";
}

main().catch(fail);
