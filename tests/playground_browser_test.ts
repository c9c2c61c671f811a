/**
 * The playground in a real browser: Debian's chromium, headless, WebGPU on SwiftShader's
 * Vulkan, driven by puppeteer-core. The page reconstructs one held-out image with a few
 * A-DPS steps; its PSNR must equal the Deno run of the same settings (WebGPU on lavapipe)
 * within a tolerance; the page is saved as out/playground.png. Skipped where no chromium is
 * installed, unless ADPS_REQUIRE_BROWSER=1.
 */
import assert from "node:assert/strict";
import puppeteer from "puppeteer-core";
import { fashionMnistToTensorData, readIdxImages } from "../src/data/idx.ts";
import { modelFromBytes, selectBackend } from "../src/web.ts";
import { DEFAULTS, reconstruct } from "../playground/reconstruct.ts";

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
const STEPS = 3;
const IMAGE = 0;

/** Runs a task to completion; fails with its output otherwise. */
async function task(args: string[]): Promise<void> {
  const o = await new Deno.Command(Deno.execPath(), { args, cwd: ROOT, stderr: "piped" }).output();
  assert.ok(o.success, `deno ${args.join(" ")}: ${new TextDecoder().decode(o.stderr)}`);
}

Deno.test({
  name: "playground: chromium (WebGPU on SwiftShader) shows the PSNR of the Deno run",
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
      await page.goto(`${url}?image=${IMAGE}&steps=${STEPS}&run=1`);
      // Strings, not functions: they run in the page (DOM types are not this file's).
      await page.waitForFunction(
        `document.getElementById("status").dataset.done === "1" || document.body.dataset.error`,
        { timeout: 300_000, polling: 500 },
      );
      const shown = await page.evaluate(`({
        psnr: Number(document.getElementById("status").dataset.psnr),
        adapter: document.getElementById("adapter").textContent,
        error: document.getElementById("error").textContent,
      })`) as { psnr: number; adapter: string; error: string };
      await Deno.mkdir(`${ROOT}out`, { recursive: true });
      await page.screenshot({ path: `${ROOT}out/playground.png` });
      assert.equal(shown.error, "", `the page failed: ${shown.error}\n${logs.join("\n")}`);
      assert.match(shown.adapter ?? "", /^webgpu/, `no WebGPU in chromium: ${shown.adapter}`);

      const backend = await selectBackend();
      const bytes = await Deno.readFile(
        `${ROOT}fixtures/models/fmnist-inpaint/network-ema.safetensors`,
      );
      using model = await modelFromBytes(bytes, { backend });
      const images = fashionMnistToTensorData(
        await readIdxImages(`${ROOT}fixtures/fmnist/t10k-images-idx3-ubyte.gz`),
      );
      const truth = images.slice(IMAGE * 1024, (IMAGE + 1) * 1024);
      const want = await reconstruct(model, truth, { ...DEFAULTS, steps: STEPS });
      console.log(
        `chromium (${shown.adapter}): ${shown.psnr} dB; Deno (${backend.name}): ${want.psnr} dB`,
      );
      assert.ok(
        Math.abs(shown.psnr - want.psnr) <= PSNR_TOL_DB,
        `PSNR in chromium ${shown.psnr} dB, in Deno ${want.psnr} dB`,
      );
    } finally {
      await browser.close();
      server.kill();
      await server.status;
    }
  },
});
