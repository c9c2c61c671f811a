/**
 * The browser entry (src/web.ts, `./web`): bundled for the browser it holds no `Deno.` use,
 * no `node:` / `npm:` import and no `require`, and the bundle runs A-DPS from a model's bytes
 * in a process whose `Deno` global and WebGPU globals were deleted first (a browser without
 * WebGPU, as far as the code can tell), giving exactly the result of the Deno modules.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const WEIGHTS = `${ROOT}fixtures/models/fmnist-inpaint/network-ema.safetensors`;

/**
 * A runner: `bare` deletes Deno's and WebGPU's globals and imports the bundle; otherwise it
 * imports src/web.ts as Deno does. Both then run box inpainting of one smooth image with
 * 2 A-DPS steps on the CPU and print the PSNR and the values.
 */
function runner(module: string, bare: boolean): string {
  return `const bytes = await Deno.readFile(${JSON.stringify(WEIGHTS)});
const log = console.log;
if (${bare}) {
  for (const g of ["Deno", "GPUBufferUsage", "GPUTextureUsage", "GPUMapMode", "GPUShaderStage"]) {
    delete (globalThis as Record<string, unknown>)[g];
  }
  Object.defineProperty(globalThis, "navigator", { value: {}, configurable: true });
  if ("Deno" in globalThis) throw new Error("Deno is still defined");
}
const web = await import(${JSON.stringify(module)});
const backend = web.cpuBackend();
using model = await web.modelFromBytes(bytes, { backend });
const truth = Float32Array.from({ length: 1024 }, (_, i) => Math.sin(i / 37) * 0.8);
using x = backend.fromArray(truth, [1, 1, 32, 32]);
using op = new web.BoxInpainting(backend, { height: 32, width: 32, p: 0.375, seed: 1 });
using y = web.measure(op, x, 0.05, 2);
using out = web.tidy(() => web.adps(model, op, y, { steps: 2, zeta: 1, sigmaMin: 0.05, seed: 3 }).x);
const values = Array.from(await out.toArray());
const auto = (await web.selectBackend()).name;
log(JSON.stringify({ psnr: web.psnr(truth, values, { dataRange: 2 }), values, auto }));
`;
}

/** Writes and runs a runner; returns what it printed. */
async function runIn(dir: string, name: string, source: string, read: string[]) {
  await Deno.writeTextFile(`${dir}/${name}`, source);
  const o = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-config", `--allow-read=${[dir, ...read].join(",")}`, `${dir}/${name}`],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(o.success, `${name} failed:\n${new TextDecoder().decode(o.stderr)}`);
  return JSON.parse(new TextDecoder().decode(o.stdout));
}

Deno.test("./web bundles for the browser without Deno, node: or npm: and runs without them", async () => {
  const dir = await Deno.makeTempDir({ prefix: "adps-web-" });
  try {
    const bundle = `${dir}/web.js`;
    const b = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--platform", "browser", "-o", bundle, "src/web.ts"],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(b.success, `deno bundle: ${new TextDecoder().decode(b.stderr)}`);
    const text = await Deno.readTextFile(bundle);
    const denoUses = text.split("\n").filter((l) => /\bDeno\./.test(l));
    assert.deepEqual(denoUses, [], "Deno. in the browser bundle");
    assert.doesNotMatch(text, /from\s*["'](node|npm):|import\(\s*["'](node|npm):|\brequire\(/);

    const bare = await runIn(dir, "bare.ts", runner(`file://${bundle}`, true), [WEIGHTS]);
    const deno = await runIn(dir, "deno.ts", runner(`file://${ROOT}src/web.ts`, false), [ROOT]);
    // Without navigator.gpu the default backend is the CPU.
    assert.match(bare.auto, /^cpu/);
    assert.ok(Number.isFinite(deno.psnr) && deno.psnr > 0, `PSNR ${deno.psnr}`);
    assert.equal(bare.psnr, deno.psnr);
    assert.deepEqual(bare.values, deno.values);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
