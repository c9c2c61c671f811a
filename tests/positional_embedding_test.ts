import assert from "node:assert/strict";
import { cpuBackend } from "../src/core/select_backend.ts";
import { positionalEmbedding, positionalFrequencies } from "../src/ops/positional_embedding.ts";
import { assertClose, checkOp, gpuOrSkip } from "./harness.ts";

interface Case {
  N: number;
  channels: number;
  maxPositions?: number;
  endpoint?: boolean;
  /** Spread of the positions (EDM's ln(σ)/4 labels are O(1); VP labels reach ~1000). */
  spread: number;
}

const CASES: Case[] = [
  { N: 1, channels: 2, spread: 1 },
  { N: 3, channels: 8, spread: 1 },
  { N: 5, channels: 16, endpoint: true, spread: 2 },
  { N: 7, channels: 128, endpoint: true, spread: 1 },
  { N: 9, channels: 6, maxPositions: 100, spread: 3 },
  { N: 70, channels: 4, endpoint: true, spread: 1 },
];

Deno.test("positionalEmbedding: webgpu vs twin, gradients vs finite differences", async (t) => {
  const gpu = await gpuOrSkip();
  for (const c of CASES) {
    const name = `positionalEmbedding N=${c.N} C=${c.channels} max=${c.maxPositions ?? 10000} ` +
      `endpoint=${c.endpoint ?? false}`;
    await t.step(name, () =>
      checkOp({
        name,
        inputs: [{ shape: [c.N], scale: c.spread }],
        f: (x) => positionalEmbedding(x, c.channels, c),
        fdSamples: 20,
      }, gpu));
  }
  // Large phases: the GPU reduces them modulo 2π itself (WGSL's sin/cos promise [−π, π]).
  await t.step("large positions (VP-style labels up to ~1000)", () =>
    checkOp({
      name: "positionalEmbedding large",
      inputs: [{ shape: [33], gen: (r) => 1000 * (r.uniform() - 0.5) * 2 }],
      f: (x) => positionalEmbedding(x, 32),
      tol: { atol: 2e-6, rtol: 1e-5 },
      gradTol: { atol: 1e-4, rtol: 1e-4 },
      fdSamples: 10,
    }, gpu));
});

Deno.test("positionalEmbedding: exact values", async () => {
  const b = cpuBackend("f64");
  const exact = { atol: 1e-15, rtol: 1e-14 };
  // channels 4, endpoint false: freqs = 1e-4^(0/2), 1e-4^(1/2) = [1, 0.01].
  const y = await positionalEmbedding(b.fromArray([0, 1, -2], [3]), 4).toArray();
  const row = (x: number) => [Math.cos(x), Math.cos(x / 100), Math.sin(x), Math.sin(x / 100)];
  assertClose(y, [[1, 1, 0, 0], row(1), row(-2)].flat(), exact, "channels 4");
  // Literal values (independent of Math): cos 1, cos 0.01, sin 1, sin 0.01.
  assertClose(
    y.slice(4, 8),
    [0.5403023058681398, 0.9999500004166653, 0.8414709848078965, 0.009999833334166664],
    exact,
    "x = 1 literals",
  );
  // endpoint true, channels 6, max 100: freqs = 100^-(j/2) = [1, 0.1, 0.01].
  assertClose(positionalFrequencies(6, 100, true), [1, 0.1, 0.01], exact, "endpoint freqs");
  // endpoint false, channels 8: freqs = 1e-4^(j/4) = [1, 0.1, 0.01, 0.001].
  assertClose(positionalFrequencies(8, 10000, false), [1, 0.1, 0.01, 0.001], exact, "freqs");
  const z = await positionalEmbedding(b.fromArray([3], [1]), 6, {
    maxPositions: 100,
    endpoint: true,
  })
    .toArray();
  assertClose(
    z,
    [Math.cos(3), Math.cos(0.3), Math.cos(0.03), Math.sin(3), Math.sin(0.3), Math.sin(0.03)],
    exact,
    "endpoint values",
  );
});

Deno.test("positionalEmbedding: errors", () => {
  const b = cpuBackend();
  assert.throws(() => positionalEmbedding(b.full([2, 1], 0), 4), /x must be \[N\]/);
  assert.throws(() => positionalEmbedding(b.full([2], 0), 5), /positive even integer, got 5/);
  assert.throws(() => positionalEmbedding(b.full([2], 0), 2, { endpoint: true }), /at least 4/);
});
