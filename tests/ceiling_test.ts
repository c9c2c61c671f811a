/**
 * The FMA-ceiling benchmark (bench/ceiling.ts) checks its kernels' outputs before timing them;
 * these tests show that check is exact where it must be and fails a kernel that skips FMAs.
 */
import assert from "node:assert/strict";
import {
  CEILING_CASES,
  CEILING_M,
  CEILING_RTOL,
  ceilingKernel,
  ceilingTexture,
  ceilingTrips,
  expectedCeilingOutput,
  measureCeiling,
} from "../bench/ceiling.ts";
import { gpuOrSkip, hasGpu } from "./harness.ts";

Deno.test("ceiling: the closed form is the FMA recurrence, in float64", () => {
  for (const [gid, chains, fmas] of [[0, 1, 1], [5, 3, 17], [1000, 16, 4096], [77, 48, 1366]]) {
    let sum = 0;
    for (let i = 0; i < chains; i++) {
      let a = 1 + (gid + i) * 1e-3;
      for (let f = 0; f < fmas; f++) a = a * CEILING_M + 0;
      sum += a;
    }
    const want = expectedCeilingOutput(gid, chains, fmas);
    assert.ok(Math.abs(sum - want) <= 1e-12 * want, `gid ${gid}: ${sum} vs ${want}`);
  }
});

Deno.test("ceiling: every case's check tells a kernel 10% short of its FMAs", () => {
  for (const c of CEILING_CASES) {
    const { fmas } = ceilingTrips(c);
    for (const gid of [0, 32_767]) {
      const want = expectedCeilingOutput(gid, c.chains, fmas);
      const short = expectedCeilingOutput(gid, c.chains, Math.floor(0.9 * fmas));
      assert.ok(Math.abs(short - want) > CEILING_RTOL * want, `${c.name}: ${short} vs ${want}`);
    }
  }
});

Deno.test({
  name: "ceiling: the kernels match float64 and one 10% short of its trips does not",
  ignore: !hasGpu,
  async fn(t) {
    const engine = (await gpuOrSkip())!.engine;
    await t.step("measureCeiling checks every invocation and reports positive rates", async () => {
      const rows = await measureCeiling(engine, 1, 1);
      assert.equal(rows.length, CEILING_CASES.length);
      for (const r of rows) assert.ok(r.gflops > 0 && Number.isFinite(r.gflopsPerCpuS));
    });
    await t.step("a loading kernel run for 90% of its trips misses every output", async () => {
      const c = CEILING_CASES.find((k) => k.load)!;
      const { trips, fmas } = ceilingTrips(c);
      const n = 64 * 8;
      const out = engine.alloc(4 * n);
      const { tex, fill } = ceilingTexture(engine);
      engine.upload(out, new Float32Array(n).fill(Number.NaN));
      engine.dispatch({
        label: "ceiling, short",
        code: ceilingKernel(c),
        inputs: [],
        outputs: [out],
        textures: [tex],
        uniforms: { u: [Math.floor(0.9 * trips)], f: [CEILING_M, 0] },
        groups: [8],
      });
      const got = await engine.read(out, 4 * n);
      engine.release(out);
      engine.release(fill);
      engine.releaseTexture(tex);
      for (let gid = 0; gid < n; gid++) {
        const want = expectedCeilingOutput(gid, c.chains, fmas);
        assert.ok(Math.abs(got[gid] - want) > CEILING_RTOL * want, `invocation ${gid}`);
      }
    });
  },
});
