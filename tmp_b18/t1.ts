import { loadModel, cpuBackend } from "../mod.ts";
import { OrtBackend } from "../src/onnx/ort_backend.ts";
import { oneStep } from "../src/api.ts";
import { BoxInpainting } from "../src/operators/box_inpainting.ts";
import { Rng } from "../src/core/rng.ts";
import { cpuData } from "../src/cpu/backend.ts";
const ob = new OrtBackend();
const rng = new Rng(1);
const imgs = Float32Array.from({ length: 4 * 1024 }, () => rng.uniform() * 2 - 1);
const res: Float32Array[] = [];
for (const b of [cpuBackend(), ob]) {
  using model = await loadModel("fixtures/models/fmnist-inpaint", { backend: b });
  using op = new BoxInpainting(b, { height: 32, width: 32, p: 0.375, seed: 0 });
  const y = op.forward(b.fromArray(imgs, [4, 1, 32, 32]));
  const t0 = performance.now();
  const x = oneStep(model, op, y);
  console.log(b.name, (performance.now() - t0).toFixed(0), "ms");
  const t1 = performance.now();
  oneStep(model, op, y);
  console.log(b.name, "again", (performance.now() - t1).toFixed(0), "ms");
  res.push(cpuData(x) as Float32Array);
}
let m = 0; for (let i = 0; i < res[0].length; i++) m = Math.max(m, Math.abs(res[0][i] - res[1][i]));
console.log("max diff", m);
