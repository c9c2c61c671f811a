/**
 * The playground in a real browser: Debian's chromium, headless, WebGPU on SwiftShader's
 * Vulkan, driven by puppeteer-core. The page reconstructs one held-out image by box inpainting
 * with K = 2 draws of a few steps of A-DPS (ambient prior) and FS-DPS (clean prior); the PSNR
 * it shows for each must equal the Deno run of the same settings (WebGPU on lavapipe) within a
 * tolerance; the page is saved as out/playground.png. A second load with `?gpu=off` (no
 * navigator.gpu) must say that there is no WebGPU adapter, and not fail. Skipped where no
 * chromium is installed, unless ADPS_REQUIRE_BROWSER=1. ADPS_PLAYGROUND_STEPS and
 * ADPS_PLAYGROUND_K set a longer run (the README's screenshot).
 */
import assert from "node:assert/strict";
import puppeteer from "puppeteer-core";
import { fashionMnistToTensorData, readIdxImages } from "../src/data/idx.ts";
import { modelFromBytes, selectBackend } from "../src/web.ts";
import { DEFAULTS, PRIORS, reconstruct, type Settings } from "../playground/reconstruct.ts";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname);
const CHROMIUM = Deno.env.get("ADPS_CHROMIUM") ?? "/usr/bin/chromium";
const hasChromium = await Deno.stat(CHROMIUM).then(() => true, () => false);
const FLAGS = [
  "--headless=new",
  "--no-sandbox",
  "--enable-unsafe-webgpu",
  "--enable-features=Vulkan,WebGPUService",
  "--use-vulkan=swiftshader",
  "--use-webgpu-adapter=swiftshader",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
];
/** PSNR may differ by float rounding between SwiftShader and lavapipe through the steps. */
const PSNR_TOL_DB = 0.01;
const IMAGE = 0;
const SETTINGS: Settings = {
  ...DEFAULTS,
  operator: "box",
  steps: Number(Deno.env.get("ADPS_PLAYGROUND_STEPS") ?? 3),
  k: Number(Deno.env.get("ADPS_PLAYGROUND_K") ?? 2),
};

/** Runs a task to completion; fails with its output otherwise. */
async function task(args: string[]): Promise<void> {
  const o = await new Deno.Command(Deno.execPath(), { args, cwd: ROOT, stderr: "piped" }).output();
  assert.ok(o.success, `deno ${args.join(" ")}: ${new TextDecoder().decode(o.stderr)}`);
}

Deno.test({
  name:
    "playground: chromium (WebGPU on SwiftShader) shows the PSNRs of the Deno run; no adapter is said",
  ignore: !hasChromium && Deno.env.get("ADPS_REQUIRE_BROWSER") !== "1",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await task(["task", "playground:build"]);
    const server = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "playground/serve.ts", "--port", "0"],
      cwd: ROOT,
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      // SwiftShader compiles every kernel on the page's thread: calls may wait minutes.
      protocolTimeout: 400_000,
    });
    try {
      const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
      const { value: line } = await reader.read();
      const url = /http:\/\/[\d.]+:\d+\//.exec(line ?? "")?.[0];
      assert.ok(url, `the server said: ${line}`);
      reader.releaseLock();

      const page = await browser.newPage();
      const logs: string[] = [];
      page.on("console", (m) => logs.push(m.text()));
      page.on("pageerror", (e) => logs.push(String(e)));
      await page.setViewport({ width: 900, height: 700 });
      const { operator, steps, k } = SETTINGS;
      await page.goto(`${url}?image=${IMAGE}&operator=${operator}&steps=${steps}&k=${k}&run=1`);
      // Strings, not functions: they run in the page (DOM types are not this file's).
      await page.waitForFunction(
        `document.getElementById("status").dataset.done === "1" || document.body.dataset.error`,
        { timeout: 300_000, polling: 500 },
      );
      const shown = await page.evaluate(`({
        ambient: Number(document.getElementById("ambient").dataset.psnr),
        clean: Number(document.getElementById("clean").dataset.psnr),
        adapter: document.getElementById("adapter").textContent,
        error: document.getElementById("error").textContent,
      })`) as { ambient: number; clean: number; adapter: string; error: string };
      await Deno.mkdir(`${ROOT}out`, { recursive: true });
      await page.screenshot({ path: `${ROOT}out/playground.png`, fullPage: true });
      assert.equal(shown.error, "", `the page failed: ${shown.error}\n${logs.join("\n")}`);
      assert.match(shown.adapter ?? "", /^webgpu/, `no WebGPU in chromium: ${shown.adapter}`);

      // The same page where the browser has no navigator.gpu: a notice, no failure.
      const bare = await browser.newPage();
      bare.on("pageerror", (e) => logs.push(String(e)));
      await bare.goto(`${url}?gpu=off`);
      await bare.waitForFunction(`document.body.dataset.ready || document.body.dataset.error`, {
        timeout: 120_000,
        polling: 200,
      });
      const none = await bare.evaluate(`({
        note: document.getElementById("nogpu").hidden ? "" : document.getElementById("nogpu").textContent,
        adapter: document.getElementById("adapter").textContent,
        error: document.getElementById("error").textContent,
      })`) as { note: string; adapter: string; error: string };
      assert.equal(none.error, "", `without WebGPU the page failed: ${none.error}`);
      assert.match(none.note, /^No WebGPU adapter: this browser has no navigator\.gpu/);
      assert.equal(none.adapter, "CPU (no WebGPU adapter)");

      const backend = await selectBackend();
      const load = async (name: string) =>
        modelFromBytes(
          await Deno.readFile(`${ROOT}fixtures/models/${name}/network-ema.safetensors`),
          { backend },
        );
      using ambient = await load("fmnist-inpaint");
      using clean = await load("fmnist-clean");
      const images = fashionMnistToTensorData(
        await readIdxImages(`${ROOT}fixtures/fmnist/t10k-images-idx3-ubyte.gz`),
      );
      const truth = images.slice(IMAGE * 1024, (IMAGE + 1) * 1024);
      const want = await reconstruct({ ambient, clean }, truth, SETTINGS);
      for (const p of PRIORS) {
        console.log(
          `${p}: chromium (${shown.adapter}) ${shown[p]} dB; Deno (${backend.name}) ` +
            `${want.priors[p].psnr} dB`,
        );
        assert.ok(
          Math.abs(shown[p] - want.priors[p].psnr) <= PSNR_TOL_DB,
          `${p}: PSNR in chromium ${shown[p]} dB, in Deno ${want.priors[p].psnr} dB`,
        );
      }
    } finally {
      await browser.close();
      server.kill();
      await server.status;
    }
  },
});
