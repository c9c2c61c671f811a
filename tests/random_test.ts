import assert from "node:assert/strict";
import { gpuBuffer } from "../gpu/backend.ts";
import { randomGpu } from "../gpu/kernels/random.ts";
import type { Backend } from "../src/core/backend.ts";
import { cpuBackend } from "../src/core/select_backend.ts";
import { philox4x32_10, philoxKey } from "../src/cpu/philox.ts";
import { bernoulli, randomNormal, randomUniform } from "../src/ops/random.ts";
import { assertClose, gpuOrSkip } from "./harness.ts";

const hex = (a: ArrayLike<number>) =>
  Array.from(a, (x) => (x >>> 0).toString(16).padStart(8, "0")).join(" ");

Deno.test("Philox4x32-10 known-answer vectors (Random123 kat_vectors)", () => {
  const cases: [number[], number[], string][] = [
    [[0, 0, 0, 0], [0, 0], "6627e8d5 e169c58d bc57ac4c 9b00dbd8"],
    [[-1, -1, -1, -1], [-1, -1], "408f276d 41c83b0e a20bc7c6 6d5451fd"],
    [
      [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
      [0xa4093822, 0x299f31d0],
      "d16cfe09 94fdcceb 5001e420 24126ea1",
    ],
  ];
  for (const [c, k, want] of cases) {
    assert.equal(hex(philox4x32_10(c[0], c[1], c[2], c[3], k[0], k[1])), want);
  }
});

Deno.test("Philox words: WebGPU bit-identical to TypeScript", async (t) => {
  const gpu = await gpuOrSkip();
  if (!gpu) return;
  // 64-bit seeds exercise the key's high word; streams near 2³² the counter's second word.
  for (const [n, seed, stream] of [[1, 0, 0], [77, 42, 3], [1000, 2 ** 40 + 12345, 0xfffffffe]]) {
    await t.step(`n=${n} seed=${seed} stream=${stream}`, async () => {
      const key = philoxKey(seed);
      const out = gpu.empty([4 * n]);
      randomGpu(gpu.engine, "bits", gpuBuffer(out), n, key, stream);
      const got = new Uint32Array((await out.toArray()).slice().buffer);
      out.dispose();
      const want = new Uint32Array(4 * n);
      for (let i = 0; i < n; i++) {
        want.set(philox4x32_10(i, stream, 0, 0, key[0], key[1]), 4 * i);
      }
      for (let j = 0; j < want.length; j++) {
        if (got[j] !== want[j]) {
          assert.fail(`word ${j}: gpu ${hex([got[j]])}, ts ${hex([want[j]])}`);
        }
      }
    });
  }
});

const SHAPES = [[1], [63], [5, 13], [2, 3, 7, 11]];

Deno.test("uniforms, normals, Bernoulli: WebGPU vs CPU twin", async (t) => {
  const gpu = await gpuOrSkip();
  if (!gpu) return;
  const cpu = cpuBackend();
  for (const shape of SHAPES) {
    await t.step(`uniform [${shape}] bit-identical`, async () => {
      const a = await randomUniform(gpu, shape, 7, 2).toArray();
      const b = await randomUniform(cpu, shape, 7, 2).toArray();
      assert.deepEqual(
        new Uint32Array(a.slice().buffer),
        new Uint32Array(Float32Array.from(b).buffer),
      );
    });
    await t.step(`normal [${shape}] within 1e-5`, async () => {
      const a = await randomNormal(gpu, shape, 99, 1).toArray();
      const b = await randomNormal(cpu, shape, 99, 1).toArray();
      assertClose(a, b, { atol: 1e-5, rtol: 1e-5 }, "randomNormal");
    });
    await t.step(`bernoulli [${shape}] identical`, async () => {
      const a = await bernoulli(gpu, shape, 0.37, 5, 4).toArray();
      const b = await bernoulli(cpu, shape, 0.37, 5, 4).toArray();
      assert.deepEqual(Array.from(a), Array.from(b));
    });
  }
  await t.step("normals over 2·10⁵ elements within 1e-5 (tails included)", async () => {
    const a = await randomNormal(gpu, [200000], 3).toArray();
    const b = await randomNormal(cpu, [200000], 3).toArray();
    assertClose(a, b, { atol: 1e-5, rtol: 1e-5 }, "randomNormal large");
  });
});

/** Mean and (unbiased) variance. */
function moments(a: ArrayLike<number>): [number, number] {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  const m = s / a.length;
  let v = 0;
  for (let i = 0; i < a.length; i++) v += (a[i] - m) ** 2;
  return [m, v / (a.length - 1)];
}

const N = 100000;

async function backends(): Promise<Backend[]> {
  const gpu = await gpuOrSkip();
  return gpu ? [cpuBackend(), gpu] : [cpuBackend()];
}

Deno.test("moments of 1e5 samples within 5 Monte-Carlo standard errors", async (t) => {
  for (const b of await backends()) {
    await t.step(`${b.name} uniform`, async () => {
      const a = await randomUniform(b, [N], 11).toArray();
      const [m, v] = moments(a);
      // sd(mean) = √(1/12/N); sd(var) = √((1/80 − 1/144)/N)
      assert.ok(Math.abs(m - 0.5) < 5 * Math.sqrt(1 / 12 / N), `mean ${m}`);
      assert.ok(Math.abs(v - 1 / 12) < 5 * Math.sqrt((1 / 80 - 1 / 144) / N), `var ${v}`);
      assert.ok(a.every((x) => x > 0 && x <= 1), "range (0, 1]");
    });
    await t.step(`${b.name} normal`, async () => {
      const a = await randomNormal(b, [N], 12, 5).toArray();
      const [m, v] = moments(a);
      assert.ok(Math.abs(m) < 5 / Math.sqrt(N), `mean ${m}`);
      assert.ok(Math.abs(v - 1) < 5 * Math.sqrt(2 / N), `var ${v}`);
      let within1 = 0;
      let skew = 0;
      let kurt = 0;
      for (const x of a) {
        if (Math.abs(x) < 1) within1++;
        skew += x ** 3;
        kurt += x ** 4;
      }
      const f = within1 / N;
      const p1 = 0.6826894921370859;
      assert.ok(Math.abs(f - p1) < 5 * Math.sqrt(p1 * (1 - p1) / N), `P(|z|<1) ${f}`);
      assert.ok(Math.abs(skew / N) < 5 * Math.sqrt(15 / N), `third moment ${skew / N}`);
      assert.ok(Math.abs(kurt / N - 3) < 5 * Math.sqrt(96 / N), `fourth moment ${kurt / N}`);
    });
    for (const p of [0, 0.1, 0.5, 0.93, 1]) {
      await t.step(`${b.name} bernoulli p=${p}`, async () => {
        const a = await bernoulli(b, [N], p, 13).toArray();
        let ones = 0;
        for (const x of a) {
          assert.ok(x === 0 || x === 1, `value ${x}`);
          ones += x;
        }
        const f = ones / N;
        assert.ok(Math.abs(f - p) <= 5 * Math.sqrt(p * (1 - p) / N), `frequency ${f} for p=${p}`);
      });
    }
  }
});

Deno.test("same seed and stream give the same draws; other seeds or streams differ", async (t) => {
  for (const b of await backends()) {
    await t.step(b.name, async () => {
      const base = await randomNormal(b, [4, 50], 1000, 0).toArray();
      assert.deepEqual(await randomNormal(b, [4, 50], 1000, 0).toArray(), base);
      for (const [seed, stream] of [[1001, 0], [1000, 1], [1000 + 2 ** 32, 0]]) {
        const other = await randomNormal(b, [4, 50], seed, stream).toArray();
        const same = other.filter((x, i) => x === base[i]).length;
        assert.ok(same < 3, `seed ${seed} stream ${stream}: ${same} equal values`);
      }
      // Element values depend on the flat index only, not on the shape.
      const flat = await randomNormal(b, [200], 1000, 0).toArray();
      assert.deepEqual(flat, base);
      const u1 = await randomUniform(b, [300], 8, 0).toArray();
      const u2 = await randomUniform(b, [300], 8, 1).toArray();
      const [, , r] = correlation(u1, u2);
      assert.ok(Math.abs(r) < 5 / Math.sqrt(300), `streams correlated: r = ${r}`);
    });
  }
  await t.step("bad seeds and streams throw", () => {
    const b = cpuBackend();
    assert.throws(() => randomUniform(b, [2], -1), /seed/);
    assert.throws(() => randomUniform(b, [2], 1.5), /seed/);
    assert.throws(() => randomUniform(b, [2], 1, 2 ** 32), /stream/);
    assert.throws(() => bernoulli(b, [2], 1.5, 1), /probability/);
  });
});

function correlation(a: ArrayLike<number>, b: ArrayLike<number>): [number, number, number] {
  const [ma, va] = moments(a);
  const [mb, vb] = moments(b);
  let c = 0;
  for (let i = 0; i < a.length; i++) c += (a[i] - ma) * (b[i] - mb);
  return [ma, mb, c / (a.length - 1) / Math.sqrt(va * vb)];
}

Deno.test("an offset draws a slice of the larger draw: rounds get the batch's values", async (t) => {
  for (const b of await backends()) {
    await t.step(b.name, async () => {
      for (const [n, offset] of [[37, 5], [64, 20], [3, 61]]) {
        const whole = await randomNormal(b, [offset + n], 77, 1).toArray();
        const part = await randomNormal(b, [n], 77, 1, offset).toArray();
        assert.deepEqual(part, whole.subarray(offset), `normal n ${n} offset ${offset}`);
        // Not the draw at offset 0: the test tells a dropped offset.
        const head = await randomNormal(b, [n], 77, 1).toArray();
        assert.notDeepEqual(part, head);
      }
    });
  }
  await t.step("offsets past 2³² counters throw", () => {
    assert.throws(() => randomNormal(cpuBackend(), [4], 1, 0, 2 ** 32 - 2), /offset/);
    assert.throws(() => randomNormal(cpuBackend(), [4], 1, 0, 1.5), /offset/);
  });
});
