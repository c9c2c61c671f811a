/**
 * The embedded demo: the two Fashion-MNIST priors shipped in `fixtures/models` (one trained by
 * `train:fmnist-inpaint` on randomly erased images, one by `train:fmnist-clean`) solve
 * compressed sensing, super-resolution and box inpainting on held-out images by A-DPS and
 * FS-DPS. A short run of `scripts/transfer-cs.ts`; writes `out/demo/report.md` with the table
 * (PSNR / SSIM / NRMSE) and the image grids.
 *
 * `deno task demo [--backend cpu|webgpu|onnx|onnx-cuda] [any transfer-cs flag, e.g. --count 16 --steps 100]`
 *
 * @module
 */

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname);
const MODELS = `${ROOT}fixtures/models`;

/** The demo's settings; flags given on the command line come later and win. */
const DEFAULTS = [
  `--models=ambient=${MODELS}/fmnist-inpaint,clean=${MODELS}/fmnist-clean`,
  `--images=${ROOT}fixtures/fmnist/t10k-images-idx3-ubyte.gz`,
  "--count=8",
  "--m=100",
  "--sr=2",
  "--box=0.375",
  "--steps=50",
  "--nfe-sweep=",
  "--zeta=4,cs=2",
  // The shipped ambient prior fills hidden pixels well down to σ ≈ 0.05 but not at EDM's 0.002,
  // where D there is c_out·F ≈ σF (scripts/denoiser-error.ts; docs/transfer-fmnist).
  "--sigma-min=0.05",
  "--batch=8",
  `--out=${ROOT}out/demo`,
];

/** The last value given for --out, in either "--out=DIR" or "--out DIR" form. */
function outDir(args: string[]): string {
  let dir = "";
  args.forEach((s, i) => {
    if (s.startsWith("--out=")) dir = s.slice(6);
    else if (s === "--out" && i + 1 < args.length) dir = args[i + 1];
  });
  return dir;
}

const out = outDir([...DEFAULTS, ...Deno.args]);
console.log(
  "demo: shipped ambient (p = 0.6) and clean Fashion-MNIST priors, A-DPS vs FS-DPS on held-out " +
    "images; a short transfer-cs run",
);
const started = performance.now();
const { code } = await new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", `${ROOT}scripts/transfer-cs.ts`, ...DEFAULTS, ...Deno.args],
  stdout: "inherit",
  stderr: "inherit",
}).output();
if (code !== 0) Deno.exit(code);
console.log(`\n${await Deno.readTextFile(`${out}/results.md`)}`);
console.log(
  `demo finished in ${((performance.now() - started) / 1000).toFixed(0)} s: ` +
    `open ${out}/report.md for the image grids`,
);
