import { gpuBuffer } from "../gpu/backend.ts";
import type { Engine } from "../gpu/engine.ts";
import {
  type PlaneLayout,
  planeLayout,
  stagePlanes,
} from "../gpu/kernels/lavapipe/texture_stage.ts";
import { Rng } from "../src/core/rng.ts";
import { assertClose, gpuOrSkip, hasGpu } from "./harness.ts";

/** Reads a texture's texels back (a test-only copy; the engine never reads textures). */
async function readTexture(engine: Engine, tex: GPUTexture, w: number, h: number) {
  engine.flush();
  const pitch = Math.ceil((w * 16) / 256) * 256;
  const buf = engine.device.createBuffer({
    size: pitch * h,
    usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ,
  });
  const enc = engine.device.createCommandEncoder();
  enc.copyTextureToBuffer({ texture: tex }, { buffer: buf, bytesPerRow: pitch }, [w, h]);
  engine.device.queue.submit([enc.finish()]);
  await buf.mapAsync(GPUMapMode.READ);
  const rows = new Float32Array(buf.getMappedRange().slice(0));
  buf.destroy();
  return (x: number, y: number, c: number) => rows[(y * pitch) / 4 + x * 4 + c];
}

/** Returns two NaN-filled textures of this size to the pool, so staging gets a poisoned one. */
function poisonPool(engine: Engine, w: number, h: number): void {
  const nan = new Float32Array(w * h * 4).fill(NaN);
  const texs = [engine.allocTexture(w, h), engine.allocTexture(w, h)];
  for (const tex of texs) {
    engine.device.queue.writeTexture({ texture: tex }, nan, { bytesPerRow: w * 16 }, [w, h]);
    engine.releaseTexture(tex);
  }
}

/** Every defined texel of `l` from its definition: plane rows shifted by the borders, else 0. */
function expected(src: Float64Array, l: PlaneLayout) {
  const at: { x: number; y: number; c: number; v: number }[] = [];
  for (let p = 0; p < l.planes; p++) {
    for (let r = 0; r < l.rows; r++) {
      for (let f = 0; f < l.texels * 4; f++) {
        const iy = r - l.top;
        const ix = f - l.left;
        const inside = iy >= 0 && iy < l.h && ix >= 0 && ix < l.w;
        at.push({
          x: (p % l.perRow) * l.planeTexels + r * l.texels + (f >> 2),
          y: Math.floor(p / l.perRow),
          c: f & 3,
          v: inside ? src[(p * l.h + iy) * l.w + ix] : 0,
        });
      }
    }
  }
  return at;
}

// [planes, h, w, top, left, rows, cols, maxDim]: borders on any side, rows that are not whole
// texels, several texture rows with a partial last one (small maxDim), and no border at all.
const CASES: number[][] = [
  [3, 4, 5, 1, 1, 6, 7, 8192],
  [7, 5, 6, 1, 1, 8, 10, 64],
  [20, 4, 8, 0, 0, 4, 8, 64],
  [4, 2, 3, 2, 3, 5, 9, 40],
  [33, 8, 8, 1, 1, 10, 10, 256],
];

Deno.test({
  name: "stagePlanes: every texel of the layout, through a buffer and by textureStore",
  ignore: !hasGpu,
  fn: async (t) => {
    const gpu = (await gpuOrSkip())!;
    if (!gpu.engine.canReadTextures) return;
    const rng = new Rng(5);
    for (const [planes, h, w, top, left, rows, cols, maxDim] of CASES) {
      const l = planeLayout(planes, h, w, top, left, rows, cols, maxDim)!;
      // f32 values, so the copy is exact.
      const src = rng.normals(planes * h * w).map(Math.fround);
      const want = expected(src, l);
      for (const viaBuffer of [true, false]) {
        await t.step(
          `[${planes},${h},${w}] border ${top},${left} via buffer ${viaBuffer}`,
          async () => {
            const x = gpu.fromArray(src, [planes, h, w]);
            poisonPool(gpu.engine, l.width, l.height);
            const tex = stagePlanes(gpu.engine, gpuBuffer(x), l, "stage", viaBuffer);
            const got = await readTexture(gpu.engine, tex, l.width, l.height);
            gpu.engine.releaseTexture(tex);
            x.dispose();
            assertClose(
              Float64Array.from(want, (e) => got(e.x, e.y, e.c)),
              Float64Array.from(want, (e) => e.v),
              { atol: 0, rtol: 0 },
              "staged texels",
            );
          },
        );
      }
    }
  },
});
