import assert from "node:assert/strict";
import { acsStart, columnMask, columnMasks, furtherCorruptColumns } from "../src/mri/masks.ts";

const count = (m: ArrayLike<number>) => Array.from(m).reduce((s, v) => s + v, 0);

Deno.test("column masks: the paper's counts at W = 320 (⌊W/R⌋, then ⌊W/(R+1)⌋ after P̃)", () => {
  const want: [number, number, number][] = [[2, 160, 106], [4, 80, 64], [6, 53, 45], [8, 40, 35]];
  for (const [r, kept, further] of want) {
    for (let slice = 0; slice < 20; slice++) {
      const m = columnMask(320, { r, seed: 1, slice });
      assert.equal(count(m), kept, `R=${r} slice ${slice}`);
      const mt = furtherCorruptColumns(m, { r, seed: 1, slice });
      assert.equal(count(mt), further, `P̃ at R=${r} slice ${slice}`);
      for (let c = 0; c < 320; c++) assert.ok(mt[c] <= m[c], "M̃ ⊆ M");
      for (let c = 150; c < 170; c++) assert.equal(mt[c], 1, `ACS column ${c} kept by P̃`);
    }
  }
});

Deno.test("column masks: other widths follow the same rule, ACS centred on column ⌊W/2⌋", () => {
  for (const [w, acs] of [[112, 8], [113, 7], [64, 10], [368, 24]]) {
    assert.equal(acsStart(w, acs) + Math.floor(acs / 2), Math.floor(w / 2));
    for (const r of [2, 3, 4]) {
      const m = columnMask(w, { r, acs, seed: 4, slice: 2 });
      assert.equal(count(m), Math.floor(w / r), `W=${w} R=${r}`);
      const mt = furtherCorruptColumns(m, { r, acs, seed: 4, slice: 2 });
      assert.equal(count(mt), Math.floor(w / (r + 1)), `P̃ W=${w} R=${r}`);
      for (let c = acsStart(w, acs); c < acsStart(w, acs) + acs; c++) assert.equal(mt[c], 1);
    }
  }
});

Deno.test("column masks: fixed per slice, different across slices and seeds", () => {
  const a = columnMask(320, { r: 4, seed: 3, slice: 5 });
  assert.deepEqual(columnMask(320, { r: 4, seed: 3, slice: 5 }), a);
  assert.notDeepEqual(columnMask(320, { r: 4, seed: 3, slice: 6 }), a);
  assert.notDeepEqual(columnMask(320, { r: 4, seed: 4, slice: 5 }), a);
  const batch = columnMasks(320, [5, 6], { r: 4, seed: 3, further: true });
  assert.deepEqual(
    Array.from(batch.subarray(0, 320)),
    Array.from(furtherCorruptColumns(a, { r: 4, seed: 3, slice: 5 })),
  );
});

Deno.test("column masks: random columns are uniform over the non-ACS columns (χ² over 2000 slices)", () => {
  const w = 64;
  const hits = new Float64Array(w);
  const n = 2000;
  for (let s = 0; s < n; s++) {
    columnMask(w, { r: 4, acs: 8, seed: 9, slice: s }).forEach((v, c) => hits[c] += v);
  }
  const expect = n * (16 - 8) / (w - 8);
  let chi2 = 0;
  for (let c = 0; c < w; c++) {
    if (c >= 28 && c < 36) assert.equal(hits[c], n);
    else chi2 += (hits[c] - expect) ** 2 / expect;
  }
  // 55 degrees of freedom: the 99.9% quantile is about 93.
  assert.ok(chi2 < 93, `χ² = ${chi2}`);
});

Deno.test("column masks: equispaced keeps the ACS and every R-th column", () => {
  const m = columnMask(320, { r: 4, kind: "equispaced", seed: 2, slice: 0 });
  const outside = [...m.keys()].filter((c) => m[c] && (c < 150 || c >= 170));
  const off = outside[0] % 4;
  assert.ok(outside.every((c) => c % 4 === off), "one residue class");
  assert.equal(outside.length, 80 - 5);
  assert.throws(
    () => columnMask(320, { r: 2.5, kind: "equispaced", seed: 0, slice: 0 }),
    /integer R/,
  );
});

Deno.test("column masks: clear errors when R leaves fewer columns than the ACS", () => {
  assert.throws(
    () => columnMask(100, { r: 8, seed: 0, slice: 0 }),
    /keeps ⌊100\/8⌋ = 12 columns, fewer than the 20 ACS/,
  );
  const m22 = columnMask(100, { r: 4, acs: 22, seed: 0, slice: 0 }); // 25 columns
  assert.throws(
    () => furtherCorruptColumns(m22, { r: 4, acs: 22, seed: 0, slice: 0 }),
    /R \+ 1 = 5 keeps ⌊100\/5⌋ = 20 columns, fewer than the 22 ACS/,
  );
  const m = columnMask(100, { r: 4, seed: 0, slice: 0 });
  assert.throws(() => columnMask(10, { r: 2, seed: 0, slice: 0 }), /ACS 20 is wider than W=10/);
  m[50] = 0;
  assert.throws(() => furtherCorruptColumns(m, { r: 2, seed: 0, slice: 0 }), /lacks ACS column 50/);
});
